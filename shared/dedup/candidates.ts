// Candidate pairs for visual matching without comparing all pairs: multi-index hashing. Each frame
// hash is cut into four 16-bit pieces, and each piece indexes a table. Two videos become candidates
// when their frames share pieces at least MIN_HITS times: copies share many (a re-encode moves a few
// bits per frame, so most pieces stay whole), unrelated videos share one now and then by chance.
// A frame repeated within a video (a still shot) counts once, or one chance match would count twice.
import type { Entry, Frames } from "./entry.ts";

const PIECES = 4;
const MIN_HITS = 3;
/** A piece value this common (a near-uniform picture) says nothing about identity. */
const MAX_BUCKET = 4096;

/** Lit frames of a video whose hash did not occur earlier in it. */
function distinctLit(f: Frames): number[] {
  const { words, dark } = f.store;
  const seen = new Set<number>();
  const out: number[] = [];
  for (let i = f.start; i < f.start + f.count; i++) {
    if (dark[i]) continue;
    // hi * 2^32 + lo is exact in a double: hashes up to 2^64 lose bits, but equal ones stay equal.
    const id = words[4 * i] * 4294967296 + words[4 * i + 1];
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(i);
  }
  return out;
}

/** Piece 0-3 of the hash (or the mirrored frame's hash) of frame `i` of the store. */
function pieceOf(words: Uint32Array, i: number, piece: number, mirror: boolean): number {
  const word = words[4 * i + (mirror ? 2 : 0) + (piece >> 1)];
  return piece & 1 ? word & 0xffff : word >>> 16;
}

/**
 * The pieces of every video's distinct lit frames, flat and in video order: video n owns frames
 * first[n] … first[n + 1] - 1, frame f owns pieces 4f … 4f + 3.
 */
function flatPieces(videos: readonly Entry[], flip: boolean) {
  const chosen = videos.map((v) => distinctLit(v.frames!));
  const first = new Int32Array(videos.length + 1);
  chosen.forEach((c, n) => (first[n + 1] = first[n] + c.length));
  const pieces = new Uint16Array(4 * first[videos.length]);
  // The mirrored frames' pieces, for videos that have them (hasMirror).
  const mirrorPieces = flip ? new Uint16Array(pieces.length) : undefined;
  const hasMirror = Uint8Array.from(videos, (v) => (flip && v.frames!.mirrored ? 1 : 0));
  videos.forEach((v, n) => {
    const { words } = v.frames!.store;
    chosen[n].forEach((i, k) => {
      const f = 4 * (first[n] + k);
      for (let p = 0; p < PIECES; p++) {
        pieces[f + p] = pieceOf(words, i, p, false);
        if (mirrorPieces && hasMirror[n]) mirrorPieces[f + p] = pieceOf(words, i, p, true);
      }
    });
  });
  return { first, pieces, mirrorPieces, hasMirror };
}

type Table = { start: Int32Array; owner: Int32Array };

/** One table per piece position: bucket → the videos whose frames have that piece there, ascending. */
function buildTables(first: Int32Array, pieces: Uint16Array): Table[] {
  const videos = first.length - 1;
  return Array.from({ length: PIECES }, (_, p) => {
    const start = new Int32Array(65537);
    for (let f = p; f < pieces.length; f += PIECES) start[pieces[f] + 1]++;
    for (let b = 0; b < 65536; b++) start[b + 1] += start[b];
    const fill = start.slice(0, 65536);
    const owner = new Int32Array(start[65536]);
    for (let n = 0; n < videos; n++) for (let f = first[n]; f < first[n + 1]; f++) owner[fill[pieces[4 * f + p]]++] = n;
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
 * Pairs [i, j] (positions in `videos`) that share enough hash pieces, with `flip` also between
 * mirrored frames, and that `admit` lets through. Videos are taken shortest first and each is paired
 * only with longer ones up to `longestPartner(its duration)`: in duration order that is a range of
 * positions, cut out of every bucket by binary search, so the duration rules cost nothing per hit.
 */
export function candidatePairs(
  videos: readonly Entry[],
  opts: { flip: boolean; longestPartner(durationSec: number): number; admit(a: Entry, b: Entry): boolean },
): Array<[number, number]> {
  const order = videos.map((_, i) => i).sort((a, b) => videos[a].durationSec - videos[b].durationSec || a - b);
  const sorted = order.map((i) => videos[i]);
  const { first, pieces, mirrorPieces, hasMirror } = flatPieces(sorted, opts.flip);
  const tables = buildTables(first, pieces);
  const starts = tables.map((t) => t.start);
  const owners = tables.map((t) => t.owner);
  const hits = new Int32Array(sorted.length);
  const touched = new Int32Array(sorted.length);
  let nTouched = 0;
  const pairs: Array<[number, number]> = [];
  const query = (n: number, last: number, from: Uint16Array) => {
    for (let f = 4 * first[n]; f < 4 * first[n + 1]; f += PIECES) {
      for (let p = 0; p < PIECES; p++) {
        const start = starts[p];
        const owner = owners[p];
        const b = from[f + p];
        const lo = start[b];
        const hi = start[b + 1];
        if (hi - lo > MAX_BUCKET) continue;
        const end = firstAbove(owner, lo, hi, last);
        for (let k = firstAbove(owner, lo, end, n); k < end; k++) {
          const m = owner[k];
          if (hits[m]++ === 0) touched[nTouched++] = m;
        }
      }
    }
  };
  const durations = Float64Array.from(sorted, (v) => v.durationSec);
  let last = 0;
  for (let n = 0; n < sorted.length; n++) {
    const longest = opts.longestPartner(durations[n]);
    while (last + 1 < sorted.length && durations[last + 1] <= longest) last++;
    if (last <= n) continue;
    query(n, last, pieces);
    if (mirrorPieces && hasMirror[n]) query(n, last, mirrorPieces);
    for (let t = 0; t < nTouched; t++) {
      const m = touched[t];
      if (hits[m] >= MIN_HITS && opts.admit(sorted[n], sorted[m])) pairs.push([order[n], order[m]]);
      hits[m] = 0;
    }
    nTouched = 0;
  }
  return pairs;
}
