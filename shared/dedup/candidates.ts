// Candidate pairs for visual matching without comparing all pairs: multi-index hashing. Each table
// keys a frame by `bits` bits of its 64-bit hash (its window), and two videos become candidates when
// they share at least `minHits` window values: copies share many (a re-encode moves a few bits per
// frame, so most windows stay whole), unrelated videos one now and then by chance. A video counts each
// value once per table, however many of its frames (or their mirror images) show it: the
// near-identical frames of a still shot would otherwise turn one chance match into many.
//
// Windows grow with the library so that a bucket holds a few frames at any size, and the stage stays
// near-linear (fixed 16-bit pieces: buckets of F / 65536 frames, so ~N² work). With F distinct lit frames:
//   bits    = ⌈log2(F / 4)⌉ within 16…24: about 4 frames a bucket or fewer;
//   tables  = ⌈4·s(16) / s(bits)⌉, where s(b) = C(64-b, 7) / C(64, 7) is the chance that a window of
//             b bits misses all 7 bits flipped in a heavily re-encoded frame: such a frame keeps as many
//             whole windows on average as in four 16-bit pieces (0.47);
//   minHits = 3 for 16-bit windows (the hash's four quarters, as always: up to about 16k videos), else 2.
// Needing 2 hits instead of 3 is the margin: a video of n frames with k bits flipped in each is found
// at least as often as with four 16-bit pieces for every n and k ≤ 8, about as often at k = 10
// (simulated; at k = 5 and 16 frames neither misses 1 in 10⁵). At 10⁶ videos (F ≈ 1.3·10⁷): 22 bits,
// 11 tables, s = 0.043; at 5 flipped bits a frame keeps 1.23 whole windows on average (0.90 before).
// Longer windows are bits drawn at random (fixed seed), not runs: two runs of 22 bits 6 apart share 16,
// so a chance match in one would be a match in the next with chance 2^-6; random draws share 7.6 bits
// on average, and a frame pair matches in two tables by chance 10⁻⁹ of the time. A query frame meets
// a frame of another video in a table with chance 2^-22, so with 16 frames each, mirrored too and 11
// tables, λ = 2·16·16·11 / 2^22 = 0.0013 a pair; P(≥ 2) ≈ λ²/2 + 512·10⁻⁹ ≈ 1.4·10⁻⁶: about 10⁵ chance
// pairs of the ~10¹¹ a library of 10⁶ has in range (the bench's library: 2.3·10⁵), each a cheap check in
// match.ts (16-bit pieces: λ = 0.03, P(≥ 3) ≈ 5·10⁻⁶, 5·10⁵ pairs; ~10⁷ in the bench's library).
//
// Memory, not arithmetic, is the cost: a read at a random place of a few hundred MB costs as much as
// dozens in order. Tables are built by radix sort (streaming passes), and lookups go a batch of videos
// (a 16th of the library) at a time, table by table, sorted by the whole key, so each table is read
// strictly front to back; a batch's hits are grouped by video the same way. From THREADED_FROM videos
// on, worker threads (candidates-worker.ts) build tables and search batches beside the main thread,
// all reading the same SharedArrayBuffers; the pairs come back in batch order, as from one thread.
import os from "node:os";
import { existsSync } from "node:fs";
import { Worker } from "node:worker_threads";
import type { Entry } from "./entry.ts";

/** How hashes are cut: `tables` windows of `bits` bits each; `minHits` shared window values make a candidate. */
export type Scheme = { bits: number; tables: number; minHits: number };

/** Bits flipped in a frame hash that the scheme survives as well as four 16-bit pieces do, on average. */
const FLIPS = 7;
/** A bucket this full (a near-uniform picture) says nothing about identity. */
const MAX_BUCKET = 4096;
/** Longer buckets are cut to the duration range by binary search; shorter ones are scanned whole. */
const SHORT_BUCKET = 32;
/**
 * Videos looked up together: a 16th of the library (up to 65536), so that a batch's queries (16 frames a
 * video, and their mirror images) meet one bucket in 2 to 5 of a table, at any size: nearly every cache
 * line of the table is then read, in order, instead of one in dozens at random.
 */
const batchFor = (videos: number) => 2 ** Math.min(16, Math.max(10, Math.round(Math.log2(videos / 16))));
/** Below this many videos the search stays in one thread: a worker's start (its modules stripped and compiled) costs more. */
const THREADED_FROM = 50_000;

const grow = (a: Int32Array) => {
  const b = new Int32Array(2 * a.length);
  b.set(a);
  return b;
};

/** An Int32Array every thread reads and writes. */
const shared = (length: number) => new Int32Array(new SharedArrayBuffer(4 * length));

/** Chance that a window of `bits` bits misses all of FLIPS random flipped bits of 64. */
function survival(bits: number): number {
  let p = 1;
  for (let i = 0; i < FLIPS; i++) p *= (64 - bits - i) / (64 - i);
  return p;
}

/** The scheme for `frames` distinct lit frames in all. */
export function schemeFor(frames: number): Scheme {
  const bits = Math.min(24, Math.max(16, Math.ceil(Math.log2(Math.max(1, frames) / 4))));
  if (bits === 16) return { bits, tables: 4, minHits: 3 };
  return { bits, tables: Math.ceil((4 * survival(16)) / survival(bits) - 1e-9), minHits: 2 };
}

/**
 * The bits of the hash (0 = the top bit of the high word) each table's key is made of. Four 16-bit
 * windows are the hash's four quarters; longer ones are bits drawn at random (fixed seed): windows that
 * overlap little, so a chance match in one table says little about another.
 */
export function windowBits(s: Scheme): number[][] {
  if (s.bits === 16 && s.tables === 4) return [0, 1, 2, 3].map((q) => Array.from({ length: 16 }, (_, i) => 16 * q + i));
  let state = 0x2545f491;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 2 ** 32;
  };
  return Array.from({ length: s.tables }, () => {
    const positions = Array.from({ length: 64 }, (_, i) => i);
    for (let i = 0; i < s.bits; i++) {
      const j = i + Math.floor(next() * (64 - i));
      [positions[i], positions[j]] = [positions[j], positions[i]];
    }
    return positions.slice(0, s.bits).sort((a, b) => a - b);
  });
}

/**
 * Per table, what each byte of the hash adds to the key: entry 256·k + v for value v of byte k
 * (k = 0 the top byte of the high word). A key is then eight lookups, whatever bits it is made of.
 */
function keyTables(s: Scheme): Int32Array[] {
  return windowBits(s).map((positions) => {
    const table = new Int32Array(8 * 256);
    positions.forEach((p, j) => {
      const bit = 1 << (s.bits - 1 - j);
      for (let v = 0; v < 256; v++) if (v & (0x80 >>> (p & 7))) table[256 * (p >>> 3) + v] |= bit;
    });
    return table;
  });
}

/** The key of hash hi:lo in the table whose byte contributions are `k`. */
function keyOf(k: Int32Array, hi: number, lo: number): number {
  return (
    k[hi >>> 24] | k[256 + ((hi >>> 16) & 255)] | k[512 + ((hi >>> 8) & 255)] | k[768 + (hi & 255)] |
    k[1024 + (lo >>> 24)] | k[1280 + ((lo >>> 16) & 255)] | k[1536 + ((lo >>> 8) & 255)] | k[1792 + (lo & 255)]
  );
}

/**
 * The hashes of every video's distinct lit frames, flat and in video order: video n owns frames
 * first[n] … first[n + 1] - 1, frame f's hash is hashes[2f], hashes[2f + 1] (mirror: the mirrored frame's).
 */
function flatHashes(videos: readonly Entry[], flip: boolean) {
  let most = 0;
  for (const v of videos) most += v.frames!.count;
  const first = shared(videos.length + 1);
  // Room for every frame, dark and repeated ones too: one pass over the videos, each read once.
  const hashes = new Uint32Array(new SharedArrayBuffer(8 * most));
  // The mirrored frames' hashes, for videos that have them (hasMirror).
  const mirror = flip ? new Uint32Array(new SharedArrayBuffer(8 * most)) : undefined;
  const hasMirror = new Uint8Array(new SharedArrayBuffer(videos.length));
  // Plain loops, not forEach: a counter that a callback changes lives outside registers, and this runs per frame.
  let count = 0;
  for (let n = 0; n < videos.length; n++) {
    const { store, start, count: frames, mirrored } = videos[n].frames!;
    const { words, dark } = store;
    const withMirror = mirror !== undefined && mirrored;
    hasMirror[n] = withMirror ? 1 : 0;
    const own = count;
    next: for (let i = start; i < start + frames; i++) {
      if (dark[i]) continue;
      const hi = words[4 * i];
      const lo = words[4 * i + 1];
      // A video has a few dozen frames at most: a scan is cheaper than a set.
      for (let f = own; f < count; f++) if (hashes[2 * f] === hi && hashes[2 * f + 1] === lo) continue next;
      hashes[2 * count] = hi;
      hashes[2 * count + 1] = lo;
      if (withMirror) {
        mirror[2 * count] = words[4 * i + 2];
        mirror[2 * count + 1] = words[4 * i + 3];
      }
      count++;
    }
    first[n + 1] = count;
  }
  return { first, hashes, mirror, hasMirror };
}

/**
 * Sorts the first `count` of `vals` by bits [from, to) of `keys`, stably, in passes of at most 11 bits
 * (streaming passes, where a counting sort over 2^22 buckets writes all over memory); returns the
 * sorted pair (the inputs or the spares).
 */
function sortByKey(keys: Int32Array, vals: Int32Array, count: number, from: number, to: number, spareKeys: Int32Array, spareVals: Int32Array): [Int32Array, Int32Array] {
  const passes = Math.ceil((to - from) / 11);
  const width = Math.ceil((to - from) / passes);
  const at = new Int32Array(2 ** width);
  const mask = at.length - 1;
  for (let shift = from; shift < to; shift += width) {
    at.fill(0);
    for (let i = 0; i < count; i++) at[(keys[i] >>> shift) & mask]++;
    for (let d = 0, sum = 0; d < at.length; d++) {
      const n = at[d];
      at[d] = sum;
      sum += n;
    }
    for (let i = 0; i < count; i++) {
      const to = at[(keys[i] >>> shift) & mask]++;
      spareKeys[to] = keys[i];
      spareVals[to] = vals[i];
    }
    [keys, vals, spareKeys, spareVals] = [spareKeys, spareVals, keys, vals];
  }
  return [keys, vals];
}

/**
 * Everything the search reads, in SharedArrayBuffers so that every thread reads the same memory: video n
 * (in duration order) owns frames first[n] … first[n + 1] - 1 and pairs with n + 1 … lastOf[n]; table t is
 * starts[t] and owners[t] (bucket b → the videos owners[t][starts[t][b] … starts[t][b + 1] - 1], ascending,
 * each once). `claimed` hands out tables to build, then batches to search, to whichever thread is free.
 */
export type SearchInput = {
  scheme: Scheme;
  /** Videos a batch: batch b is videos b·batch … (b + 1)·batch - 1. */
  batch: number;
  first: Int32Array;
  hashes: Uint32Array;
  /** The mirrored frames' hashes, for videos that have them (hasMirror[n] = 1). */
  mirror?: Uint32Array;
  hasMirror: Uint8Array;
  lastOf: Int32Array;
  starts: Int32Array[];
  owners: Int32Array[];
  /** [tables claimed, tables built, batches claimed]. */
  claimed: Int32Array;
};

/** Builds tables, as many as this thread can claim, until every table is claimed. */
export function buildTables(input: SearchInput): void {
  const { first, hashes, scheme, claimed } = input;
  const videos = first.length - 1;
  const size = 2 ** scheme.bits;
  const frames = first[videos];
  const keyBytes = keyTables(scheme);
  let scratch: Int32Array[] | undefined;
  for (let t; (t = Atomics.add(claimed, 0, 1)) < keyBytes.length; ) {
    scratch ??= Array.from({ length: 3 }, () => new Int32Array(frames));
    const [keys, spareKeys, spareVals] = scratch;
    const vals = input.owners[t];
    let count = 0;
    for (let n = 0; n < videos; n++) {
      for (let f = first[n]; f < first[n + 1]; f++) {
        keys[count] = keyOf(keyBytes[t], hashes[2 * f], hashes[2 * f + 1]);
        vals[count++] = n;
      }
    }
    // The sort is stable and the videos went in in order, so a video's repeats of a value end up side by
    // side. Compacting into vals in place is safe even when the sort returned vals: kept never passes i.
    const [sortedKeys, owners] = sortByKey(keys, vals, count, 0, scheme.bits, spareKeys, spareVals);
    const start = input.starts[t];
    let kept = 0;
    let b = 0;
    for (let i = 0; i < count; i++) {
      if (i > 0 && sortedKeys[i] === sortedKeys[i - 1] && owners[i] === owners[i - 1]) continue;
      while (b <= sortedKeys[i]) start[b++] = kept;
      vals[kept++] = owners[i];
    }
    while (b <= size) start[b++] = kept;
    Atomics.add(claimed, 1, 1);
    Atomics.notify(claimed, 1);
  }
}

/** Blocks until every table is built (for workers: the main thread waits with waitAsync, so that it sees a worker fail). */
export function waitForTables(input: SearchInput): void {
  for (let built; (built = Atomics.load(input.claimed, 1)) < input.starts.length; ) Atomics.wait(input.claimed, 1, built);
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

/** The keys in table `keyBytes` of videos n0 … n1 - 1 (their frames and mirror images) into keys, their videos into vals, in video order; how many. */
function queryKeys(input: SearchInput, keyBytes: Int32Array, n0: number, n1: number, keys: Int32Array, vals: Int32Array): number {
  const { first, hashes, mirror, hasMirror, lastOf } = input;
  let count = 0;
  for (let n = n0; n < n1; n++) {
    if (lastOf[n] === n) continue;
    for (let f = first[n]; f < first[n + 1]; f++) {
      keys[count] = keyOf(keyBytes, hashes[2 * f], hashes[2 * f + 1]);
      vals[count++] = n;
    }
    if (mirror === undefined || hasMirror[n] === 0) continue;
    for (let f = first[n]; f < first[n + 1]; f++) {
      keys[count] = keyOf(keyBytes, mirror[2 * f], mirror[2 * f + 1]);
      vals[count++] = n;
    }
  }
  return count;
}

/**
 * Appends to eventN/eventM from `events` on, for each query i (video queries[i], key keys[i]; sorted by
 * key, then video), n - n0 and the owners m of its bucket within (n, lastOf[n]]: once per video and key,
 * however many of its frames show that value. The new count, or -1 when the event arrays are too small.
 */
function lookUp(keys: Int32Array, queries: Int32Array, count: number, start: Int32Array, owner: Int32Array, lastOf: Int32Array, n0: number, eventN: Int32Array, eventM: Int32Array, events: number): number {
  const room = eventN.length;
  for (let i = 0; i < count; i++) {
    const n = queries[i];
    if (i > 0 && keys[i] === keys[i - 1] && n === queries[i - 1]) continue;
    const last = lastOf[n];
    let lo = start[keys[i]];
    let hi = start[keys[i] + 1];
    if (hi - lo > MAX_BUCKET) continue;
    if (hi - lo > SHORT_BUCKET) {
      hi = firstAbove(owner, lo, hi, last);
      lo = firstAbove(owner, lo, hi, n);
    }
    for (let k = lo; k < hi; k++) {
      const m = owner[k];
      if (m <= n || m > last) continue;
      if (events === room) return -1;
      eventN[events] = n - n0;
      eventM[events++] = m;
    }
  }
  return events;
}

/**
 * Searches batches, as many as this thread can claim, until every batch is claimed; per batch, the pairs
 * (n, m) of video positions that share at least minHits windows, flat, in the order n, then first hit.
 */
export function searchBatches(input: SearchInput): Map<number, Int32Array> {
  const { scheme, batch, first, mirror, lastOf, starts, owners, claimed } = input;
  const videos = first.length - 1;
  const keyBytes = keyTables(scheme);
  const sides = mirror ? 2 : 1;
  // Sized by the largest batch's own frames, not by `batch` times the longest video's: one record with
  // many frames must not cost a batch's worth of them.
  let itemCap = 0;
  for (let n0 = 0; n0 < videos; n0 += batch) itemCap = Math.max(itemCap, sides * (first[Math.min(videos, n0 + batch)] - first[n0]));
  const [keys, vals, spareKeys, spareVals] = Array.from({ length: 4 }, () => new Int32Array(itemCap));
  // Events (n - n0, m), one per window value video n shares with m: four arrays, two of them the radix sort's spares.
  let events4 = Array.from({ length: 4 }, () => new Int32Array(1 << 16));
  const hits = new Int32Array(videos);
  const touched = new Int32Array(videos);
  const found = new Map<number, Int32Array>();
  for (let b; (b = Atomics.add(claimed, 2, 1)) * batch < videos; ) {
    const n0 = b * batch;
    const n1 = Math.min(videos, n0 + batch);
    let events = 0;
    for (let t = 0; t < keyBytes.length; t++) {
      const count = queryKeys(input, keyBytes[t], n0, n1, keys, vals);
      // By the whole key: the reads then go strictly front to back, which the CPU prefetches; by the top
      // bits only, each read of a bucket missed the cache, and on this kind of machine that cost more than the pass.
      const [sortedKeys, queries] = sortByKey(keys, vals, count, 0, scheme.bits, spareKeys, spareVals);
      let now: number;
      while ((now = lookUp(sortedKeys, queries, count, starts[t], owners[t], lastOf, n0, events4[0], events4[1], events)) < 0) events4 = events4.map(grow);
      events = now;
    }
    // Events by n (a stable radix sort: streaming passes), then each n's partners counted.
    const [eventN, eventM] = sortByKey(events4[0], events4[1], events, 0, Math.log2(batch), events4[2], events4[3]);
    const pairs: number[] = [];
    for (let e = 0; e < events; ) {
      const j = eventN[e];
      let nTouched = 0;
      for (; e < events && eventN[e] === j; e++) if (hits[eventM[e]]++ === 0) touched[nTouched++] = eventM[e];
      for (let i = 0; i < nTouched; i++) {
        const m = touched[i];
        if (hits[m] >= scheme.minHits) pairs.push(n0 + j, m);
        hits[m] = 0;
      }
    }
    found.set(b, Int32Array.from(pairs));
  }
  return found;
}

const WORKER_FILE = new URL("./candidates-worker.ts", import.meta.url);

/** Starts a worker that builds tables and searches batches beside this thread; the pairs of the batches it searched. */
export function searchInWorker(input: SearchInput): Promise<Map<number, Int32Array>> {
  const worker = new Worker(WORKER_FILE, { workerData: input });
  return new Promise((resolve, reject) => {
    worker.on("message", resolve);
    worker.on("error", reject);
    worker.on("exit", (code) => reject(new Error(`candidate search worker exited (code ${code}) before it finished`)));
  });
}

/**
 * Positions from the shortest duration to the longest, equal ones in position order: ranks among the
 * distinct durations (sorted natively), then a counting sort, as a sort that calls back a comparator
 * 2·10⁷ times at 10⁶ videos costs about a second on one thread.
 */
function durationOrder(durations: Float64Array): Int32Array {
  const values = durations.slice().sort();
  let distinct = 0;
  for (let i = 0; i < values.length; i++) if (i === 0 || values[i] !== values[distinct - 1]) values[distinct++] = values[i];
  const rank = new Int32Array(durations.length);
  const at = new Int32Array(distinct + 1);
  for (let i = 0; i < durations.length; i++) {
    let lo = 0;
    let hi = distinct - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (values[mid] < durations[i]) lo = mid + 1;
      else hi = mid;
    }
    rank[i] = lo;
    at[lo + 1]++;
  }
  for (let r = 0; r < distinct; r++) at[r + 1] += at[r];
  const order = new Int32Array(durations.length);
  for (let i = 0; i < durations.length; i++) order[at[rank[i]]++] = i;
  return order;
}

/** Options of the search: see candidatePairs. */
export type CandidateOptions = { flip: boolean; longestPartner(durationSec: number): number; admit(a: Entry, b: Entry): boolean; scheme?: Scheme; threads?: number };

/** The videos in duration order (sorted[n] = videos[order[n]]) and what the search reads, its tables still empty. */
export function prepareSearch(videos: readonly Entry[], opts: CandidateOptions): { sorted: Entry[]; order: Int32Array; input: SearchInput } {
  const byDuration = Float64Array.from(videos, (v) => v.durationSec);
  const order = durationOrder(byDuration);
  const sorted = Array.from(order, (i) => videos[i]);
  const durations = Float64Array.from(order, (i) => byDuration[i]);
  const { first, hashes, mirror, hasMirror } = flatHashes(sorted, opts.flip);
  const scheme = opts.scheme ?? schemeFor(first[sorted.length]);
  // The duration rules: video n pairs with n + 1 … lastOf[n].
  const lastOf = shared(sorted.length);
  for (let n = 0, last = 0; n < sorted.length; n++) {
    const longest = opts.longestPartner(durations[n]);
    while (last + 1 < sorted.length && durations[last + 1] <= longest) last++;
    lastOf[n] = Math.max(n, last);
  }
  const frames = first[sorted.length];
  const input: SearchInput = {
    scheme,
    batch: batchFor(sorted.length),
    first,
    hashes,
    mirror,
    hasMirror,
    lastOf,
    starts: Array.from({ length: scheme.tables }, () => shared(2 ** scheme.bits + 1)),
    owners: Array.from({ length: scheme.tables }, () => shared(frames)),
    claimed: shared(3),
  };
  return { sorted, order, input };
}

/**
 * Pairs [i, j] (positions in `videos`) that share enough hash windows, with `flip` also between
 * mirrored frames, and that `admit` lets through. Videos are taken shortest first and each is paired
 * only with longer ones up to `longestPartner(its duration)`: in duration order that is a range of
 * positions, so the duration rules cost one comparison per hit. `threads` threads build the tables and
 * search the batches (by default one per core, up to 4, from THREADED_FROM videos on).
 * `scheme`: how to cut the hashes, by default as suits the number of frames (schemeFor).
 */
export async function candidatePairs(videos: readonly Entry[], opts: CandidateOptions): Promise<Array<[number, number]>> {
  const { sorted, order, input } = prepareSearch(videos, opts);
  // A bundle (the Lambda's) has no worker file beside it: one thread there.
  const threads = opts.threads ?? (sorted.length >= THREADED_FROM && existsSync(WORKER_FILE) ? Math.min(4, os.availableParallelism()) : 1);
  const workers = Array.from({ length: threads - 1 }, () => searchInWorker(input));
  // A failed worker must fail the search, not leave this thread waiting for the tables it claimed.
  const failed = Promise.all(workers).then(() => new Promise<never>(() => {}));
  failed.catch(() => {});
  buildTables(input);
  for (let built; (built = Atomics.load(input.claimed, 1)) < input.scheme.tables; ) await Promise.race([Atomics.waitAsync(input.claimed, 1, built).value, failed]);
  const found = searchBatches(input);
  for (const theirs of await Promise.all(workers)) for (const [b, pairs] of theirs) found.set(b, pairs);
  const result: Array<[number, number]> = [];
  for (let b = 0; b * input.batch < sorted.length; b++) {
    const pairs = found.get(b)!;
    for (let k = 0; k < pairs.length; k += 2) if (opts.admit(sorted[pairs[k]], sorted[pairs[k + 1]])) result.push([order[pairs[k]], order[pairs[k + 1]]]);
  }
  return result;
}
