# Groups ceph/s3-tests test ids into areas, so a run can be reported per area (the areas a single-bucket
# folder gateway claims are IN_SCOPE). Usage: S3TESTS_DIR=path/to/s3-tests python3 s3-tests-areas.py ids.txt [AREA…]
# Area of each s3-tests test, from its name (plus: an in-scope test whose own body calls an
# ACL/policy/versioning/tagging/SSE API is counted under that feature instead).
import ast, re, sys

import os
SUITE = os.path.join(os.environ.get('S3TESTS_DIR', 's3-tests'), 's3tests/functional/')
IN_SCOPE = ['object put/get/head/delete', 'multipart', 'listing', 'copy', 'ranges', 'conditional',
            'checksums/Content-MD5', 'presigned/auth/SigV4', 'metadata/headers', 'bad input (test_headers)']
OTHER = ['POST object (form)', 'GetObjectAttributes', 'bucket ops', 'ACL/policy/ownership', 'versioning',
         'lifecycle/restore', 'encryption (SSE)', 'tagging', 'object lock', 'CORS', 'logging', 'other']
AREAS = IN_SCOPE + OTHER

NAME_RULES = [
    (r'logging', 'logging'),
    (r'object_lock', 'object lock'),
    (r'cors', 'CORS'),
    (r'lifecycle|restore|read_through|cloud', 'lifecycle/restore'),
    (r'sse_|encrypt|_enc$|_enc_', 'encryption (SSE)'),
    (r'version|delete_marker', 'versioning'),
    (r'post_object', 'POST object (form)'),
    (r'acl|policy|public_block|block_public|ownership|owner_enforced|owner_preferred|object_writer|grant|access_bucket|expected_bucket_owner|anonymous$|anon_put_write_access', 'ACL/policy/ownership'),
    (r'tagging|(^|_)tags?(_|$)', 'tagging'),
    (r'object_attributes', 'GetObjectAttributes'),
    (r'usage|torrent', 'other'),
    (r'multipart_copy|upload_part_copy', 'copy'),
    (r'if_?match|if_?none_?match|ifmatch|ifnonmatch|ifnonematch|modifiedsince|conditional', 'conditional'),
    (r'checksum|cksum', 'checksums/Content-MD5'),
    (r'multipart', 'multipart'),
    (r'copy', 'copy'),
    (r'range', 'ranges'),
    (r'bucket_list|bucket_listv2|basic_key_count', 'listing'),
    (r'presigned|x_amz_expires|raw_|anonymous_fail|anon_put$|bad_auth|invalid_auth|authenticated', 'presigned/auth/SigV4'),
    (r'metadata|cache_control|expires|response_headers|requestid', 'metadata/headers'),
    (r'special_key_names', 'object put/get/head/delete'),
    (r'bucket', 'bucket ops'),
]
BODY_RULES = [
    (r'put_bucket_acl|put_object_acl|_setup_bucket_acl|_setup_bucket_object_acl|_setup_access|\bACL=|Grant(Read|Write|Full)', 'ACL/policy/ownership'),
    (r'put_bucket_policy', 'ACL/policy/ownership'),
    (r'check_configure_versioning_retry|put_bucket_versioning', 'versioning'),
    (r'Tagging=|put_object_tagging|put_bucket_tagging', 'tagging'),
    (r'SSECustomer|ServerSideEncryption|put_bucket_encryption', 'encryption (SSE)'),
    (r'put_bucket_lifecycle', 'lifecycle/restore'),
]

_bodies = {}
for f in ('test_s3.py', 'test_headers.py'):
    src = open(SUITE + f).read()
    lines = src.splitlines()
    for node in ast.parse(src).body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith('test_'):
            # Sliced from the lines once split (ast.get_source_segment splits the whole file on every call).
            _bodies[(f, node.name)] = '\n'.join(lines[node.lineno - 1:node.end_lineno])

def area(file, name):
    base = name.split('[')[0]
    if file.endswith('test_headers.py'):
        return 'bucket ops' if base.startswith('test_bucket_create') else 'bad input (test_headers)'
    a = 'object put/get/head/delete'
    for rx, ar in NAME_RULES:
        if re.search(rx, base[5:]):
            a = ar
            break
    if a in IN_SCOPE:
        body = _bodies.get(('test_s3.py', base), '')
        for rx, ar in BODY_RULES:
            if re.search(rx, body):
                return ar
    return a

if __name__ == '__main__':
    import collections
    by = collections.defaultdict(list)
    # argv[1]: a file of test ids, one per line, as `pytest --collect-only -q` prints them (file::name)
    for line in open(sys.argv[1]):
        if '::' not in line: continue
        f, n = line.strip().split('::')
        by[area(f, n)].append(n)
    for a in AREAS:
        print('%-28s %4d  %s' % (a, len(by[a]), ' '.join(x[5:] for x in by[a]) if (len(sys.argv) > 2 and a in sys.argv[2:]) else ''))
