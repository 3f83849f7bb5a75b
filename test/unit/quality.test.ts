import { describe, expect, it } from "vitest";
import { qualityLine } from "../../cli/commands/status.ts";
import { runnerSettings } from "../../gpu-runner/runner.ts";
import { byteRange, previewTypeOf } from "../../shared/dashboard/routes.ts";
import { previewOutput, previewSize } from "../../shared/media/preview.ts";
import { keepsQualitySample } from "../../gpu-runner/job.ts";
import { parseFrameClock, windowSeek } from "../../shared/media/quality.ts";
import { FULL_MEASURE_SEC, PSNR_CAP, SAMPLE_BYTES, SAMPLE_MAX_FRAMES, belowFloor, chunkWindows, parseStats, qualitySample, qualityWindows, sampleSelect, summarise } from "../../shared/media/quality.ts";
import { summarizeStatus } from "../../shared/rules/status.ts";
import type { MediaInfo } from "../../shared/schemas.ts";

describe("quality windows", () => {
  it("measures a short video whole, a long one on ten windows centred in even slices", () => {
    expect(qualityWindows(FULL_MEASURE_SEC)).toEqual([{ startSec: 0 }]);
    const w = qualityWindows(100);
    expect(w).toHaveLength(10);
    expect(w[0]).toEqual({ startSec: 4, durationSec: 2 });
    expect(w[9]).toEqual({ startSec: 94, durationSec: 2 });
  });
  it("takes the middle of each chunk, all of a short one, in the file's own time", () => {
    expect(chunkWindows([{ startSec: 10.5, endSec: 20.5 }, { startSec: 20.5, endSec: 21.5 }], 10.5)).toEqual([
      { startSec: 4, durationSec: 2 },
      { startSec: 10, durationSec: 1 },
    ]);
  });
});

describe("windows placed from each file's first frame", () => {
  it("reads where the first frame is, from the container's start, and the frame interval", () => {
    const json = JSON.stringify({ format: { start_time: "0.000000" }, frames: [{ pts_time: "0.023000" }, { pts_time: "0.063000" }] });
    expect(parseFrameClock(json)).toEqual({ firstSec: 0.023, intervalSec: expect.closeTo(0.04, 9) });
    // An audio stream that starts earlier sets the container's start; -ss counts from there.
    expect(parseFrameClock(JSON.stringify({ format: { start_time: "1.400000" }, frames: [{ best_effort_timestamp_time: "1.500000" }] }))).toEqual({ firstSec: expect.closeTo(0.1, 9), intervalSec: 0 });
    expect(() => parseFrameClock(JSON.stringify({ frames: [] }))).toThrow(/no video frame/);
  });
  it("seeks both files to the same frame: midway between frames, from each one's first frame", () => {
    // A Matroska source whose first frame is at 0.023 s and its MP4 output at 0.040 s: frame 125 in both.
    const source = windowSeek({ firstSec: 0.023, intervalSec: 0.04 }, 5, 0.04);
    const output = windowSeek({ firstSec: 0.04, intervalSec: 0.04 }, 5, 0.04);
    expect(source).toBeCloseTo(5.043, 6);
    expect(output).toBeCloseTo(5.06, 6);
    expect(Math.ceil((source - 0.023) / 0.04)).toBe(Math.ceil((output - 0.04) / 0.04));
    expect(windowSeek({ firstSec: 0, intervalSec: 0 }, 3, 0)).toBe(3);
  });
});

describe("the quality sample", () => {
  const hd = { width: 1920, height: 1080 };
  it("keeps one frame in 8 (denser when that would be under 16), and no more frames than its bound, from frame 0", () => {
    // 1080p: 86 raw frames fit in 256 MiB.
    expect(qualitySample(3, 25, hd)).toEqual({ every: 4, maxFrames: 86 });
    expect(qualitySample(10, 25, hd)).toEqual({ every: 8, maxFrames: 86 });
    expect(qualitySample(0.5, 25, hd)).toEqual({ every: 1, maxFrames: 86 });
    expect(qualitySample(600, 25, hd)).toEqual({ every: 175, maxFrames: 86 });
    // One frame in 8 at most, unless that leaves fewer than 16; small outputs keep up to SAMPLE_MAX_FRAMES.
    expect(qualitySample(8, 30, { width: 640, height: 360 })).toEqual({ every: 8, maxFrames: SAMPLE_MAX_FRAMES });
    expect(qualitySample(300, 25, { width: 640, height: 360 })).toEqual({ every: 32, maxFrames: SAMPLE_MAX_FRAMES });
    expect(sampleSelect({ every: 1, maxFrames: 10 })).toBe("null");
    expect(sampleSelect({ every: 7, maxFrames: 10 })).toBe("select='not(mod(n,7))'");
  });
  it("bounds its disk use, but keeps 16 frames even of an 8K output", () => {
    for (const [w, h] of [[1280, 720], [1920, 1080], [3840, 2160]]) {
      const s = qualitySample(3600, 60, { width: w, height: h });
      expect(s.maxFrames * w * h * 1.5, `${w}×${h}`).toBeLessThanOrEqual(SAMPLE_BYTES);
      // The sample spans the whole video: every × frames reaches its last frame.
      expect(s.every * s.maxFrames).toBeGreaterThanOrEqual(3600 * 60);
    }
    expect(qualitySample(10, 30, { width: 7680, height: 4320 }).maxFrames).toBe(16);
  });
  it("is kept by x264 passes at any length, by NVENC ones only where windows would measure every frame", () => {
    expect(keepsQualitySample("x264", 7200)).toBe(true);
    expect(keepsQualitySample("nvenc", FULL_MEASURE_SEC)).toBe(true);
    expect(keepsQualitySample("nvenc", FULL_MEASURE_SEC + 1)).toBe(false);
  });
  it("assumes 60 fps when the probe gave no rate, so the sample still spans the video", () => {
    expect(qualitySample(100, undefined, hd)).toEqual({ every: 70, maxFrames: 86 });
    expect(qualitySample(0, 25, hd)).toEqual({ every: 1, maxFrames: 86 });
  });
});

describe("quality figures", () => {
  const ssim = "n:1 Y:0.9 U:0.9 V:0.9 All:0.900000 (10.0)\nn:2 Y:0.8 U:0.8 V:0.8 All:0.800000 (7.0)\n";
  const psnr = "n:1 mse_avg:10.00 mse_y:1 psnr_avg:38.13\nn:2 mse_avg:30.00 mse_y:1 psnr_avg:33.36\n";
  it("reads ffmpeg's stats files and averages SSIM per frame, PSNR over the mean error", () => {
    expect(parseStats(ssim, psnr)).toEqual({ ssim: [0.9, 0.8], mse: [10, 30] });
    expect(summarise(parseStats(ssim, psnr))).toEqual({ ssim: 0.85, psnr: 35.12, frames: 2 });
    // Identical frames have no finite PSNR.
    expect(summarise({ ssim: [1], mse: [0] })).toEqual({ ssim: 1, psnr: PSNR_CAP, frames: 1 });
    expect(summarise({ ssim: [], mse: [] }).frames).toBe(0);
  });
  it("refuses below the floor, for the whole or for one chunk; 0 turns it off", () => {
    const q = { ssim: 0.95, psnr: 40, frames: 20, sampled: true, chunks: [{ index: 0, ssim: 0.99, psnr: 45, frames: 10 }, { index: 1, ssim: 0.91, psnr: 30, frames: 10 }] };
    expect(belowFloor(q, 0.9)).toBeUndefined();
    expect(belowFloor(q, 0.96)).toBe("its SSIM 0.9500 is below the 0.96 floor (REELPRESS_MIN_SSIM)");
    expect(belowFloor({ ...q, ssim: 0.97 }, 0.95)).toBe("chunk 1 has SSIM 0.9100, below the 0.95 floor (REELPRESS_MIN_SSIM)");
    expect(belowFloor({ ...q, ssim: 0 }, 0)).toBeUndefined();
  });
  it("adds measured outputs and refusals to the status", () => {
    const quality = (ssim: number) => ({ ssim, psnr: 40, frames: 10, sampled: false });
    const objects = [{ key: "a.mp4", size: 1, etag: "e" }, { key: "b.mp4", size: 1, etag: "e" }, { key: "c_skip.mkv", size: 1, etag: "e" }, { key: "d.mp4", size: 1, etag: "e" }];
    const records = [
      { key: "a.mp4", size: 1, etag: "e", state: "compressed" as const, quality: quality(0.98) },
      { key: "b.mp4", size: 1, etag: "e", state: "compressed" as const, quality: quality(0.94) },
      { key: "c_skip.mkv", size: 1, etag: "e", state: "skipped" as const, quality: quality(0.5) },
      { key: "d.mp4", size: 1, etag: "e", state: "compressed" as const },
    ];
    const s = summarizeStatus({ objects, records, queues: {}, backupPrefix: "orig/" });
    expect(s.quality).toEqual({ measured: 2, refused: 1, ssim_mean: expect.closeTo(0.96, 9), psnr_mean: 40, ssim_min: 0.94, lowest_key: "b.mp4" });
    expect(summarizeStatus({ objects, records: records.map(({ quality: _, ...r }) => r), queues: {}, backupPrefix: "orig/" }).quality).toBeUndefined();
    expect(qualityLine(s.quality!)).toBe("2 output(s): SSIM mean 0.9600, lowest 0.9400 (b.mp4), PSNR mean 40.0 dB; 1 refused below REELPRESS_MIN_SSIM (originals kept, skipped)");
  });
  it("reads the floor from REELPRESS_MIN_SSIM, with one sentence for a bad value", () => {
    expect(runnerSettings({}).minSsim).toBe(0.8);
    expect(runnerSettings({ REELPRESS_MIN_SSIM: "0.95" }).minSsim).toBe(0.95);
    expect(() => runnerSettings({ REELPRESS_MIN_SSIM: "2" })).toThrow('Bad setting REELPRESS_MIN_SSIM = "2": must be a number from 0 to 1 (0 turns the floor off).');
  });
});

describe("previews", () => {
  it("halves until both sides are under 1000 px, and gives none below AV1's 64 px", () => {
    expect(previewSize(3840, 2160)).toEqual({ width: 960, height: 540 });
    expect(previewSize(1920, 1080)).toEqual({ width: 960, height: 540 });
    expect(previewSize(1080, 1920)).toEqual({ width: 540, height: 960 });
    expect(previewSize(1000, 500)).toEqual({ width: 500, height: 250 });
    expect(previewSize(999, 561)).toEqual({ width: 998, height: 560 });
    expect(previewSize(160, 120)).toEqual({ width: 160, height: 120 });
    expect(previewSize(62, 120)).toBeUndefined();
  });
  it("mixes every audio stream into one Opus stream and drops everything else", () => {
    const media = (audio: number): MediaInfo => ({ formatName: "matroska", durationSec: 1, video: { codec: "h264", width: 320, height: 240 }, audio: Array(audio).fill({ codec: "aac" }), subtitles: [{ codec: "subrip" }], tags: { title: "x" } });
    const two = previewOutput(media(2), 0, "pv", { width: 320, height: 240 }, ["transpose=clock"], "p.webm");
    expect(two.graph).toEqual(["[pv]scale=320:240,format=yuv420p,transpose=clock[pvv]"]);
    expect(two.audioGraph).toBe("[0:a:0][0:a:1]amix=inputs=2,aformat=channel_layouts=stereo|mono[pva]");
    expect(two.args.join(" ")).toBe("-map [pvv] -c:v libsvtav1 -crf 63 -preset 8 -map [pva] -c:a libopus -b:a 10k -map_metadata -1 -map_chapters -1 -fflags +bitexact -f webm p.webm");
    expect(previewOutput(media(1), 0, "pv", { width: 320, height: 240 }, [], "p.webm").audioGraph).toBe("[0:a:0]aformat=channel_layouts=stereo|mono[pva]");
    expect(previewOutput(media(0), 0, "pv", { width: 320, height: 240 }, [], "p.webm").args).not.toContain("-c:a");
  });
});

describe("the dashboard's preview route", () => {
  it("serves JPEGs and WebMs under the previews prefix only, typed by name", () => {
    expect(previewTypeOf(".reelpress/previews/a.mp4.montage.jpg")).toBe("image/jpeg");
    expect(previewTypeOf(".reelpress/previews/a.mp4.preview.webm")).toBe("video/webm");
    expect(previewTypeOf(".reelpress/previews/a.html")).toBeUndefined();
    expect(previewTypeOf(".reelpress/previews/../manifest/a.webm")).toBeUndefined();
    expect(previewTypeOf("a.webm")).toBeUndefined();
  });
  it("reads one byte range, at most the limit", () => {
    expect(byteRange(undefined, 100)).toBe("none");
    expect(byteRange("bytes=0-", 100)).toEqual([0, 99]);
    expect(byteRange("bytes=10-19", 100)).toEqual([10, 19]);
    expect(byteRange("bytes=90-200", 100)).toEqual([90, 99]);
    expect(byteRange("bytes=-10", 100)).toEqual([90, 99]);
    expect(byteRange("bytes=0-", 100, 30)).toEqual([0, 29]);
    for (const bad of ["bytes=100-", "bytes=5-1", "bytes=-", "items=0-1", "bytes=0-1,4-5"]) expect(byteRange(bad, 100), bad).toBe("unsatisfiable");
  });
});
