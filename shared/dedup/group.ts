// Groups built around a representative, never by chaining: with A~B and B~C, C joins A's group only
// if C matches A itself. Representatives are taken best first, so each is its group's winner.
import type { Entry } from "./entry.ts";
import type { PairMatch } from "./match.ts";

export type GroupType = "exact" | "visual" | "subset";

export type Loser = { entry: Entry; reason: string; match?: PairMatch };
export type Group = { type: GroupType; winner: Entry; losers: Loser[] };

/** Matches by entry id, both ways for visual matches, container → clip for subsets. */
export type MatchGraph = Map<number, Map<number, PairMatch>>;

export function addEdge(graph: MatchGraph, from: Entry, to: Entry, m: PairMatch): void {
  let out = graph.get(from.id);
  if (!out) graph.set(from.id, (out = new Map()));
  out.set(to.id, m);
}

/**
 * Takes `nodes` in `order`; each node not yet taken gathers every untaken node it matches directly.
 * `taken` carries over between calls (entries that lost elsewhere are not available).
 */
export function groupAround(
  nodes: readonly Entry[],
  graph: MatchGraph,
  order: (a: Entry, b: Entry) => number,
  type: GroupType,
  taken: Set<number>,
  reason: (loser: Entry, winner: Entry, m: PairMatch) => string,
): Group[] {
  const groups: Group[] = [];
  for (const rep of [...nodes].sort(order)) {
    if (taken.has(rep.id)) continue;
    const out = graph.get(rep.id);
    if (!out) continue;
    const losers: Loser[] = [];
    for (const m of out.values()) {
      const other = m.short.id === rep.id ? m.long : m.short;
      if (taken.has(other.id)) continue;
      losers.push({ entry: other, reason: reason(other, rep, m), match: m });
    }
    losers.sort((x, y) => order(x.entry, y.entry));
    if (losers.length === 0) continue;
    taken.add(rep.id);
    for (const l of losers) taken.add(l.entry.id);
    groups.push({ type, winner: rep, losers });
  }
  return groups;
}

/**
 * Where a group's winner lost in a later group, its losers go with it: they are copies of something
 * that is itself to go, so the later group's winner is kept for all of them and no key is both
 * kept and removed.
 */
export function foldInto(groups: Group[], later: Group[]): Group[] {
  const loserHome = new Map<number, Group>();
  for (const g of later) for (const l of g.losers) loserHome.set(l.entry.id, g);
  const kept: Group[] = [];
  for (const g of groups) {
    const home = loserHome.get(g.winner.id);
    if (!home) {
      kept.push(g);
      continue;
    }
    for (const l of g.losers) {
      home.losers.push({ ...l, reason: `${g.type} duplicate of ${g.winner.key}, which also goes: ${l.reason}` });
      loserHome.set(l.entry.id, home);
    }
  }
  return kept;
}
