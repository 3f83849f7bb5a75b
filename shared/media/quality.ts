// How much picture an output lost: SSIM and PSNR of the output against its source. A one-pass job keeps
// every k-th source frame from its encode pass (the quality sample), so only the output is decoded here
// (every frame of it, errors fatal, which is verification's decode check too: gpu-runner/verify.ts);
// other jobs compare over the whole video or spread-out windows of it, decoding the source again
// (docs/guarantees.md states both samples' error bounds).
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Quality } from "../schemas.ts";
import { DECODE_CHECK_OPTIONS, decodeAllOf, decodeError, progressFrames } from "./decode-check.ts";
import { safeInputArgs } from "./ffprobe.ts";
import { MediaStalledError, runMedia, throwIfStoreFailed } from "./run.ts";

/** A stretch of the video, in seconds from each file's own start; no `durationSec`: to the end. */
export type QualityWindow = { startSec: number; durationSec?: number };

/** Videos up to this long are measured on every frame; longer ones on SAMPLE_WINDOWS windows. */
export const FULL_MEASURE_SEC = 20;
export const SAMPLE_WINDOWS = 10;
export const SAMPLE_WINDOW_SEC = 2;
/** A perfect frame has no finite PSNR; this stands for it (JSON holds no Infinity). */
export const PSNR_CAP = 100;

/** The default floor: x264 CRF 23 stays far above it on every kind of content the bench makes (docs/benchmarks.md). */
export const DEFAULT_MIN_SSIM = 0.8;

/** Pure: the windows measured for a video of `durationSec`: all of it when short, else spread evenly, each centred in its slice. */
export function qualityWindows(durationSec: number, windows = SAMPLE_WINDOWS, windowSec = SAMPLE_WINDOW_SEC): QualityWindow[] {
  if (durationSec <= FULL_MEASURE_SEC || durationSec <= windows * windowSec) return [{ startSec: 0 }];
  const slice = durationSec / windows;
  return Array.from({ length: windows }, (_, i) => ({ startSec: round3(i * slice + (slice - windowSec) / 2), durationSec: windowSec }));
}

/** Pure: one window per chunk of a chunked job, the middle SAMPLE_WINDOW_SEC of each (all of a short chunk). */
export function chunkWindows(chunks: Array<{ startSec: number; endSec: number }>, offsetSec: number, windowSec = SAMPLE_WINDOW_SEC): QualityWindow[] {
  return chunks.map((c) => {
    const length = c.endSec - c.startSec;
    const d = Math.min(length, windowSec);
    return { startSec: round3(Math.max(0, c.startSec - offsetSec + (length - d) / 2)), durationSec: round3(d) };
  });
}

const round3 = (n: number) => Math.round(n * 1000) / 1000;

/**
 * The quality sample's bounds. Each kept frame is raw (yuv420p/nv12: 1.5 bytes a pixel) in the job folder,
 * so its disk use is bounded by bytes: 256 MiB (86 frames of 1080p), but never fewer than 16 frames (a
 * 4K or 8K output), never more than 240 (small outputs; past that the mean SSIM barely moves). Within
 * that, at most one frame in SAMPLE_EVERY: comparing a 1080p frame costs about 17 ms of CPU, so denser
 * samples cost more than the 10 % of a job the bench allows (docs/benchmarks.md#quality), while frames
 * next to each other score alike. A video too short for 16 frames at that rate is measured more densely.
 */
export const SAMPLE_BYTES = 256 * 1024 * 1024;
export const SAMPLE_MIN_FRAMES = 16;
export const SAMPLE_MAX_FRAMES = 240;
export const SAMPLE_EVERY = 8;
/** The frame rate assumed when the probe gave none (a high guess: more frames assumed, a sparser sample). */
const ASSUMED_FPS = 60;

/** Every `every`-th decoded frame from frame 0, at most `maxFrames` of them (the pass stops writing there). */
export type QualitySample = { every: number; maxFrames: number };

/** Pure: which source frames the encode pass keeps for measuring an output of `size`. */
export function qualitySample(durationSec: number, fps: number | undefined, size: { width: number; height: number }): QualitySample {
  const frameBytes = size.width * size.height * 1.5;
  const maxFrames = Math.max(SAMPLE_MIN_FRAMES, Math.min(SAMPLE_MAX_FRAMES, Math.floor(SAMPLE_BYTES / frameBytes)));
  const frames = Math.max(1, Math.ceil(Math.max(0, durationSec) * (fps && fps > 0 ? fps : ASSUMED_FPS)));
  const sparse = Math.min(SAMPLE_EVERY, Math.floor(frames / SAMPLE_MIN_FRAMES));
  return { every: Math.max(1, sparse, Math.ceil(frames / maxFrames)), maxFrames };
}

/** Pure: the select expression that keeps the sample's frames (frame 0 always: it aligns the two files' clocks). */
export function sampleSelect(sample: QualitySample): string {
  return sample.every === 1 ? "null" : `select='not(mod(n,${sample.every}))'`;
}

/** Per-frame figures of one window, as ffmpeg's ssim and psnr filters write them. */
export type FrameScores = { ssim: number[]; mse: number[] };

/** Pure: the `All:` SSIM of each line of an ssim stats file, and the `mse_avg:` of each line of a psnr one. */
export function parseStats(ssimLog: string, psnrLog: string): FrameScores {
  const pick = (text: string, re: RegExp) => text.split("\n").map((l) => re.exec(l)?.[1]).filter((v): v is string => v !== undefined).map(Number).filter(Number.isFinite);
  return { ssim: pick(ssimLog, /\bAll:([0-9.]+)/), mse: pick(psnrLog, /\bmse_avg:([0-9.]+)/) };
}

export type WindowScore = { ssim: number; psnr: number; frames: number };

/** Pure: mean SSIM and the PSNR of the mean squared error (ffmpeg's own average) of some frames. */
export function summarise(scores: FrameScores): WindowScore {
  const frames = Math.min(scores.ssim.length, scores.mse.length);
  if (frames === 0) return { ssim: 0, psnr: 0, frames: 0 };
  const mean = (xs: number[]) => xs.slice(0, frames).reduce((a, b) => a + b, 0) / frames;
  const mse = mean(scores.mse);
  const psnr = mse > 0 ? Math.min(PSNR_CAP, 10 * Math.log10((255 * 255) / mse)) : PSNR_CAP;
  return { ssim: round4(mean(scores.ssim)), psnr: Math.round(psnr * 100) / 100, frames };
}

const round4 = (n: number) => Math.round(n * 10_000) / 10_000;

export type MeasureSpec = {
  /** The encoded file, and its source (a presigned URL or a path). */
  output: string;
  source: string;
  /** Input options for the source before its `-i` (reconnect options for a URL). */
  sourceOptions?: string[];
  /** The output's stored size: the source is scaled to it before comparing. */
  size: { width: number; height: number };
  windows: QualityWindow[];
  /** Each window is its own chunk (a chunked job): the record lists them by index. */
  perChunk?: boolean;
  stallSec: number;
};

/**
 * The ssim and psnr filters pair each frame of their first input with the latest frame of the second at or
 * before its time. Times rounded differently by two containers (a 29.97 fps source in Matroska's
 * milliseconds against the MP4's exact ticks) would put the right frame a fraction of a millisecond
 * after and pair the one before it, so the first input's clock runs 1 ms ahead: far less than any frame
 * interval, more than any rounding. The filters stop at the first end (`shortest`): so that the second
 * input's end, at its last frame, does not cut off the first input's last frame 1 ms later, the second
 * gets one copy of its last frame more (OTHER_END). Without `shortest`, the second input's frames past
 * the first's end would make comparisons of their own.
 */
const MAIN_PTS = "PTS-STARTPTS+0.001/TB";
const OTHER_END = "tpad=stop=1:stop_mode=clone";

/**
 * Where a file's first video frame is, counted the way `-ss` counts (from the container's start, which
 * an audio stream can set earlier), and the time between its first two frames.
 */
export type FrameClock = { firstSec: number; intervalSec: number };

/** Pure: a FrameClock from ffprobe's JSON of the container's start and the first two video frames. */
export function parseFrameClock(json: string): FrameClock {
  const data = JSON.parse(json) as { format?: { start_time?: string }; frames?: Array<{ pts_time?: string; best_effort_timestamp_time?: string }> };
  const times = (data.frames ?? []).map((f) => Number(f.pts_time ?? f.best_effort_timestamp_time)).filter(Number.isFinite);
  if (times.length === 0) throw new Error("measuring quality found no video frame");
  const start = Number(data.format?.start_time ?? 0);
  return { firstSec: times[0]! - (Number.isFinite(start) ? start : 0), intervalSec: times.length > 1 ? Math.abs(times[1]! - times[0]!) : 0 };
}

/**
 * Pure: the `-ss` of a window in a file with `clock`. Two files' first frames can sit at different times
 * (a source in Matroska at 0.023 s, its output at 0.040 s), so a window is placed from each file's first
 * frame, not from its start, and midway between two frames (`intervalSec`, the output's), so that
 * rounding in either container cannot tip the seek onto a neighbouring frame.
 */
export function windowSeek(clock: FrameClock, startSec: number, intervalSec: number): number {
  const aligned = intervalSec > 0 ? (Math.round(startSec / intervalSec) + 0.5) * intervalSec : startSec;
  return Math.max(0, clock.firstSec + aligned);
}

async function frameClock(input: string, options: string[], stallSec: number): Promise<FrameClock> {
  const r = await runMedia(
    "ffprobe",
    ["-v", "error", ...options, "-select_streams", "V:0", "-read_intervals", "%+#2", "-show_entries", "format=start_time:frame=pts_time,best_effort_timestamp_time", "-of", "json", ...safeInputArgs(input)],
    { stallSec },
  );
  if (r.stalled) throw new MediaStalledError(`measuring quality of ${path.basename(input)} stalled`);
  if (r.exitCode !== 0) {
    throwIfStoreFailed(r.stderr, "measuring quality");
    throw new Error(`measuring quality failed: ${String(r.stderr).split("\n")[0] || `exit ${r.exitCode}`}`);
  }
  return parseFrameClock(String(r.stdout));
}

type Clocks = { output: FrameClock; source: FrameClock };

/**
 * Runs ffmpeg's ssim and psnr over the first video streams of two inputs (`inputs`: the options and `-i`
 * of each, first then second) and returns the per-frame scores; `names` word its errors. The first input makes the comparisons
 * (MAIN_PTS); `secondFilters` go before the second's own chain (a scale, for a source).
 * `decodeSecondWhole`: the comparison stops at the first input's end, so the second's frames after it and
 * its audio would go undecoded; the same run then decodes every frame of the second input with errors
 * fatal on an output of its own (decode-check.ts), and `secondFrames` counts its video frames.
 */
async function compareInputs(
  inputs: string[],
  secondFilters: string,
  names: { output: string; what: string },
  dir: string,
  n: number,
  stallSec: number,
  decodeSecondWhole = false,
): Promise<{ scores: FrameScores; secondFrames?: number }> {
  const graph = [
    `[0:V:0]setpts=${MAIN_PTS},format=yuv420p,split[a1][a2]`,
    `[1:V:0]${secondFilters}setpts=PTS-STARTPTS,${OTHER_END},format=yuv420p,split[b1][b2]`,
    `[a1][b1]ssim=stats_file=ssim-${n}.log:shortest=1[ssim]`,
    `[a2][b2]psnr=stats_file=psnr-${n}.log:shortest=1[psnr]`,
  ].join(";");
  const compare = ["-map", "[ssim]", "-map", "[psnr]", "-f", "null", "-"];
  const args = decodeSecondWhole
    ? ["-hide_banner", "-nostdin", ...DECODE_CHECK_OPTIONS, ...inputs, "-filter_complex", graph, ...decodeAllOf(1), ...compare]
    : ["-hide_banner", "-nostdin", "-v", "error", ...inputs, "-filter_complex", graph, ...compare];
  const r = await runMedia("ffmpeg", args, { cwd: dir, stallSec });
  if (r.stalled) throw new MediaStalledError(`measuring quality of ${path.basename(names.output)} stalled`);
  const failed = decodeSecondWhole ? decodeError(r) : r.exitCode !== 0 ? String(r.stderr).split("\n")[0] || `exit ${r.exitCode}` : undefined;
  if (failed !== undefined) {
    throwIfStoreFailed(r.stderr, "measuring quality");
    throw new Error(`${names.what} failed: ${failed}`);
  }
  const [ssim, psnr] = await Promise.all([readFile(path.join(dir, `ssim-${n}.log`), "utf8"), readFile(path.join(dir, `psnr-${n}.log`), "utf8")]);
  return { scores: parseStats(ssim, psnr), ...(decodeSecondWhole ? { secondFrames: progressFrames(String(r.stdout)) } : {}) };
}

/** Compares one window of both files; each is cut at the same time from its own first frame, so their frames pair up. */
async function measureWindow(spec: MeasureSpec, w: QualityWindow, clocks: Clocks | undefined, dir: string, n: number): Promise<FrameScores> {
  const cut = (clock: FrameClock | undefined, opts: string[] = []) => [
    "-noautorotate",
    ...(w.startSec > 0 && clock ? ["-ss", windowSeek(clock, w.startSec, clocks!.output.intervalSec).toFixed(6)] : []),
    ...(w.durationSec !== undefined ? ["-t", w.durationSec.toFixed(3)] : []),
    ...opts,
  ];
  const { width, height } = spec.size;
  const inputs = [...cut(clocks?.output), ...safeInputArgs(spec.output), ...cut(clocks?.source, spec.sourceOptions), ...safeInputArgs(spec.source)];
  return (await compareInputs(inputs, `scale=${width}:${height}:flags=bicubic,`, { output: spec.output, what: "measuring quality" }, dir, n, spec.stallSec)).scores;
}

/** SSIM and PSNR over every window's frames together; per chunk too when `perChunk`. */
export async function measureQuality(spec: MeasureSpec): Promise<Quality> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-quality-"));
  try {
    const scores: FrameScores[] = [];
    // Windows that seek need each file's first frame; a whole-file measure starts at it anyway.
    const clocks = spec.windows.some((w) => w.startSec > 0)
      ? { output: await frameClock(spec.output, [], spec.stallSec), source: await frameClock(spec.source, spec.sourceOptions ?? [], spec.stallSec) }
      : undefined;
    // One window at a time: the measurement runs beside the verification and should not crowd it.
    for (const [i, w] of spec.windows.entries()) scores.push(await measureWindow(spec, w, clocks, dir, i));
    const all = summarise({ ssim: scores.flatMap((s) => s.ssim), mse: scores.flatMap((s) => s.mse) });
    if (all.frames === 0) throw new Error("measuring quality compared no frames");
    const sampled = spec.windows.some((w) => w.durationSec !== undefined);
    return {
      ...all,
      sampled,
      ...(sampled ? { sampledSec: round3(spec.windows.reduce((n, w) => n + (w.durationSec ?? 0), 0)) } : {}),
      ...(spec.perChunk ? { chunks: scores.map((s, index) => ({ index, ...summarise(s) })) } : {}),
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The sample is the runner's own file, read as NUT by name: no probing, local files only. */
const sampleInputArgs = (file: string) => ["-protocol_whitelist", "file", "-f", "nut", "-i", file];

/** The quality, and the output's video frames decoded (undefined when ffmpeg reported no count). */
export type SampleMeasure = { quality: Quality; outputFrames: number | undefined };

/**
 * SSIM and PSNR of `output` against the source frames the encode pass kept (`sample`, a NUT of raw frames
 * already at the output's size). Only the output is decoded. The sparse sample is the filters' first
 * input, whose frames alone make comparisons; each is paired with the output frame at its time (both
 * clocks start at frame 0, which both files hold). The same run decodes every frame of the output, video
 * and audio, with errors fatal, and counts its video frames: when it returns, the output decodes without
 * an error (verification compares the count with the declared one and decodes no tail); when it throws,
 * either file may be at fault.
 */
export async function measureSample(spec: { output: string; sample: string; every: number; stallSec: number }): Promise<SampleMeasure> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-quality-"));
  try {
    const inputs = ["-noautorotate", ...sampleInputArgs(spec.sample), "-noautorotate", ...safeInputArgs(spec.output)];
    const { scores, secondFrames } = await compareInputs(inputs, "", { output: spec.output, what: "measuring quality on the sample" }, dir, 0, spec.stallSec, true);
    const all = summarise(scores);
    if (all.frames === 0) throw new Error("measuring quality on the sample compared no frames");
    return { quality: { ...all, sampled: spec.every > 1, ...(spec.every > 1 ? { sampledEvery: spec.every } : {}) }, outputFrames: secondFrames };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Pure: why an output is refused for its quality, or undefined when it stands (a bad chunk refuses it too). */
export function belowFloor(q: Quality, minSsim: number): string | undefined {
  if (minSsim <= 0) return undefined;
  if (q.ssim < minSsim) return `its SSIM ${q.ssim.toFixed(4)} is below the ${minSsim} floor (REELPRESS_MIN_SSIM)`;
  const bad = q.chunks?.find((c) => c.frames > 0 && c.ssim < minSsim);
  return bad ? `chunk ${bad.index} has SSIM ${bad.ssim.toFixed(4)}, below the ${minSsim} floor (REELPRESS_MIN_SSIM)` : undefined;
}
