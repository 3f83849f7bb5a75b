// The stages in order, cheapest first: size → recorded hashes → partial hash → SHA-256 → candidate
// search → visual matching → subsets; then groups around representatives and winners by policy.
import { candidatePairs } from "./candidates.ts";
import type { Entry } from "./entry.ts";
import { findExact, type Hasher } from "./exact.ts";
import { addEdge, foldInto, groupAround, type Group, type MatchGraph } from "./group.ts";
import { extraIsFiller, matchPair, type MatchOptions, type PairMatch } from "./match.ts";
import { durationTolerance, type DedupOptions } from "./options.ts";
import { comparator, loserReason } from "./policy.ts";

export type StageStat = { stage: string; input: number; output: number; bytes_read: number; time_ms: number; note?: string };

/** A Hasher that also says how many bytes each kind of read took. */
export type CountingHasher = Hasher & { bytesRead: { partial: number; full: number } };

const ms = (t0: number) => Math.round(performance.now() - t0);

function describeMatch(m: PairMatch): string {
  const frames = `${m.matched}/${m.comparable} frames, mean distance ${m.distance.toFixed(1)}`;
  const flipped = m.flipped ? ", mirrored" : "";
  if (m.kind === "subset") return `clip of ${m.long.key} from ${m.offset.toFixed(1)} s (${frames}${flipped})`;
  const shift = Math.abs(m.offset) >= 0.05 ? `, shifted ${m.offset.toFixed(1)} s` : "";
  return `same picture (${frames}${shift}${flipped})`;
}

export async function findDuplicates(entries: readonly Entry[], o: DedupOptions, hasher?: CountingHasher): Promise<{ groups: Group[]; stages: StageStat[] }> {
  const stages: StageStat[] = [];
  const order = comparator(o.policy);
  let t0 = performance.now();

  const exact = await findExact(entries, o.quality >= 2 ? hasher : undefined, o.concurrency);
  const s = exact.stats;
  const exactMs = ms(t0) - Math.round(s.partialMs + s.fullMs);
  stages.push(
    { stage: "size", input: entries.length, output: s.sizeCollisions, bytes_read: 0, time_ms: exactMs, note: `${s.sizeGroups} sizes shared by more than one object` },
    { stage: "recorded_hashes", input: s.sizeGroups, output: s.sizeGroups - s.settledWithoutReading, bytes_read: 0, time_ms: 0, note: "sizes settled by full-object checksums and recorded SHA-256 leave this stage" },
    { stage: "partial_hash", input: s.partialHashed, output: s.fullHashed, bytes_read: hasher?.bytesRead.partial ?? 0, time_ms: Math.round(s.partialMs) },
    { stage: "sha256", input: s.fullHashed, output: exact.groups.reduce((n, g) => n + g.length, 0), bytes_read: hasher?.bytesRead.full ?? 0, time_ms: Math.round(s.fullMs), note: s.unreadable ? `${s.unreadable} object(s) changed or gone while reading` : undefined },
  );
  const exactGroups: Group[] = exact.groups.map((members) => {
    const [winner, ...rest] = [...members].sort(order);
    return { type: "exact", winner, losers: rest.map((entry) => ({ entry, reason: `byte-identical copy; ${loserReason(o.policy, entry, winner)}` })) };
  });
  if (o.quality < 3) return { groups: exactGroups, stages };

  // Exact copies take part through their winner only.
  const exactLosers = new Set(exactGroups.flatMap((g) => g.losers.map((l) => l.entry.id)));
  const videos = entries.filter((e) => e.frames && e.frames.lit > 0 && e.durationSec > 0 && !exactLosers.has(e.id));
  const matchOpts: MatchOptions = { threshold: o.frameThreshold, quorum: o.quorum, flip: o.quality >= 4 && o.flip, offsets: o.quality >= 4 };
  const kindOf = (a: Entry, b: Entry): "visual" | "subset" | undefined => {
    if (Math.abs(a.durationSec - b.durationSec) <= durationTolerance(o, a.durationSec, b.durationSec)) return "visual";
    const ratio = Math.min(a.durationSec, b.durationSec) / Math.max(a.durationSec, b.durationSec);
    return o.quality >= 5 && ratio >= o.subsetMinRatio ? "subset" : undefined;
  };
  t0 = performance.now();
  // The longest partner a video can have: a visual duplicate within the tolerance, or what it is a subset of.
  const longestVisual = (d: number) => Math.max(d + o.durationToleranceSec, d / (1 - o.durationToleranceRatio));
  const longestPartner = (d: number) => (o.quality >= 5 ? Math.max(longestVisual(d), d / o.subsetMinRatio) : longestVisual(d));
  const pairs = await candidatePairs(videos, { flip: matchOpts.flip, longestPartner, admit: (a, b) => kindOf(a, b) !== undefined });
  stages.push({ stage: "candidates", input: videos.length, output: pairs.length, bytes_read: 0, time_ms: ms(t0), note: "pairs sharing hash windows (longer as the library grows), within the duration rules" });

  const visual: MatchGraph = new Map();
  const subset: MatchGraph = new Map();
  let visualPairs = 0;
  let visualMatches = 0;
  let subsetPairs = 0;
  let subsetMatches = 0;
  let visualMs = 0;
  let subsetMs = 0;
  for (const [i, j] of pairs) {
    const [short, long] = videos[i].durationSec <= videos[j].durationSec ? [videos[i], videos[j]] : [videos[j], videos[i]];
    const kind = kindOf(short, long)!;
    t0 = performance.now();
    const m = matchPair(short, long, kind, matchOpts);
    if (kind === "visual") {
      visualPairs++;
      visualMs += performance.now() - t0;
    } else {
      subsetPairs++;
      subsetMs += performance.now() - t0;
    }
    if (!m) continue;
    if (kind === "visual") {
      visualMatches++;
      addEdge(visual, short, long, m);
      addEdge(visual, long, short, m);
    } else if (extraIsFiller(m, matchOpts.threshold)) {
      // A black or test-card lead-in is no more content: the policy picks between them, as for visual copies.
      const same = { ...m, kind: "visual" as const };
      visualMatches++;
      addEdge(visual, short, long, same);
      addEdge(visual, long, short, same);
    } else {
      subsetMatches++;
      addEdge(subset, long, short, m);
    }
  }
  const taken = new Set<number>();
  const visualGroups = groupAround(videos, visual, order, "visual", taken, (l, w, m) => `${describeMatch(m)}; ${loserReason(o.policy, l, w)}`);
  stages.push({ stage: "visual", input: visualPairs, output: visualMatches, bytes_read: 0, time_ms: Math.round(visualMs), note: `${visualGroups.length} group(s)` });
  if (o.quality < 5) return { groups: [...foldInto(exactGroups, visualGroups), ...visualGroups], stages };

  // The longer video is kept whatever the policy: the clip is inside it, not the other way round.
  const longestFirst = (a: Entry, b: Entry) => b.durationSec - a.durationSec || order(a, b);
  // Losers of visual groups are gone already; their winners may still be clips of something longer.
  for (const g of visualGroups) taken.delete(g.winner.id);
  const subsetGroups = groupAround(videos, subset, longestFirst, "subset", taken, (_l, _w, m) => describeMatch(m));
  stages.push({ stage: "subset", input: subsetPairs, output: subsetMatches, bytes_read: 0, time_ms: Math.round(subsetMs), note: `${subsetGroups.length} group(s)` });
  const keptVisual = foldInto(visualGroups, subsetGroups);
  const later = [...keptVisual, ...subsetGroups];
  return { groups: [...foldInto(exactGroups, later), ...later], stages };
}
