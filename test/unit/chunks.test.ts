import { describe, expect, it } from "vitest";
import { runnerLine } from "../../cli/commands/status.ts";
import { buildMerge, chunkEncodeArgs, chunkKeyframeTimes, concatList, segmentArgs } from "../../gpu-runner/chunked/args.ts";
import { cutsMatch, frameStepSec } from "../../gpu-runner/chunked/split.ts";
import { listedParts } from "../../gpu-runner/chunked/segmenter.ts";
import { chunkSettings, encodeOrder, planChunks, progressId, progressLabel, shouldChunk, workKeys } from "../../gpu-runner/chunked/plan.ts";

const every = (step: number, end: number, from = 0) => Array.from({ length: Math.floor((end - from) / step) + 1 }, (_, i) => from + i * step);

describe("chunk planning", () => {
  it("cuts at the keyframes nearest to every chunkSec and leaves no sliver at the end", () => {
    const spans = planChunks(every(1, 600), 600.5, 120);
    expect(spans.map((s) => s.startSec)).toEqual([0, 120, 240, 360, 480]);
    expect(spans.at(-1)!.endSec).toBe(600.5);
    // 130 s: a rest under 1½ chunks stays whole.
    expect(planChunks(every(1, 130), 130, 120)).toEqual([{ index: 0, startSec: 0, endSec: 130 }]);
  });

  it("starts at the first keyframe, snaps to sparse keyframes and keeps chunks contiguous", () => {
    const spans = planChunks([0.021, 1.021, 2.021, 3.021, 4.021, 5.021, 7.021, 9.021, 10.021, 11.021, 12.021, 13.021, 14.021, 15.021], 16.021, 2);
    expect(spans.map((s) => s.startSec)).toEqual([0.021, 2.021, 4.021, 5.021, 7.021, 9.021, 11.021, 13.021, 15.021]);
    for (let i = 1; i < spans.length; i++) expect(spans[i].startSec).toBe(spans[i - 1].endSec);
    expect(spans.at(-1)).toMatchObject({ startSec: 15.021, endSec: 16.021 });
  });

  it("makes one chunk when there is no keyframe to cut at, and ignores unsorted or duplicate times", () => {
    expect(planChunks([0], 900, 120)).toEqual([{ index: 0, startSec: 0, endSec: 900 }]);
    expect(planChunks([], 900, 120)).toEqual([{ index: 0, startSec: 0, endSec: 900 }]);
    expect(planChunks([250, 0, 125, 125], 400, 120).map((s) => s.startSec)).toEqual([0, 125, 250]);
  });

  it("never cuts closer than half a chunk: a lone far keyframe makes a long chunk, not a sliver", () => {
    expect(planChunks([0, 0.5, 300], 400, 100).map((s) => s.startSec)).toEqual([0, 300]);
  });

  it("queues the longest chunks first", () => {
    const order = encodeOrder([{ index: 0, startSec: 0, endSec: 2 }, { index: 1, startSec: 2, endSec: 5 }, { index: 2, startSec: 5, endSec: 7 }]);
    expect(order.map((c) => c.index)).toEqual([1, 0, 2]);
  });

  it("splits only sources longer than REELPRESS_CHUNK_MIN_SEC, and says which setting is bad", () => {
    const s = chunkSettings({});
    expect(s).toEqual({ minSec: 600, chunkSec: 120 });
    expect(shouldChunk(600, s)).toBe(false);
    expect(shouldChunk(601, s)).toBe(true);
    expect(shouldChunk(7, { minSec: 6, chunkSec: 4 })).toBe(false);
    expect(() => chunkSettings({ REELPRESS_CHUNK_SEC: "0" })).toThrow(/^Bad setting REELPRESS_CHUNK_SEC = "0": must be a positive number of seconds\.$/);
  });

  it("keeps a job's work under .reelpress/work/<job id>/ and refuses ids that are not hex", () => {
    const k = workKeys("0123456789abcdef0123");
    expect(k.segment(3)).toBe(".reelpress/work/0123456789abcdef0123/seg-0003.mkv");
    expect(k.output(12)).toBe(".reelpress/work/0123456789abcdef0123/out-0012.mp4");
    expect(() => workKeys("../x")).toThrow(/not a hex id/);
  });

  it("shows a chunk as its own entry, with chunks done of total", () => {
    const chunk = { jobId: "abc", key: "films/a.mkv", chunk: { index: 2, total: 7, done: 4 } };
    expect(progressId(chunk)).toBe("abc#2");
    expect(progressLabel(chunk)).toBe("films/a.mkv (chunk 3 of 7, 4 stored)");
    expect(progressLabel({ jobId: "abc", key: "films/a.mkv" })).toBe("films/a.mkv");
    const job = { key: "films/a.mkv", job_id: "abc", started_at: "", duration_sec: 120, out_time_sec: 60, chunks_done: 4, chunks_total: 7 };
    expect(runnerLine({ id: "r", encoder: "nvenc", concurrency: 2, jobs: [job], updated_at: "" })).toBe("nvenc: films/a.mkv 4/7 chunks done, one at 50 %");
    // A runner that tells stages: the whole job's percentage and its ETA, not the chunk's own.
    const staged = { ...job, stage: "chunks" as const, percent: 47, eta_sec: 125 };
    expect(runnerLine({ id: "r", encoder: "nvenc", concurrency: 2, jobs: [staged, { ...staged, key: "b.mp4", stage: "read", percent: 3, eta_sec: undefined, chunks_total: undefined }], updated_at: "" }))
      .toBe("nvenc: films/a.mkv chunks 47 % · ETA 2:05 · 4/7 chunks stored, b.mp4 read 3 %");
  });
});

describe("chunk keyframes for the merge", () => {
  it("puts a keyframe on the first frame at or after each sampled source time, in the chunk's own time", () => {
    // Chunk from 9.021 s, frames every 40 ms from there (segment 0 would keep its 0.021 offset: times count from the first frame).
    const frames = Array.from({ length: 50 }, (_, i) => 0.021 + i * 0.04);
    const times = chunkKeyframeTimes(16, [1.335, 9.346, 10.1], { startSec: 9.021, endSec: 11.021 }, 0, frames);
    // 9.346 → the frame at 9.381 (0.36 into the chunk), not the nearer 9.341 before it; 1.335 is another chunk's.
    expect(times[0]).toBeCloseTo(0.36, 6);
    expect(times).toContainEqual(expect.closeTo(1.08, 6));
    expect(times.every((t) => t > 0 && t < 2)).toBe(true);
  });
});

describe("chunked ffmpeg commands", () => {
  const media = { formatName: "matroska", durationSec: 16, video: { codec: "h264", width: 320, height: 240, pixFmt: "yuv420p" }, audio: [{ codec: "vorbis" }], subtitles: [{ codec: "subrip" }, { codec: "hdmv_pgs_subtitle" }], tags: {} };

  it("splits by stream copy at the planned keyframes, video only, bit-exact", () => {
    const args = segmentArgs("/w/source", [2.021, 4.021]).join(" ");
    expect(args).toMatch(/-map 0:V:0 -c copy -an -sn -dn/);
    expect(args).toMatch(/-fflags \+bitexact -f segment -segment_times 2\.021000,4\.021000 /);
    // Each segment as soon as its line is complete; a line still being written waits, a name not from the pattern is refused.
    expect(listedParts("seg-0000.mkv,0.000000,2.021000\nseg-0001.mkv,2.021000,4.021000\nseg-0002.mkv,4.0", "/w")).toEqual([
      { index: 0, startSec: 0, file: "/w/seg-0000.mkv" },
      { index: 1, startSec: 2.021, file: "/w/seg-0001.mkv" },
    ]);
    expect(() => listedParts("../x.mkv,0,2\n", "/w")).toThrow(/listed "..\/x.mkv" as segment 0/);
    // Its progress comes on a pipe: the split stage moves while it runs.
    expect(args).toMatch(/-progress pipe:1/);
    // In the source's own timestamps: no start subtracted, no shift by the B-frame delay.
    expect(args).toMatch(/-copyts .*-avoid_negative_ts disabled /);
  });

  it("accepts cuts within half a frame of the planned keyframes, and nothing else", () => {
    const spans = [{ startSec: 0 }, { startSec: 8 }, { startSec: 16 }];
    const step = frameStepSec([0, 0.04, 0.08, 0.12, 0.5, 0.54]);
    expect(step).toBeCloseTo(0.04, 6);
    expect(cutsMatch([0, 8.001, 15.999], spans, step)).toBe(true);
    // The reported MKV: every cut listed 0.08 s (two frames) late.
    expect(cutsMatch([0, 8.08, 16.08], spans, step)).toBe(false);
    expect(cutsMatch([0, 8], spans, step)).toBe(false);
  });

  it("encodes a chunk with the job's encoder, every frame at its own time, keyframes where asked", () => {
    const x264 = chunkEncodeArgs({ input: "seg.mkv", output: "out.mp4", media, encoder: "x264", x264Preset: "fast", size: { width: 320, height: 240 }, keyframeTimes: [0.36] }).join(" ");
    expect(x264).toMatch(/-vf format=yuv420p -c:v libx264 -preset fast .* -force_key_frames 0\.360000 -fps_mode passthrough -an/);
    const nvenc = chunkEncodeArgs({ input: "seg.mkv", output: "out.mp4", media, encoder: "nvenc", x264Preset: "fast", size: { width: 160, height: 120 }, keyframeTimes: [0.36] }).join(" ");
    expect(nvenc).toMatch(/^.*-hwaccel cuda .* -vf scale_cuda=160:120:format=nv12 -c:v h264_nvenc .* -forced-idr 1 -fps_mode passthrough/);
  });

  it("joins by stream copy, the source's audio once, and decodes keyframes only for fingerprints and montage", () => {
    expect(concatList([{ file: "out-0000.mp4", startSec: 0.021, endSec: 2.021 }, { file: "out-0001.mp4", startSec: 2.021, endSec: 3 }])).toBe("file 'out-0000.mp4'\nduration 2.000000\nfile 'out-0001.mp4'\n");
    const plan = buildMerge({ source: "http://store/src?sig", media, size: { width: 320, height: 240 }, videoOffsetSec: 0.021, sampleTimes: [1, 2], keyframeTimes: [1] });
    const args = plan.args.join(" ");
    expect(args).toMatch(/-skip_frame nokey -itsoffset 0\.021000 -f concat -i concat\.txt/);
    expect(args).toMatch(/-map 0:v:0 -c:v copy -map 1:a\? -c:a:0 aac/);
    expect(args).toMatch(/-map 1:s:0 -c:s mov_text -map_metadata 1/);
    expect(plan).toMatchObject({ audioCodecs: ["aac"], keptSubtitles: 1, notes: [expect.stringMatching(/subtitle stream 1/)] });
  });
});
