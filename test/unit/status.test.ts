import { describe, expect, it } from "vitest";
import { setAside, stateOf, summarizeStatus, type RecordBrief } from "../../shared/rules/status.ts";

const BACKUP = "orig_video_to_delete/";
const rec = (key: string, state: RecordBrief["state"], size: number, more: Partial<RecordBrief> = {}): RecordBrief => ({
  key, state, size, etag: `"e-${key}"`, ...more,
});
const obj = (key: string, size: number) => ({ key, size, etag: `"e-${key}"` });
const QUEUES = { ingest: { visible: 1, in_flight: 0 }, encode_dlq: { visible: 2, in_flight: 0 } };

describe("status summary", () => {
  it("puts each library object in exactly one state and counts its bytes", () => {
    const summary = summarizeStatus({
      objects: [
        obj("a.mp4", 100), // compressed output, saved 900
        obj("b/c.mp4", 50), // compressed, saving known only from its source
        obj("d_skip.mp4", 30),
        obj("e.mkv", 400), // encoding
        obj("f.avi", 70), // failed
        obj("g.webm", 10), // probed only
        obj("h.mov", 5), // no record yet
        obj("i.MP4", 7), // probe ignored it: already carries the compressed tag
        obj("notes.txt", 999),
        obj(".reelpress/manifest/a.mp4.json", 999),
        obj(`${BACKUP}a.avi`, 999),
      ],
      records: [
        rec("a.mp4", "compressed", 100, { savedBytes: 900 }),
        rec("b/c.mp4", "compressed", 50, { source: { key: "b/c.avi", size: 80, etag: "x", backupKey: "bk" } }),
        rec("e.mkv", "encoding", 400),
        rec("f.avi", "failed", 70, { etag: "e-f.avi" }), // unquoted ETag still matches
        rec("g.webm", "probed", 10),
        rec("i.MP4", "ignored", 7),
        rec("gone.mp4", "compressed", 1, { savedBytes: 1000 }), // record of a deleted object: not counted
      ],
      queues: QUEUES,
      backupPrefix: BACKUP,
    });
    expect(summary).toEqual({
      compressed: { count: 3, bytes: 157 },
      skipped: { count: 1, bytes: 30 },
      in_progress: { count: 1, bytes: 400 },
      remaining: { count: 2, bytes: 15 },
      failed: { count: 1, bytes: 70 },
      saved_bytes: 930,
      // Every listed byte, by where it lies; notes.txt is the library's too.
      disk: { total_bytes: 3669, library_bytes: 1671, backup_bytes: 999, system_bytes: 999, reclaimable_bytes: 0 },
      queues: QUEUES,
      runners: [],
    });
  });

  it("treats a record left by an earlier version of the object as no record", () => {
    expect(stateOf(obj("a.mp4", 100), rec("a.mp4", "compressed", 100))).toBe("compressed");
    expect(stateOf(obj("a.mp4", 101), rec("a.mp4", "compressed", 100))).toBe("remaining");
    expect(stateOf({ key: "a.mp4", size: 100, etag: '"other"' }, rec("a.mp4", "failed", 100))).toBe("remaining");
  });

  it("counts a _skip name as skipped whatever the manifest says, and a planned job as remaining", () => {
    expect(stateOf(obj("x_skip.MKV", 1), undefined)).toBe("skipped");
    expect(stateOf(obj("x_skip.mp4", 1), rec("x_skip.mp4", "failed", 1))).toBe("skipped");
    expect(stateOf(obj("x.mp4", 1), rec("x.mp4", "skipped", 1))).toBe("skipped");
    expect(stateOf(obj("x.mp4", 1), rec("x.mp4", "planned", 1))).toBe("remaining");
  });

  it("counts a skip that kept its name as skipped only while its record is of that version", () => {
    expect(stateOf(obj("Holiday 2019 - Beach.mp4", 7), rec("Holiday 2019 - Beach.mp4", "skipped", 7))).toBe("skipped");
    // A new version at the name (another ETag) is considered again.
    expect(stateOf({ key: "Holiday 2019 - Beach.mp4", size: 7, etag: '"new"' }, rec("Holiday 2019 - Beach.mp4", "skipped", 7))).toBe("remaining");
    const s = summarizeStatus({ objects: [obj("k.mp4", 7), obj("r_skip.mp4", 3)], records: [rec("k.mp4", "skipped", 7)], queues: {}, backupPrefix: BACKUP });
    expect(s.skipped).toEqual({ count: 2, bytes: 10 });
  });

  it("is all zeros for an empty library", () => {
    const s = summarizeStatus({ objects: [], records: [], queues: {}, backupPrefix: BACKUP });
    expect(s.saved_bytes).toBe(0);
    expect(s.remaining).toEqual({ count: 0, bytes: 0 });
  });

  it("lists what went to a free name, from the manifest: backups, outputs and skips", () => {
    const source = (key: string, backupKey: string) => ({ key, size: 9, etag: "s", backupKey });
    const records: RecordBrief[] = [
      { key: "a.mp4", size: 5, etag: "o", state: "compressed", source: source("a.avi", `${BACKUP}a.avi`) },
      { key: "b (2).mp4", size: 5, etag: "o", state: "compressed", source: source("b.avi", `${BACKUP}b (2).avi`) },
      { key: "v.mp4", size: 5, etag: "o", state: "compressed", source: source("v.mp4", `${BACKUP}v (3).mp4`) },
      { key: "g_skip (2).mp4", size: 5, etag: "k", state: "skipped" },
      { key: "h_skip.mp4", size: 5, etag: "k", state: "skipped" },
      // A skip that kept its name: the number is the user's own, not a free name.
      { key: "clip (2).mp4", size: 5, etag: "k", state: "skipped" },
    ];
    expect(setAside(records, BACKUP)).toEqual([
      { key: "b (2).mp4", note: "output of b.avi: b.mp4 holds another file" },
      { key: "g_skip (2).mp4", note: "skipped: the plain _skip name holds another file" },
      { key: `${BACKUP}b (2).avi`, note: `backup of b.avi: ${BACKUP}b.avi holds an earlier original` },
      { key: `${BACKUP}v (3).mp4`, note: `backup of v.mp4: ${BACKUP}v.mp4 holds an earlier original` },
    ]);
  });
});
