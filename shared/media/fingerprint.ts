// Frame fingerprints: a pHash per sampled frame, taken after cropping black borders, so re-encodes,
// rescales, letterboxed/pillarboxed and (with `flip`) mirrored copies hash alike.
import { safeInputArgs, UnreadableMediaError } from "./ffprobe.ts";
import { MediaStalledError, runMedia, throwIfStoreFailed } from "./run.ts";
import { PHASH_SIDE, phashOf } from "./phash.ts";
import type { FrameFingerprint } from "../schemas.ts";
import { mapLimit } from "../pool.ts";

/** Side of the square grey frame ffmpeg hands over; finer than PHASH_SIDE so borders crop cleanly. */
export const FINGERPRINT_SIDE = 64;
/** Any frame → FINGERPRINT_SIDE² bytes of full-range luma (black is 0), for `-f rawvideo`. */
export const FINGERPRINT_FILTER = `scale=${FINGERPRINT_SIDE}:${FINGERPRINT_SIDE}:flags=area,format=gray`;

const N = FINGERPRINT_SIDE;
/** A row or column this dark everywhere is a bar, not picture (compression leaves a little noise). */
const BAR_MEAN = 12;
const BAR_MAX = 40;
/** Keep at least this much of each side: a frame that is nearly all "bar" is just a dark frame. */
const MIN_CONTENT = N / 4;

export type ContentBox = { x0: number; y0: number; x1: number; y1: number };

function isBar(grey: Uint8Array, start: number, step: number, count: number): boolean {
  let sum = 0;
  for (let i = 0, p = start; i < count; i++, p += step) {
    const v = grey[p];
    if (v > BAR_MAX) return false;
    sum += v;
  }
  return sum / count <= BAR_MEAN;
}

/** The picture inside letterbox (top/bottom) and pillarbox (left/right) bars; the whole frame when none. */
export function contentBox(grey: Uint8Array): ContentBox {
  let y0 = 0;
  let y1 = N;
  while (y1 - y0 > MIN_CONTENT && isBar(grey, y0 * N, 1, N)) y0++;
  while (y1 - y0 > MIN_CONTENT && isBar(grey, (y1 - 1) * N, 1, N)) y1--;
  let x0 = 0;
  let x1 = N;
  const rows = y1 - y0;
  while (x1 - x0 > MIN_CONTENT && isBar(grey, y0 * N + x0, N, rows)) x0++;
  while (x1 - x0 > MIN_CONTENT && isBar(grey, y0 * N + x1 - 1, N, rows)) x1--;
  // All dark: nothing to crop to, and phashOf will call it dark anyway.
  if (y1 - y0 <= MIN_CONTENT || x1 - x0 <= MIN_CONTENT) return { x0: 0, y0: 0, x1: N, y1: N };
  return { x0, y0, x1, y1 };
}

/** Per output cell, the source cells it covers and by how much (area averaging over a fractional span). */
function areaWeights(from: number, to: number, out: number): Array<Array<[number, number]>> {
  const span = (to - from) / out;
  return Array.from({ length: out }, (_, o) => {
    const a = from + o * span;
    const b = a + span;
    const cells: Array<[number, number]> = [];
    for (let i = Math.floor(a); i < Math.ceil(b); i++) {
      const w = Math.min(b, i + 1) - Math.max(a, i);
      if (w > 1e-9) cells.push([i, w / span]);
    }
    return cells;
  });
}

/** The box of a FINGERPRINT_SIDE² frame, area-resampled to PHASH_SIDE². */
function resample(grey: Uint8Array, box: ContentBox): Uint8Array {
  const xs = areaWeights(box.x0, box.x1, PHASH_SIDE);
  const ys = areaWeights(box.y0, box.y1, PHASH_SIDE);
  const rows = new Float64Array(N * PHASH_SIDE);
  for (let y = box.y0; y < box.y1; y++)
    for (let ox = 0; ox < PHASH_SIDE; ox++) {
      let s = 0;
      for (const [x, w] of xs[ox]) s += grey[y * N + x] * w;
      rows[y * PHASH_SIDE + ox] = s;
    }
  const out = new Uint8Array(PHASH_SIDE * PHASH_SIDE);
  for (let oy = 0; oy < PHASH_SIDE; oy++)
    for (let ox = 0; ox < PHASH_SIDE; ox++) {
      let s = 0;
      for (const [y, w] of ys[oy]) s += rows[y * PHASH_SIDE + ox] * w;
      out[oy * PHASH_SIDE + ox] = Math.round(s);
    }
  return out;
}

function mirrored(grey: Uint8Array): Uint8Array {
  const out = new Uint8Array(grey.length);
  for (let y = 0; y < PHASH_SIDE; y++)
    for (let x = 0; x < PHASH_SIDE; x++) out[y * PHASH_SIDE + x] = grey[y * PHASH_SIDE + PHASH_SIDE - 1 - x];
  return out;
}

/** `grey` is one FINGERPRINT_FILTER frame (FINGERPRINT_SIDE² bytes) taken at `t` seconds. */
export function fingerprintFrame(grey: Uint8Array, t: number): FrameFingerprint {
  if (grey.length !== N * N) throw new Error(`fingerprintFrame needs ${N}×${N} luma, got ${grey.length} bytes`);
  const small = resample(grey, contentBox(grey));
  const { hash, dark } = phashOf(small);
  return { t: Math.round(t * 1000) / 1000, hash, dark, flip: phashOf(mirrored(small)).hash };
}

/**
 * A `select` expression passing, for each time T, the first frame at or after T: the frame a seek to T
 * lands on, so one decode samples what seeks would. `prev_t` is the previous decoded frame's time.
 */
export function selectAt(times: number[]): string {
  const terms = [...new Set(times)].sort((a, b) => a - b).map((t) => `gte(t,${t})*not(gte(prev_t,${t}))`);
  return `select='${terms.join("+") || "0"}'`;
}

/** Pure: frame times from `metadata=mode=print` ("frame:0 pts:6656 pts_time:0.52" lines). */
export function parseFrameTimes(text: string): number[] {
  return [...text.matchAll(/pts_time:(-?[\d.]+)/g)].map((m) => Number(m[1]));
}

/** `count` evenly spaced times, each in the middle of its slice: never t=0 (black intros) nor the very end. */
export function sampleTimes(durationSec: number, count: number): number[] {
  if (!(durationSec > 0) || count < 1) return [0];
  return Array.from({ length: count }, (_, i) => Math.round(((i + 0.5) * durationSec * 1000) / count) / 1000);
}

/**
 * Seeks per ffmpeg process, and processes at once. Each seek (`-ss` before its own `-i`) reads from
 * its nearest keyframe only. Starting ffmpeg costs more CPU than a seek, so a local file gets a few
 * seeks per process; a URL gets one, because a process keeps every input's connection open until it
 * ends and an idle connection still fills its socket buffers with bytes nobody reads.
 */
const LOCAL_SEEKS_PER_PROCESS = 4;

/**
 * An MPEG transport stream has no index: an input seek there lands on the keyframe after the target, not
 * the one before. So it seeks this much earlier and keeps the first frame at or after the target.
 */
export function seekBackSec(formatName: string | undefined): number {
  return /mpegts/.test(formatName ?? "") ? 10 : 0;
}

/** Pure: where the input seek goes, and the filter that keeps the first frame at or after `t` from there. */
export function seekTo(t: number, backSec = 0): { ss: string; pick: string } {
  const from = Math.max(0, Math.round((t - backSec) * 1000) / 1000);
  return { ss: from.toFixed(3), pick: backSec > 0 ? `select='gte(t,${(t - from - 1e-6).toFixed(6)})',` : "" };
}
const PARALLEL_PROCESSES = 4;

function ffmpegArgs(input: string, times: number[], timeoutSec: number, backSec = 0): string[] {
  const seeks = times.map((t) => seekTo(t, backSec));
  const inputs = seeks.flatMap((s) => ["-rw_timeout", String(Math.round(timeoutSec * 1e6)), "-ss", s.ss, ...safeInputArgs(input)]);
  const chains = seeks.map((s, i) => `[${i}:v:0]${s.pick}trim=end_frame=1,${FINGERPRINT_FILTER}[f${i}]`);
  const joined = `${times.map((_, i) => `[f${i}]`).join("")}concat=n=${times.length}:v=1:a=0,setpts=N/TB[out]`;
  return [
    "-hide_banner", "-nostdin", "-v", "error", ...inputs,
    "-filter_complex", [...chains, joined].join(";"),
    "-map", "[out]", "-fps_mode", "passthrough", "-f", "rawvideo", "pipe:1",
  ];
}

/** The frames at `times`, or undefined when any of them is missing (then nobody knows which). */
async function grabFrames(input: string, times: number[], timeoutSec: number, backSec?: number): Promise<Uint8Array[] | undefined> {
  const r = await runMedia("ffmpeg", ffmpegArgs(input, times, timeoutSec, backSec), { stallSec: timeoutSec, encoding: "buffer", stripFinalNewline: false });
  if (r.stalled) throw new MediaStalledError(`ffmpeg made no progress for ${timeoutSec}s seeking to ${times.join(", ")}s`);
  if (r.exitCode !== 0) throwIfStoreFailed(r.stderr, `ffmpeg seeking to ${times.join(", ")}s`);
  const out = r.stdout as Uint8Array;
  if (r.exitCode !== 0 || out.length !== times.length * N * N) return undefined;
  return times.map((_, i) => out.subarray(i * N * N, (i + 1) * N * N));
}

/**
 * Fingerprints of `count` frames sampled across a local file or presigned URL. Times where no frame
 * decodes are left out; a video where none does is unreadable.
 */
export function fingerprintVideo(input: string, opts: { durationSec: number; count: number; timeoutSec: number; seekBackSec?: number }): Promise<FrameFingerprint[]> {
  return fingerprintAt(input, sampleTimes(opts.durationSec, opts.count), opts);
}

/** Fingerprints of the frames shown at `times` (seconds); times past the end are left out. */
export async function fingerprintAt(input: string, times: number[], opts: { timeoutSec: number; seekBackSec?: number }): Promise<FrameFingerprint[]> {
  const batches: number[][] = [];
  const perProcess = /^https?:/i.test(input) ? 1 : LOCAL_SEEKS_PER_PROCESS;
  for (let i = 0; i < times.length; i += perProcess) batches.push(times.slice(i, i + perProcess));
  const found = await mapLimit(batches, PARALLEL_PROCESSES, async (batch) => {
    const frames = await grabFrames(input, batch, opts.timeoutSec, opts.seekBackSec);
    if (frames) return frames.map((grey, i) => fingerprintFrame(grey, batch[i]));
    // One seek came back empty (near the end, or a damaged stretch): take the others one by one.
    const singles = await Promise.all(batch.map((t) => grabFrames(input, [t], opts.timeoutSec, opts.seekBackSec)));
    return singles.flatMap((f, i) => (f ? [fingerprintFrame(f[0], batch[i])] : []));
  });
  const all = found.flat();
  if (all.length === 0) throw new UnreadableMediaError("no frame could be decoded for fingerprints");
  return all;
}
