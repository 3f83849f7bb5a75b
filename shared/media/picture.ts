// What picture a file really carries, measured on the frames the probe samples anyway: real detail (an
// upscale has its source's octaves, not its own), colour, and edges that never move (a burnt-in logo).
import type { PictureStats } from "../schemas.ts";

/** One sampled frame, whole, in yuv420p. */
export type AnalysisFrame = { width: number; height: number; data: Uint8Array };

/** Analysis frames keep at most this many lines on their shorter side (area-scaled), so a 4K frame costs what a 1080p one does. */
export const ANALYSIS_LINES = 1080;

const even = (n: number) => Math.max(2, 2 * Math.round(n / 2));

/** The analysis frame size for a picture shown at `width`×`height`. */
export function analysisSize(width: number, height: number): { width: number; height: number } {
  const s = Math.min(1, ANALYSIS_LINES / Math.min(width, height));
  return { width: even(width * s), height: even(height * s) };
}

/** Haar octave energies of a luma plane, finest first: mean |pixel − its 2×2 block mean| at each level. */
export function octaveEnergies(y: Uint8Array, width: number, height: number, levels = 4): number[] {
  let cur = Float32Array.from(y);
  let w = width;
  let h = height;
  const out: number[] = [];
  for (let k = 0; k < levels && w >= 4 && h >= 4; k++) {
    const nw = w >> 1;
    const nh = h >> 1;
    const next = new Float32Array(nw * nh);
    let sum = 0;
    for (let j = 0; j < nh; j++)
      for (let i = 0; i < nw; i++) {
        const p = 2 * j * w + 2 * i;
        const [a, b, c, d] = [cur[p], cur[p + 1], cur[p + w], cur[p + w + 1]];
        const m = (a + b + c + d) / 4;
        next[j * nw + i] = m;
        sum += Math.abs(a - m) + Math.abs(b - m) + Math.abs(c - m) + Math.abs(d - m);
      }
    out.push(sum / (4 * nw * nh));
    cur = next;
    w = nw;
    h = nh;
  }
  return out;
}

/**
 * An octave holding less than this share of the next coarser one's energy is interpolation, not
 * detail. The finest octave of a sharp picture holds 0.9–1.3 of the next; a 2× upscale's about 0.5.
 * Below an empty octave the bar is lower, since the next one down may be half-empty too (4× upscales).
 */
const EMPTY_FINEST = 0.8;
const EMPTY_BELOW = 0.65;

/** Share of the nominal resolution, per side, that carries real detail: 1, ½, ¼ or ⅛. */
export function detailShare(energies: readonly number[]): number {
  let share = 1;
  for (let k = 0; k + 1 < energies.length; k++) {
    const bar = k === 0 ? EMPTY_FINEST : EMPTY_BELOW;
    if (energies[k] >= bar * energies[k + 1]) break;
    share /= 2;
  }
  return share;
}

/** Frames this flat (no octave above it) say nothing about detail: black, fades, title cards. */
const FLAT_ENERGY = 0.5;
/** Pixels count as grey below this chroma distance (compression noise in a grey picture). */
const GREY_CHROMA = 2;

/**
 * Share of the edge strength that stays put in every frame (per pixel, the weakest frame's edge over
 * the mean one's): a burnt-in logo raises it; blur or compression lower static and moving edges alike.
 */
function staticEdges(prints: readonly Uint8Array[]): number {
  if (prints.length < 3) return 0;
  const side = Math.round(Math.sqrt(prints[0].length));
  let still = 0;
  let all = 0;
  for (let y = 0; y < side - 1; y++)
    for (let x = 0; x < side - 1; x++) {
      const p = y * side + x;
      let min = Infinity;
      for (const f of prints) {
        const e = Math.abs(f[p + 1] - f[p]) + Math.abs(f[p + side] - f[p]);
        min = Math.min(min, e);
        all += e / prints.length;
      }
      still += min;
    }
  return all > 0 ? still / all : 0;
}

/**
 * Picture stats from analysis frames and the fingerprint frames (FINGERPRINT_SIDE² luma) of the same
 * samples; `lit` says which samples are picture (not dark), and only those count.
 */
export function measurePicture(frames: readonly AnalysisFrame[], prints: readonly Uint8Array[], lit: readonly boolean[]): PictureStats {
  const energies: number[][] = [];
  let chroma = 0;
  let chromaFrames = 0;
  frames.forEach((f, i) => {
    if (!lit[i]) return;
    const luma = f.width * f.height;
    const e = octaveEnergies(f.data.subarray(0, luma), f.width, f.height);
    if (e.length > 1 && e.some((v) => v > FLAT_ENERGY)) energies.push(e);
    const q = luma / 4;
    let c = 0;
    for (let p = luma; p < luma + q; p++) {
      const d = Math.hypot(f.data[p] - 128, f.data[p + q] - 128);
      if (d >= GREY_CHROMA) c += d;
    }
    chroma += c / q;
    chromaFrames++;
  });
  const levels = Math.min(...energies.map((e) => e.length));
  const mean = energies.length ? Array.from({ length: levels }, (_, k) => energies.reduce((s, e) => s + e[k], 0) / energies.length) : [];
  const round = (n: number) => Math.round(n * 100) / 100;
  return {
    detail: detailShare(mean),
    chroma: round(chromaFrames ? chroma / chromaFrames : 0),
    staticEdges: Math.round(staticEdges(prints.filter((_, i) => lit[i])) * 1000) / 1000,
  };
}
