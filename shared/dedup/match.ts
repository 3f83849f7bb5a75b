// Frame-level matching of two videos: a quorum of comparable frames must agree, at an offset chosen by
// vote (pairs of similar frames vote for "b's time minus a's time"), not by averaging frames by
// position. Dark and flat frames are never evidence. The same alignment finds a clip inside a longer
// video (a subset): the clip must then lie wholly within it.
import { distanceAt, type Entry, type Frames } from "./entry.ts";

export type MatchKind = "visual" | "subset";

export type PairMatch = {
  kind: MatchKind;
  /** For a subset: `short` lies within `long`. For a visual match: the shorter (or first) and the other. */
  short: Entry;
  long: Entry;
  /** A moment at t in `short` is at t + offset in `long`. */
  offset: number;
  flipped: boolean;
  matched: number;
  comparable: number;
  /** Mean Hamming distance of the matched frames. */
  distance: number;
};

export type MatchOptions = {
  threshold: number;
  quorum: number;
  /** Try mirrored frames too. */
  flip: boolean;
  /** Vote for an offset; otherwise compare at offset 0 (same timeline). */
  offsets: boolean;
};

/** Fewer comparable frames than this is too little evidence either way. */
const MIN_COMPARABLE = 3;
/** Seeking lands on the frame at or after t: allow a frame's worth of slack (24 fps). */
const SLACK = 0.042;
/** A visual duplicate's frames must overlap on at least this share of the sparser one's lit frames. */
const MIN_COVERAGE = 0.5;
/** Offsets tried per pair, best-voted first. */
const OFFSET_TRIES = 3;

const stepOf = (e: Entry) => e.durationSec / Math.max(1, e.frames!.count);

/** One video's frames as compared: mirrored or not. */
type Side = { f: Frames; mirror: boolean; duration: number };

const timeOf = (s: Side, i: number) => s.f.store.t[s.f.start + i];
const darkAt = (s: Side, i: number) => s.f.store.dark[s.f.start + i] === 1;
/** Distance between frame i of x and frame j of y, mirroring whichever side is mirrored. */
const dist = (x: Side, i: number, y: Side, j: number) => (x.mirror ? distanceAt(x.f, i, true, y.f, j) : distanceAt(y.f, j, y.mirror, x.f, i));

/** Frames of `sparse` looked up in `dense` at mapped times: how many can be compared, and match. */
function evaluate(sparse: Side, dense: Side, toDense: (t: number) => number, tol: number, threshold: number) {
  let comparable = 0;
  let matched = 0;
  let sum = 0;
  for (let i = 0; i < sparse.f.count; i++) {
    if (darkAt(sparse, i)) continue;
    const m = toDense(timeOf(sparse, i));
    if (m < -tol || m > dense.duration + tol) continue;
    let best = 65;
    for (let j = 0; j < dense.f.count; j++) {
      if (darkAt(dense, j) || Math.abs(timeOf(dense, j) - m) > tol) continue;
      best = Math.min(best, dist(sparse, i, dense, j));
    }
    if (best === 65) continue;
    comparable++;
    if (best <= threshold) {
      matched++;
      sum += best;
    }
  }
  return { comparable, matched, distance: matched ? sum / matched : 0 };
}

/**
 * Offsets to try: the votes inside the few windows most pairs of similar frames agree on. All votes of
 * a window are tried, not just its middle, because slow-moving pictures match their neighbours too
 * and smear the votes; the best-scoring one is the alignment.
 */
function votedOffsets(a: Side, b: Side, window: number, threshold: number): number[] {
  const votes: Array<[number, number]> = [];
  for (let i = 0; i < a.f.count; i++) {
    if (darkAt(a, i)) continue;
    for (let j = 0; j < b.f.count; j++) {
      if (darkAt(b, j)) continue;
      if (dist(a, i, b, j) <= threshold) votes.push([timeOf(b, j) - timeOf(a, i), i]);
    }
  }
  votes.sort((x, y) => x[0] - y[0]);
  const windows: Array<{ count: number; lo: number; hi: number }> = [];
  for (let lo = 0, hi = 0; lo < votes.length; lo++) {
    while (hi < votes.length && votes[hi][0] - votes[lo][0] <= window) hi++;
    // Votes of distinct frames of `a`: one frame near several similar ones counts once.
    const count = new Set(votes.slice(lo, hi).map((v) => v[1])).size;
    windows.push({ count, lo, hi });
  }
  windows.sort((x, y) => y.count - x.count);
  const picked: typeof windows = [];
  for (const w of windows) {
    if (picked.length === OFFSET_TRIES) break;
    if (picked.every((p) => w.hi <= p.lo || w.lo >= p.hi)) picked.push(w);
  }
  const offsets = new Set<number>();
  for (const w of picked) for (let k = w.lo; k < w.hi; k++) offsets.add(Math.round(votes[k][0] * 100) / 100);
  return [...offsets];
}

/** More of the comparable frames matching, then closer. */
function better(x: PairMatch, y: PairMatch): boolean {
  const dx = x.matched / x.comparable;
  const dy = y.matched / y.comparable;
  return dx !== dy ? dx > dy : x.distance < y.distance;
}

/**
 * Whether what a subset's longer video holds beyond the clip is only black or one still picture (a
 * slate, a test card, a logo): then it is the same video with a lead-in, not more of it.
 */
export function extraIsFiller(m: PairMatch, threshold: number): boolean {
  const f = m.long.frames!;
  const lit: number[] = [];
  for (let i = 0; i < f.count; i++) {
    const t = f.store.t[f.start + i];
    if (t >= m.offset - SLACK && t <= m.offset + m.short.durationSec + SLACK) continue;
    if (f.store.dark[f.start + i] === 0) lit.push(i);
  }
  return lit.every((i) => distanceAt(f, i, false, f, lit[0]) <= threshold);
}

/**
 * Whether `short` and `long` show the same picture (kind "visual") or `short` is a clip of `long`
 * (kind "subset"), and how well; undefined when they do not match.
 */
export function matchPair(short: Entry, long: Entry, kind: MatchKind, o: MatchOptions): PairMatch | undefined {
  const sf = short.frames;
  const lf = long.frames;
  if (!sf || !lf) return undefined;
  let best: PairMatch | undefined;
  const modes = o.flip && sf.mirrored ? [false, true] : [false];
  for (const flipped of modes) {
    const a: Side = { f: sf, mirror: flipped, duration: short.durationSec };
    const b: Side = { f: lf, mirror: false, duration: long.durationSec };
    // Look up from the sparser side into the denser one, within half the denser one's step.
    const shortSparse = stepOf(short) >= stepOf(long);
    const [sparse, dense] = shortSparse ? [a, b] : [b, a];
    const tol = Math.min(stepOf(short), stepOf(long)) / 2 + SLACK;
    const window = Math.max(stepOf(short), stepOf(long)) + 2 * SLACK;
    const offsets = o.offsets ? votedOffsets(a, b, window, o.threshold) : [0];
    for (const offset of offsets) {
      if (kind === "subset" && (offset < -tol || offset + short.durationSec > long.durationSec + tol)) continue;
      const r = evaluate(sparse, dense, shortSparse ? (t) => t + offset : (t) => t - offset, tol, o.threshold);
      if (r.comparable < MIN_COMPARABLE || r.matched < o.quorum * r.comparable) continue;
      if (kind === "visual" && r.comparable < MIN_COVERAGE * sparse.f.lit) continue;
      const candidate = { kind, short, long, offset, flipped, ...r };
      if (!best || better(candidate, best)) best = candidate;
    }
  }
  return best;
}
