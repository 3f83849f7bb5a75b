# Per-area results of s3-tests runs: reads pytest's JUnit XML files (one per mode) and prints, for each
# in-scope area, how many tests there are and how many passed in each mode. Usage:
#   S3TESTS_DIR=path/to/s3-tests python3 s3-tests-table.py ids.txt MODE=run.xml [MODE=run.xml …] [--failures]
import collections, os, sys, xml.etree.ElementTree as ET
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
areas = __import__('s3-tests-areas')

ids = [l.strip() for l in open(sys.argv[1]) if '::' in l]
runs = [a.split('=', 1) for a in sys.argv[2:] if '=' in a]
show_failures = '--failures' in sys.argv

def outcomes(path):
    out = {}
    for case in ET.parse(path).iter('testcase'):
        f = case.get('file') or case.get('classname', '').replace('.', '/') + '.py'
        name = case.get('name')
        bad = case.find('failure') is not None or case.find('error') is not None
        skipped = case.find('skipped') is not None
        out[(os.path.basename(f), name)] = 'skip' if skipped else ('fail' if bad else 'pass')
    return out

results = [(mode, outcomes(path)) for mode, path in runs]
total = collections.Counter()
passed = {mode: collections.Counter() for mode, _ in runs}
failed = {mode: collections.defaultdict(list) for mode, _ in runs}
for line in ids:
    f, name = line.split('::')
    a = areas.area(f, name)
    total[a] += 1
    for mode, res in results:
        if res.get((os.path.basename(f), name)) == 'pass':
            passed[mode][a] += 1
        else:
            failed[mode][a].append(name)

print('%-28s %6s' % ('area', 'tests') + ''.join(' %8s' % mode for mode, _ in runs))
for a in areas.IN_SCOPE:
    print('%-28s %6d' % (a, total[a]) + ''.join(' %8d' % passed[mode][a] for mode, _ in runs))
print('%-28s %6d' % ('in scope', sum(total.values())) + ''.join(' %8d' % sum(passed[mode].values()) for mode, _ in runs))
if show_failures:
    for mode, _ in runs:
        print('\n%s: not passed' % mode)
        for a in areas.IN_SCOPE:
            if failed[mode][a]:
                print('  %s: %s' % (a, ' '.join(n[5:] for n in failed[mode][a])))
