import { describe, expect, it } from "vitest";
import { selectForScan } from "../../cli/commands/scan.ts";
import { libraryRecord } from "../../cli/events/minio.ts";
import { encodeEventKey, objectCreatedRecord } from "../../shared/io/event-records.ts";
import { isCreation, isRemoval, isSameVersion, keyFilterReason } from "../../shared/steps/probe.ts";
import { decodeEventKey } from "../../shared/rules/naming.ts";
import { encodeJobFor, jobIdFor } from "../../shared/steps/strategy.ts";
import type { ManifestState, ProbeResult } from "../../shared/schemas.ts";

describe("event keys", () => {
  it.each(["a.mp4", "dir/sub dir/été 1.mkv", "a+b/c%20d#e?.MOV", "100%/x&y=z.avi", "日本/動画.webm"])("%s round-trips as S3 encodes it", (key) => {
    const encoded = encodeEventKey(key);
    expect(encoded).not.toContain(" ");
    expect(decodeEventKey(encoded)).toBe(key);
  });
  it("matches S3's form: '+' for space, '/' kept", () => {
    expect(encodeEventKey("my dir/a+b.mp4")).toBe("my+dir/a%2Bb.mp4");
    expect(objectCreatedRecord("b", { key: "x y.mp4", size: 3, etag: '"abc"' }).s3).toEqual({ bucket: { name: "b" }, object: { key: "x+y.mp4", size: 3, eTag: "abc" } });
  });
});

describe("ingest filters", () => {
  it.each([
    [".reelpress/manifest/a.mp4.json", /own object or a backup/],
    ["orig_video_to_delete/a.mp4", /own object or a backup/],
    ["a_skip.mp4", /_skip/],
    ["A_SKIP.MKV", /_skip/],
    ["notes.txt", /not a supported/],
    ["noext", /not a supported/],
  ])("%s is not library input", (key, reason) => expect(keyFilterReason(key, "orig_video_to_delete/")).toMatch(reason));
  it("library videos pass, any case", () => {
    expect(keyFilterReason("dir/A.MP4", "orig_video_to_delete/")).toBeUndefined();
    expect(keyFilterReason("skipper.mkv", "orig_video_to_delete/")).toBeUndefined();
  });
  it("only creations start work, with or without MinIO's s3: prefix", () => {
    expect(isCreation("ObjectCreated:Put")).toBe(true);
    expect(isCreation("s3:ObjectCreated:CompleteMultipartUpload")).toBe(true);
    expect(isCreation("ObjectRemoved:Delete")).toBe(false);
    expect(isCreation("s3:TestEvent")).toBe(false);
    expect(isRemoval("s3:ObjectRemoved:DeleteMarkerCreated")).toBe(true);
    expect(isRemoval("ObjectCreated:Put")).toBe(false);
  });
  it("versions compare by size and ETag, whatever the quoting", () => {
    expect(isSameVersion({ size: 1, etag: '"e"' }, { size: 1, etag: "e" })).toBe(true);
    expect(isSameVersion({ size: 1, etag: "e" }, { size: 2, etag: "e" })).toBe(false);
    expect(isSameVersion(undefined, { size: 1, etag: "e" })).toBe(false);
  });
  it("MinIO records pass only for library videos in the library bucket", () => {
    const rec = (bucket: string, key: string) => ({ eventName: "s3:ObjectCreated:Put", s3: { bucket: { name: bucket }, object: { key, size: 1 } } });
    expect(libraryRecord(rec("reelpress", "a+b.mp4"), "reelpress", "bk/")).toBeDefined();
    expect(libraryRecord(rec("other", "a.mp4"), "reelpress", "bk/")).toBeUndefined();
    expect(libraryRecord(rec("reelpress", ".reelpress/manifest/a.mp4.json"), "reelpress", "bk/")).toBeUndefined();
    expect(libraryRecord(rec("reelpress", "bk/a.mp4"), "reelpress", "bk/")).toBeUndefined();
    expect(libraryRecord({ nonsense: true }, "reelpress", "bk/")).toBeUndefined();
    // A kept `_skip` file's removal passes (its record goes); its creation never starts work.
    const removed = (key: string) => ({ ...rec("reelpress", key), eventName: "s3:ObjectRemoved:Delete" });
    expect(libraryRecord(removed("a_skip.mp4"), "reelpress", "bk/")).toBeDefined();
    expect(libraryRecord(rec("reelpress", "a_skip.mp4"), "reelpress", "bk/")).toBeUndefined();
  });
});

describe("scan selection", () => {
  const obj = (key: string, size: number) => ({ key, size, etag: `"${key}"` });
  const rec = (o: { size: number; etag: string }, state: ManifestState) => ({ size: o.size, etag: o.etag, state });
  it("plans largest first, at most --batch, and never an object whose job is pending", () => {
    const [a, b, c, d, e] = [obj("a.mp4", 10), obj("b.mkv", 500), obj("c.avi", 70), obj("d.mp4", 900), obj("e.mp4", 300)];
    const records = new Map([
      ["d.mp4", rec(d, "planned")],
      ["e.mp4", rec(e, "encoding")],
      ["c.avi", rec(c, "failed")],
      // A record of an older version does not hold the new one back.
      ["b.mkv", { size: 499, etag: '"old"', state: "planned" as const }],
    ]);
    const all = selectForScan([a, b, c, d, e], records);
    expect(all.todo.map((o) => o.key)).toEqual(["b.mkv", "c.avi", "a.mp4"]);
    expect(all.settled.map((s) => [s.object.key, s.state])).toEqual([["d.mp4", "planned"], ["e.mp4", "encoding"]]);
    expect(selectForScan([a, b, c, d, e], records, 2).todo.map((o) => o.key)).toEqual(["b.mkv", "c.avi"]);
  });
});

describe("encode jobs", () => {
  const result: ProbeResult = {
    bucket: "reelpress", key: "dir/a.avi", size: 1000, etag: '"e1"', dryRun: false, probedAt: "t",
    media: { formatName: "avi", durationSec: 12.5, video: { codec: "mpeg4", width: 320, height: 240 }, audio: [], subtitles: [], tags: {} },
    fingerprints: [{ t: 1, hash: "0123456789abcdef", dark: false }],
  };
  it("carry the version, the output key and the source fingerprints; the id is the version's", () => {
    const job = encodeJobFor(result, { action: "encode", downscale: true, mustSave: 0.05, reason: "r" }, "now");
    expect(job).toMatchObject({ key: "dir/a.avi", outputKey: "dir/a.mp4", etag: '"e1"', size: 1000, downscale: true, mustSave: 0.05, durationSec: 12.5, fingerprints: result.fingerprints });
    expect(job.jobId).toBe(jobIdFor(result));
    expect(jobIdFor({ ...result, etag: '"e2"' })).not.toBe(job.jobId);
  });
});
