import { describe, expect, it } from "vitest";
import { buildTables, candidatePairs, prepareSearch, schemeFor, searchBatches, searchInWorker } from "../../shared/dedup/candidates.ts";
import type { Entry } from "../../shared/dedup/entry.ts";
import { addEdge, groupAround, type MatchGraph } from "../../shared/dedup/group.ts";
import { matchPair, type MatchOptions } from "../../shared/dedup/match.ts";
import { entriesOf, fingerprintsOf, randomContent, syntheticRecord, type CopyOptions } from "../kit/dedup-synthetic.ts";
import { seededRandom } from "../kit/random.ts";

const OPTS: MatchOptions = { threshold: 12, quorum: 0.6, flip: true, offsets: true };

/** Entries for copies of one content (one per option set), plus an unrelated video. */
function copies(seed: number, ...variants: CopyOptions[]): Entry[] {
  const r = seededRandom(seed);
  const content = randomContent(r, 120, 2);
  return entriesOf(variants.map((v, i) => syntheticRecord(`v${i}.mp4`, { durationSec: v.durationSec, fingerprints: fingerprintsOf(content, v, r) })));
}

describe("matchPair", () => {
  it("matches a re-encode on the same timeline, frame for frame", () => {
    const [a, b] = copies(1, { durationSec: 60 }, { durationSec: 60, noise: 4 });
    expect(matchPair(a, b, "visual", OPTS)).toMatchObject({ matched: 16, comparable: 16, offset: 0, flipped: false });
  });

  it("matches a trimmed copy at the offset the frames vote for", () => {
    const [full, trimmed] = copies(2, { durationSec: 60 }, { durationSec: 58.5, start: 1.5, noise: 2 });
    const m = matchPair(trimmed, full, "visual", OPTS)!;
    expect(m.matched / m.comparable).toBeGreaterThanOrEqual(0.6);
    // Scenes last 2 s here: any offset within a scene fits as well.
    expect(Math.abs(m.offset - 1.5)).toBeLessThan(2);
  });

  it("never counts dark frames as evidence, but matches a copy with a black intro on its lit frames", () => {
    const [a, fade] = copies(3, { durationSec: 60 }, { durationSec: 61.5, start: -1.5, darkUntil: 4, noise: 2 });
    const m = matchPair(a, fade, "visual", OPTS)!;
    expect(Math.abs(m.offset - 1.5)).toBeLessThan(2);
    expect(m.comparable).toBeLessThan(16);
    // Two mostly black videos with identical black frames: too few lit frames to say anything.
    const [x, y] = copies(4, { durationSec: 60, darkUntil: 52 }, { durationSec: 60, darkUntil: 52 });
    expect(x.frames!.lit).toBe(2);
    expect(matchPair(x, y, "visual", OPTS)).toBeUndefined();
  });

  it("matches a mirrored copy only with flip matching on", () => {
    const [a, mirrored] = copies(5, { durationSec: 60 }, { durationSec: 60, mirrored: true, noise: 2 });
    expect(matchPair(a, mirrored, "visual", OPTS)).toMatchObject({ flipped: true, matched: 16 });
    expect(matchPair(a, mirrored, "visual", { ...OPTS, flip: false })).toBeUndefined();
  });

  it("finds a clip inside a longer video, with its offset, and only when it lies wholly within", () => {
    const [long, clip] = copies(6, { durationSec: 100 }, { durationSec: 40, start: 30, noise: 2 });
    const m = matchPair(clip, long, "subset", OPTS)!;
    expect(m.kind).toBe("subset");
    expect(Math.abs(m.offset - 30)).toBeLessThanOrEqual(1);
    // Compared by position (as from the start), the same frames say nothing.
    expect(matchPair(clip, long, "subset", { ...OPTS, offsets: false })).toBeUndefined();
    // The same clip running past the end of the long one is not a subset of it.
    const [short, overhang] = copies(7, { durationSec: 60 }, { durationSec: 40, start: 40 });
    expect(matchPair(overhang, short, "subset", OPTS)).toBeUndefined();
  });

  it("does not join videos that only share an intro", () => {
    const r = seededRandom(8);
    const intro = randomContent(r, 20, 2);
    const [restA, restB] = [randomContent(r, 60, 2), randomContent(r, 60, 2)];
    const joined = (rest: typeof restA) => ({ scenes: [...intro.scenes.slice(0, 8), ...rest.scenes], sceneSec: 2 });
    const [a, b] = entriesOf([
      syntheticRecord("a.mp4", { durationSec: 60, fingerprints: fingerprintsOf(joined(restA), { durationSec: 60 }, r) }),
      syntheticRecord("b.mp4", { durationSec: 60, fingerprints: fingerprintsOf(joined(restB), { durationSec: 60 }, r) }),
    ]);
    expect(matchPair(a, b, "visual", OPTS)).toBeUndefined();
  });
});

describe("candidatePairs", () => {
  it("finds the copies among thousands of videos without comparing all pairs", async () => {
    const r = seededRandom(9);
    const records = Array.from({ length: 3000 }, (_, i) => {
      const durationSec = 30 + Math.floor(r() * 600);
      return syntheticRecord(`v${i}.mp4`, { durationSec, fingerprints: fingerprintsOf(randomContent(r, durationSec, 5), { durationSec }, r) });
    });
    const source = randomContent(r, 300, 5);
    records.push(
      syntheticRecord("src.mp4", { durationSec: 300, fingerprints: fingerprintsOf(source, { durationSec: 300 }, r) }),
      syntheticRecord("noisy.mp4", { durationSec: 300, fingerprints: fingerprintsOf(source, { durationSec: 300, noise: 5 }, r) }),
      syntheticRecord("mirror.mp4", { durationSec: 300, fingerprints: fingerprintsOf(source, { durationSec: 300, mirrored: true, noise: 2 }, r) }),
    );
    const entries = entriesOf(records);
    const pairs = (await candidatePairs(entries, { flip: true, longestPartner: () => Infinity, admit: () => true })).map(([i, j]) => [entries[i].key, entries[j].key].sort().join(" "));
    expect(pairs).toEqual(expect.arrayContaining(["noisy.mp4 src.mp4", "mirror.mp4 src.mp4", "mirror.mp4 noisy.mp4"]));
    // Chance collisions of two 16-bit pieces are rare: a handful, not millions.
    expect(pairs.length).toBeLessThan(50);
    const noFlip = (await candidatePairs(entries, { flip: false, longestPartner: () => Infinity, admit: () => true })).map(([i, j]) => [entries[i].key, entries[j].key].sort().join(" "));
    expect(noFlip).not.toContain("mirror.mp4 src.mp4");
  });

  it("keeps every re-encode with 5 bits flipped a frame when the windows are cut for 10⁶ videos", async () => {
    // The windows a library of 10⁶ videos (16 frames each) gets: longer ones, which a re-encode breaks more often.
    const scheme = schemeFor(16_000_000);
    expect(scheme.bits).toBeGreaterThan(16);
    const r = seededRandom(10);
    // Enough copies that a scheme losing even 1 in 200 of them loses some.
    const records = Array.from({ length: 1000 }, (_, i) => {
      const content = randomContent(r, 64, 4);
      return [
        syntheticRecord(`s${i}.mp4`, { durationSec: 64, fingerprints: fingerprintsOf(content, { durationSec: 64 }, r) }),
        syntheticRecord(`s${i}.reencode.mp4`, { durationSec: 64, fingerprints: fingerprintsOf(content, { durationSec: 64, noise: 5 }, r) }),
      ];
    }).flat();
    const entries = entriesOf(records);
    const pairs = new Set((await candidatePairs(entries, { flip: true, longestPartner: () => Infinity, admit: () => true, scheme })).map(([i, j]) => [entries[i].key, entries[j].key].sort().join(" ")));
    const missed = Array.from({ length: 1000 }, (_, i) => `s${i}.mp4 s${i}.reencode.mp4`).filter((p) => !pairs.has(p));
    expect(missed).toEqual([]);
    // Chance pairs among 2000 videos: a handful.
    expect(pairs.size).toBeLessThan(1010);
  });

  it("keeps every mirrored copy, in one thread and in two, when the windows are cut for 10⁶ videos", async () => {
    // A search that saved lookups by giving up the mirror images (or a worker that skipped a batch) loses them.
    const scheme = schemeFor(16_000_000);
    const r = seededRandom(11);
    const records = Array.from({ length: 1000 }, (_, i) => {
      const content = randomContent(r, 64, 4);
      return [
        syntheticRecord(`s${i}.mp4`, { durationSec: 64, fingerprints: fingerprintsOf(content, { durationSec: 64 }, r) }),
        syntheticRecord(`s${i}.mirror.mp4`, { durationSec: 64, fingerprints: fingerprintsOf(content, { durationSec: 64, mirrored: true, noise: 5 }, r) }),
      ];
    }).flat();
    const entries = entriesOf(records);
    const wanted = Array.from({ length: 1000 }, (_, i) => `s${i}.mirror.mp4 s${i}.mp4`);
    for (const threads of [1, 2]) {
      const pairs = new Set((await candidatePairs(entries, { flip: true, longestPartner: () => Infinity, admit: () => true, scheme, threads })).map(([i, j]) => [entries[i].key, entries[j].key].sort().join(" ")));
      expect(wanted.filter((p) => !pairs.has(p))).toEqual([]);
    }
    const noFlip = new Set((await candidatePairs(entries, { flip: false, longestPartner: () => Infinity, admit: () => true, scheme })).map(([i, j]) => [entries[i].key, entries[j].key].sort().join(" ")));
    expect(wanted.filter((p) => noFlip.has(p))).toEqual([]);
  });

  it("finds the same pairs in a worker as in this thread, and with both", async () => {
    const r = seededRandom(12);
    const records = Array.from({ length: 4000 }, (_, i) => {
      const content = randomContent(r, 40 + (i % 50), 4);
      const durationSec = 30 + (i % 60);
      return syntheticRecord(`v${i}.mp4`, { durationSec, fingerprints: fingerprintsOf(content, { durationSec, noise: i % 3, mirrored: i % 7 === 0 }, r) });
    });
    // Copies in every batch, so that whichever thread takes a batch has pairs to find.
    for (let i = 0; i < 400; i++) records.push({ ...records[i * 10], key: `copy${i}.mp4` });
    const entries = entriesOf(records);
    const opts = { flip: true, longestPartner: (d: number) => d * 2, admit: () => true };
    const here = prepareSearch(entries, opts).input;
    buildTables(here);
    const mine = searchBatches(here);
    // A worker alone: it builds every table and searches every batch.
    const theirs = await searchInWorker(prepareSearch(entries, opts).input);
    expect(mine.size).toBeGreaterThan(2);
    expect([...theirs].sort((a, b) => a[0] - b[0])).toEqual([...mine].sort((a, b) => a[0] - b[0]));
    const one = await candidatePairs(entries, { ...opts, threads: 1 });
    expect(one.length).toBeGreaterThanOrEqual(400);
    expect(await candidatePairs(entries, { ...opts, threads: 2 })).toEqual(one);
  });
});

describe("groupAround", () => {
  it("builds groups around a representative: A~B and B~C do not put A and C together", () => {
    const [a, b, c] = entriesOf(["a", "b", "c"].map((k) => syntheticRecord(k)));
    const graph: MatchGraph = new Map();
    const link = (x: Entry, y: Entry) => {
      const m = { kind: "visual" as const, short: x, long: y, offset: 0, flipped: false, matched: 16, comparable: 16, distance: 1 };
      addEdge(graph, x, y, m);
      addEdge(graph, y, x, m);
    };
    link(a, b);
    link(b, c);
    const byKey = (x: Entry, y: Entry) => x.key.localeCompare(y.key);
    const groups = groupAround([a, b, c], graph, byKey, "visual", new Set(), () => "match");
    expect(groups.map((g) => [g.winner.key, g.losers.map((l) => l.entry.key)])).toEqual([["a", ["b"]]]);
    // With B first, B gathers both: each matches B directly.
    const bFirst = groupAround([a, b, c], graph, (x, y) => (x === b ? -1 : y === b ? 1 : byKey(x, y)), "visual", new Set(), () => "match");
    expect(bFirst.map((g) => [g.winner.key, g.losers.map((l) => l.entry.key).sort()])).toEqual([["b", ["a", "c"]]]);
  });
});
