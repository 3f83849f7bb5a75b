import { describe, expect, it } from "vitest";
import { parseFrameTimes } from "../../shared/media/fingerprint.ts";
import { buildPass } from "../../gpu-runner/encode-args.ts";
import { backupKeyOf, isPublishedFor, jobState, outputMetadata } from "../../gpu-runner/job-state.ts";
import { compareFingerprints, outputProblems } from "../../gpu-runner/verify.ts";
import type { EncodeJob, FrameFingerprint, MediaInfo } from "../../shared/schemas.ts";
import type { ObjectHead } from "../../shared/io/objects.ts";

const job: EncodeJob = {
  bucket: "b", key: "dir/a b.avi", size: 1000, etag: '"e1"', jobId: "j", outputKey: "dir/a b.mp4", downscale: false,
  mustSave: 0, reason: "r", durationSec: 4, fingerprints: [], plannedAt: "2026-01-01T00:00:00Z",
};
const head = (key: string, over: Partial<ObjectHead> = {}): ObjectHead => ({ key, size: 1000, etag: '"e1"', metadata: {}, ...over });
const ours = head(job.outputKey, { size: 600, etag: '"o1"', metadata: outputMetadata(job, "ab".repeat(32), "bk/a.avi") });

const inPlace = { ...job, key: "v.mp4", outputKey: "v.mp4" };
const replacedInPlace = head("v.mp4", { size: 600, etag: '"o1"', metadata: outputMetadata(inPlace, "00".repeat(32), "bk/v.mp4") });
// Its own output from an older version of the same source may be replaced.
const olderOutput = head(job.outputKey, { metadata: outputMetadata({ ...job, etag: '"e0"' }, "00".repeat(32), "bk/a.avi") });

describe("jobState: every case", () => {
  it.each([
    // [case, job, what the store holds, state]
    ["an untouched source", job, { source: head(job.key) }, "ready"],
    ["this version's output already up", job, { source: head(job.key), output: ours }, "published"],
    ["this version's output up, source gone", job, { output: ours }, "published"],
    ["this version's output up, source replaced in place", inPlace, { source: replacedInPlace, output: replacedInPlace }, "published"],
    ["a source whose ETag changed", job, { source: head(job.key, { etag: '"e2"' }) }, "changed"],
    ["a source whose size changed", job, { source: head(job.key, { size: 999 }) }, "changed"],
    ["a source that went away", job, {}, "gone"],
    ["an earlier skip", job, { skip: head("dir/a b_skip.avi") }, "skipped"],
    ["someone else's object at the output key", job, { source: head(job.key), output: head(job.outputKey, { etag: '"x"' }) }, "output-taken"],
    ["its own output of an older version", job, { source: head(job.key), output: olderOutput }, "ready"],
  ] as const)("%s → %s", (_, j, seen, kind) => {
    expect(jobState(j, seen).kind).toBe(kind);
  });

  it("takes a source whose record of this version says skipped as skipped in place, and a newer version as changed", () => {
    const skipped = { size: 1000, etag: '"e1"', state: "skipped" } as const;
    expect(jobState(job, { source: head(job.key) }, skipped)).toEqual({ kind: "skipped", skipped: head(job.key) });
    expect(jobState(job, { source: head(job.key) }, { ...skipped, etag: '"e0"' }).kind).toBe("ready");
    expect(jobState(job, { source: head(job.key, { etag: '"e2"' }) }, skipped).kind).toBe("changed");
  });

  it("does not count an older version's output as published", () => {
    expect(isPublishedFor(olderOutput, job)).toBe(false);
  });

  it("stores the source and backup keys URL-encoded, so metadata stays ASCII, and reads the backup back", () => {
    const accented = { ...job, key: "été/ä.avi" };
    const meta = outputMetadata(accented, "x", "bk/été/ä (2).avi");
    expect(meta["reelpress-source-key"]).toBe("%C3%A9t%C3%A9%2F%C3%A4.avi");
    expect(backupKeyOf(head("o.mp4", { metadata: meta }), accented, "bk/")).toBe("bk/été/ä (2).avi");
    expect(backupKeyOf(head("o.mp4"), job, "bk/")).toBe(`bk/${job.key}`);
  });

  it("refuses an output that names as its backup anything but one of its source's backup names", () => {
    const meta = outputMetadata(job, "x", "films/someone else's.avi");
    expect(() => backupKeyOf(head("o.mp4", { metadata: meta }), job, "bk/")).toThrow(/not one of its backup names/);
  });
});

const fp = (t: number, hash: string, dark = false): FrameFingerprint => ({ t, hash, dark });

describe("compareFingerprints", () => {
  const src = [fp(1, "ffff0000ffff0000"), fp(2, "0f0f0f0f0f0f0f0f"), fp(3, "00000000ffffffff"), fp(4, "0000000000000000", true)];
  it("accepts frames within the distance, ignoring dark source frames", () => {
    const out = [fp(1, "ffff0000ffff0001"), fp(2, "0f0f0f0f0f0f0f0f"), fp(3, "00000000fffffff0"), fp(4, "123456789abcdef0")];
    expect(compareFingerprints(src, out)).toMatchObject({ ok: true, compared: 3, matched: 3 });
  });
  it("rejects black, garbled or shifted output", () => {
    const black = src.map((f) => fp(f.t, "0000000000000000", true));
    expect(compareFingerprints(src, black)).toMatchObject({ ok: false, matched: 0 });
    const shifted = [fp(1, src[1].hash), fp(2, src[2].hash), fp(3, src[0].hash)];
    expect(compareFingerprints(src, shifted).ok).toBe(false);
    expect(compareFingerprints(src, []).ok).toBe(false);
  });
  it("passes a source with no comparable frames", () => {
    expect(compareFingerprints([fp(1, "0000000000000000", true)], []).ok).toBe(true);
  });
});

describe("outputProblems", () => {
  const source: MediaInfo = {
    formatName: "avi", durationSec: 100, audio: [{ codec: "mp3" }], subtitles: [], tags: {},
    video: { codec: "mpeg4", width: 641, height: 480, rotation: 90 },
  };
  const plan = buildPass({ input: "x.avi", media: source, encoder: "x264", downscale: false, sampleTimes: [], keyframeTimes: [], x264Preset: "fast" });
  const good: MediaInfo = { ...source, formatName: "mov,mp4", durationSec: 100.5, tags: { comment: "compressed_h264_v4" }, video: { codec: "h264", width: 640, height: 480, rotation: 90 } };
  it("finds nothing wrong with the output that was asked for", () => {
    expect(outputProblems(good, source, plan)).toEqual([]);
  });
  it("has no duration to compare with when the source's container states none", () => {
    expect(outputProblems({ ...good, durationSec: 37 }, { ...source, durationSec: 0 }, plan)).toEqual([]);
  });
  it("names every difference", () => {
    const bad: MediaInfo = { ...good, durationSec: 90, audio: [], tags: {}, video: { codec: "hevc", width: 320, height: 240 } };
    expect(outputProblems(bad, source, plan)).toEqual([
      "video codec is hevc, not h264",
      "video is 320×240, not 640×480",
      "rotation is 0°, not 90°",
      "duration is 90.00 s, source 100.00 s",
      "0 audio streams, expected 1",
      "the container tag is missing",
    ]);
  });
});

describe("parseFrameTimes", () => {
  it("reads metadata=print's frame lines", () => {
    expect(parseFrameTimes("frame:0    pts:6656    pts_time:0.52\nreelpress=fp\nframe:1    pts:13312   pts_time:1.04\nreelpress=fp\n")).toEqual([0.52, 1.04]);
  });
});
