// Candidate pairs for visual matching without comparing all pairs: multi-index hashing. Each frame
// hash is cut into four 16-bit pieces, and each piece indexes a table. Two videos become candidates
// when their frames share pieces at least MIN_HITS times: copies share many (a re-encode moves a few
// bits per frame, so most pieces stay whole), unrelated videos share one now and then by chance.
// A frame repeated within a video (a still shot) counts once, or one chance match would count twice.
import type { Entry } from "./entry.ts";

const PIECES = 4;
const MIN_HITS = 3;
/** A piece value this common (a near-uniform picture) says nothing about identity. */
const MAX_BUCKET = 4096;

type Table = { start: Int32Array; owner: Int32Array };

/** Lit frames of a video whose hash did not occur earlier in it. */
function distinctLit(hash: Uint32Array, dark: Uint8Array): number[] {
  const seen = new Set<number>();
  const out: number[] = [];
  for (let i = 0; i < dark.length; i++) {
    if (dark[i]) continue;
    // hi * 2^32 + lo is exact in a double: hashes up to 2^64 lose bits, but equal ones stay equal.
    const id = hash[2 * i] * 4294967296 + hash[2 * i + 1];
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(i);
  }
  return out;
}

function pieceOf(hash: Uint32Array, frame: number, piece: number): number {
  const word = hash[2 * frame + (piece >> 1)];
  return piece & 1 ? word & 0xffff : word >>> 16;
}

/** One table per piece: bucket → the entries (by position in `videos`) whose lit frames have it, ascending. */
function buildTables(videos: readonly Entry[], frames: number[][]): Table[] {
  return Array.from({ length: PIECES }, (_, p) => {
    const start = new Int32Array(65537);
    videos.forEach((v, n) => {
      for (const i of frames[n]) start[pieceOf(v.frames!.hash, i, p) + 1]++;
    });
    for (let b = 0; b < 65536; b++) start[b + 1] += start[b];
    const fill = start.slice(0, 65536);
    const owner = new Int32Array(start[65536]);
    videos.forEach((v, n) => {
      for (const i of frames[n]) owner[fill[pieceOf(v.frames!.hash, i, p)]++] = n;
    });
    return { start, owner };
  });
}

/** First index in owner[lo, hi) holding a value above `n` (owners are ascending within a bucket). */
function firstAbove(owner: Int32Array, lo: number, hi: number, n: number): number {
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (owner[mid] <= n) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Pairs [i, j] (positions in `videos`, i < j) that share enough hash pieces, with `flip` also between
 * mirrored frames, and that `admit` lets through (duration rules). Videos need frames.
 */
export function candidatePairs(videos: readonly Entry[], opts: { flip: boolean; admit(a: Entry, b: Entry): boolean }): Array<[number, number]> {
  const frames = videos.map((v) => distinctLit(v.frames!.hash, v.frames!.dark));
  const tables = buildTables(videos, frames);
  const hits = new Int32Array(videos.length);
  const touched: number[] = [];
  const pairs: Array<[number, number]> = [];
  const query = (n: number, hash: Uint32Array) => {
    for (const i of frames[n]) {
      for (let p = 0; p < PIECES; p++) {
        const { start, owner } = tables[p];
        const b = pieceOf(hash, i, p);
        const hi = start[b + 1];
        if (hi - start[b] > MAX_BUCKET) continue;
        for (let k = firstAbove(owner, start[b], hi, n); k < hi; k++) {
          const m = owner[k];
          if (hits[m]++ === 0) touched.push(m);
        }
      }
    }
  };
  videos.forEach((v, n) => {
    const f = v.frames!;
    query(n, f.hash);
    if (opts.flip && f.flip) query(n, f.flip);
    for (const m of touched) {
      if (hits[m] >= MIN_HITS && opts.admit(v, videos[m])) pairs.push([n, m]);
      hits[m] = 0;
    }
    touched.length = 0;
  });
  return pairs;
}
