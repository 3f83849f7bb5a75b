import { describe, expect, it } from "vitest";
import { type SummaryRecord, TOTAL_SCOPE, addRecord, applyDelta, deltaOf, emptyShard, isEmptyDelta, isKeptScope, mergeDeltas, mergeShards, scopesOf, shardOf, statusFromSummary, summaryDifferences } from "../../shared/rules/summary.ts";

const BACKUPS = "orig_video_to_delete/";
const at = "2026-01-01T00:00:00.000Z";
const rec = (key: string, state: SummaryRecord["state"], size: number, more: Partial<SummaryRecord> = {}): SummaryRecord => ({ key, size, etag: `"${key}"`, state, updatedAt: at, ...more });
const v = (record: SummaryRecord, bytes = 100) => ({ record, bytes });

/** The summary of `records` as reindex builds it: every contribution added to an empty shard. */
function built(records: SummaryRecord[]) {
  const shard = emptyShard();
  for (const r of records) addRecord(shard, v(r), BACKUPS);
  return shard;
}

describe("summary deltas", () => {
  it("counts a record in its state, its two top folders and the whole library", () => {
    expect(scopesOf("a/b/c/x.mp4")).toEqual(["a/", "a/b/"]);
    expect(scopesOf("x.mp4")).toEqual([]);
    const d = deltaOf("a/b/c/x.mp4", undefined, v(rec("a/b/c/x.mp4", "probed", 500)), BACKUPS);
    expect(d.counters).toEqual({
      [TOTAL_SCOPE]: { "remaining.count": 1, "remaining.bytes": 500, manifest: 100 },
      "a/": { "remaining.count": 1, "remaining.bytes": 500 },
      "a/b/": { "remaining.count": 1, "remaining.bytes": 500 },
    });
  });

  it("moves a record between states, keeps a failure note until it is fixed, and a delete undoes the create", () => {
    const failed = rec("f/x.mkv", "failed", 30, { error: "EBML header parsing failed" });
    const toFailed = deltaOf("f/x.mkv", v(rec("f/x.mkv", "probed", 30)), v(failed, 120), BACKUPS);
    expect(toFailed.counters["f/"]).toEqual({ "remaining.count": -1, "remaining.bytes": -30, "failed.count": 1, "failed.bytes": 30 });
    expect(toFailed.counters[TOTAL_SCOPE]).toMatchObject({ manifest: 20 });
    expect(toFailed.notes["f/x.mkv"]?.failure).toMatchObject({ reason: expect.stringMatching(/not a video file/), error: "EBML header parsing failed", at });
    const back = deltaOf("f/x.mkv", v(failed, 120), v(rec("f/x.mkv", "probed", 30)), BACKUPS);
    expect(back.notes).toEqual({ "f/x.mkv": null });
    const shard = applyDelta(applyDelta(emptyShard(), toFailed), back);
    expect(shard.notes).toEqual({});
    const created = deltaOf("k.mp4", undefined, v(rec("k.mp4", "compressed", 10, { savedBytes: 90 })), BACKUPS);
    const deleted = deltaOf("k.mp4", v(rec("k.mp4", "compressed", 10, { savedBytes: 90 })), undefined, BACKUPS);
    expect(isEmptyDelta(mergeDeltas(created, deleted))).toBe(true);
    expect(isEmptyDelta(deltaOf("k.mp4", v(rec("k.mp4", "planned", 10)), v(rec("k.mp4", "probed", 10)), BACKUPS))).toBe(true);
  });

  it("counts backups a compressed record names, reclaimable when it could vouch for them, until a purge", () => {
    const source = { key: "a/x.avi", size: 900, etag: "e", backupKey: `${BACKUPS}a/x.avi` };
    const out = rec("a/x.mp4", "compressed", 300, { source, sha256: "f".repeat(64) });
    expect(built([out]).counters[TOTAL_SCOPE]).toMatchObject({ "compressed.count": 1, saved: 600, backup: 900, reclaimable: 900 });
    // A backup name that is not one of the source's: counted, never reclaimable.
    const odd = rec("a/y.mp4", "compressed", 300, { source: { ...source, key: "a/y.avi", backupKey: `${BACKUPS}elsewhere.avi` }, sha256: "f".repeat(64) });
    expect(built([odd]).counters[TOTAL_SCOPE]).toMatchObject({ backup: 900 });
    expect(built([odd]).counters[TOTAL_SCOPE].reclaimable).toBeUndefined();
    const purged = rec("a/x.mp4", "compressed", 300, { source: { ...source, backupPurgedAt: at }, sha256: "f".repeat(64) });
    expect(deltaOf(out.key, v(out), v(purged), BACKUPS).counters[TOTAL_SCOPE]).toEqual({ backup: -900, reclaimable: -900 });
  });

  it("leaves system keys, backups and other files out of the counts, but counts their record bytes", () => {
    const shard = built([rec(`${BACKUPS}x.mp4`, "probed", 5), rec("notes.txt", "probed", 5), rec("a/x_skip.mp4", "probed", 7)]);
    expect(shard.counters[TOTAL_SCOPE]).toEqual({ manifest: 300, "skipped.count": 1, "skipped.bytes": 7 });
  });

  it("applied one by one in any order, deltas give what reindex builds", () => {
    const history: Array<[string, SummaryRecord | undefined]> = [
      ["a/1.mp4", rec("a/1.mp4", "probed", 10)],
      ["a/2.mp4", rec("a/2.mp4", "planned", 20)],
      ["a/1.mp4", rec("a/1.mp4", "encoding", 10)],
      ["b/c/3.mkv", rec("b/c/3.mkv", "failed", 30, { reason: "no video stream" })],
      ["a/1.mp4", undefined],
      ["a/1.mp4", rec("a/1.mp4", "compressed", 4, { savedBytes: 6 })],
      ["a/2_skip.mp4", rec("a/2_skip.mp4", "skipped", 20)],
      ["a/2.mp4", undefined],
    ];
    const latest = new Map<string, SummaryRecord | undefined>();
    const deltas = history.map(([key, next]) => {
      const before = latest.get(key);
      latest.set(key, next);
      return deltaOf(key, before && v(before), next && v(next), BACKUPS);
    });
    const truth = built([...latest.values()].filter((r): r is SummaryRecord => r !== undefined));
    // Spread over shards as writers would, merged in pairs as one process does, in reverse.
    const shards = [emptyShard(), emptyShard(), emptyShard()];
    for (let i = deltas.length - 1; i >= 0; i -= 2) {
      const d = i > 0 ? mergeDeltas(deltas[i], deltas[i - 1]) : deltas[i];
      shards[i % 3] = applyDelta(shards[i % 3], d);
    }
    expect(summaryDifferences(mergeShards(shards), truth)).toEqual([]);
  });

  it("says which figures differ, per folder and note", () => {
    const truth = built([rec("a/x.mp4", "probed", 10), rec("a/y.mkv", "failed", 5, { reason: "no video stream" })]);
    const kept = applyDelta(truth, { counters: { "a/": { "remaining.count": 1 } }, notes: { "a/y.mkv": null } });
    expect(summaryDifferences(kept, truth)).toEqual(["a/ remaining.count: summary 2, records 1", "a/y.mkv: the summary's note lacks the record's"]);
  });
});

describe("status from the summary", () => {
  const queues = { encode: { visible: 0, in_flight: 0 } };
  const total = built([
    rec("top.mp4", "probed", 1),
    rec("a/x.mp4", "compressed", 10, { savedBytes: 30 }),
    rec("a/b/y.mp4", "encoding", 20),
    rec("a/b/c/z.mkv", "failed", 40, { reason: "no video stream" }),
    rec("d/w.mp4", "skipped", 80),
  ]);

  it("gives the whole library, its folders with what lies at its top, and the failures", () => {
    const s = statusFromSummary(total, "", queues);
    expect(s.summary).toMatchObject({ compressed: { count: 1, bytes: 10 }, in_progress: { count: 1, bytes: 20 }, failed: { count: 1, bytes: 40 }, skipped: { count: 1, bytes: 80 }, remaining: { count: 1, bytes: 1 }, saved_bytes: 30 });
    expect(s.summary.disk).toEqual({ total_bytes: 151 + 500, library_bytes: 151, backup_bytes: 0, system_bytes: 500, reclaimable_bytes: 0 });
    expect(s.folders).toEqual([
      { folder: "a/", count: 3, bytes: 70, saved_bytes: 30 },
      { folder: "", count: 1, bytes: 1, saved_bytes: 0 },
      { folder: "d/", count: 1, bytes: 80, saved_bytes: 0 },
    ]);
    expect(s.failures).toEqual([{ key: "a/b/c/z.mkv", reason: "no video stream", at }]);
  });

  it("gives a folder the summary keeps, with its subfolders; deeper prefixes are not kept", () => {
    const s = statusFromSummary(total, "a/", queues);
    expect(s.summary).toMatchObject({ compressed: { count: 1 }, in_progress: { count: 1 }, failed: { count: 1 }, skipped: { count: 0 } });
    expect(s.folders).toEqual([{ folder: "", count: 1, bytes: 10, saved_bytes: 30 }, { folder: "b/", count: 2, bytes: 60, saved_bytes: 0 }].sort((x, y) => y.saved_bytes - x.saved_bytes));
    expect(statusFromSummary(total, "a/b/", queues).folders).toEqual([]);
    expect([isKeptScope(""), isKeptScope("a/"), isKeptScope("a/b/"), isKeptScope("a/b/c/")]).toEqual([true, true, true, false]);
  });

  it("spreads keys over shards evenly enough", () => {
    const counts = new Array(16).fill(0);
    for (let i = 0; i < 16_000; i++) counts[shardOf(`lib/f${i % 97}/v${i}.mp4`, 16)]++;
    expect(Math.min(...counts)).toBeGreaterThan(800);
    expect(Math.max(...counts)).toBeLessThan(1200);
  });
});
