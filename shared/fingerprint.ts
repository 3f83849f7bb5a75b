// Frame fingerprints: a pHash per sampled frame, taken after cropping black borders, so re-encodes,
// rescales, letterboxed/pillarboxed and (with `flip`) mirrored copies hash alike.
import { execa } from "execa";
import { safeInputArgs, UnreadableMediaError } from "./ffprobe.ts";
import { PHASH_SIDE, phashOf } from "./phash.ts";
import type { FrameFingerprint } from "./schemas.ts";

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

/** `count` evenly spaced times, each in the middle of its slice: never t=0 (black intros) nor the very end. */
export function sampleTimes(durationSec: number, count: number): number[] {
  if (!(durationSec > 0) || count < 1) return [0];
  return Array.from({ length: count }, (_, i) => Math.round(((i + 0.5) * durationSec * 1000) / count) / 1000);
}

/** Seeks several frames at once, but few: each is an ffmpeg process and, over HTTP, a few range reads. */
const PARALLEL_SEEKS = 4;

async function grabFrame(input: string, t: number, timeoutSec: number): Promise<Uint8Array | undefined> {
  const r = await execa(
    "ffmpeg",
    [
      "-hide_banner", "-nostdin", "-v", "error",
      "-rw_timeout", String(Math.round(timeoutSec * 1e6)),
      // Seeking before the input reads from the nearest keyframe only, so bytes read stay bounded.
      "-ss", t.toFixed(3),
      ...safeInputArgs(input),
      "-map", "0:v:0", "-an", "-sn", "-dn",
      "-frames:v", "1", "-vf", FINGERPRINT_FILTER, "-f", "rawvideo", "pipe:1",
    ],
    { reject: false, timeout: timeoutSec * 1000, encoding: "buffer", stripFinalNewline: false },
  );
  if (r.timedOut) throw new UnreadableMediaError(`ffmpeg took longer than ${timeoutSec}s to seek to ${t}s`);
  const out = r.stdout as Uint8Array;
  return r.exitCode === 0 && out.length === N * N ? out : undefined;
}

/**
 * Fingerprints of `count` frames sampled across a local file or presigned URL. Times where no frame
 * decodes are left out; a video where none does is unreadable.
 */
export async function fingerprintVideo(input: string, opts: { durationSec: number; count: number; timeoutSec: number }): Promise<FrameFingerprint[]> {
  const times = sampleTimes(opts.durationSec, opts.count);
  const frames: Array<FrameFingerprint | undefined> = new Array(times.length);
  let next = 0;
  const worker = async () => {
    while (next < times.length) {
      const i = next++;
      const grey = await grabFrame(input, times[i], opts.timeoutSec);
      if (grey) frames[i] = fingerprintFrame(grey, times[i]);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL_SEEKS, times.length) }, worker));
  const found = frames.filter((f): f is FrameFingerprint => f !== undefined);
  if (found.length === 0) throw new UnreadableMediaError("no frame could be decoded for fingerprints");
  return found;
}
