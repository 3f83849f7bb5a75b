// Exact duplicates with the fewest bytes read. Only objects that share a size can be equal. Within a
// size, what the manifest already knows decides first (a full-object CRC64NVME or SHA-256, the runner's
// SHA-256; a CRC32 can only tell objects apart);
// only where that leaves a pair open is a partial hash read (head/middle/tail), and a full SHA-256 only
// where partial hashes agree. One member per cluster of known-equal objects is ever read.
import type { Entry } from "./entry.ts";
import { mapLimit } from "../pool.ts";

/** Reads that hash an object; each returns the hash and is expected to record it for next time. */
export type Hasher = {
  partial(entry: Entry): Promise<string>;
  full(entry: Entry): Promise<string>;
};

export type ExactStats = {
  sizeGroups: number;
  /** Entries that share their size with another. */
  sizeCollisions: number;
  /** Size groups settled by recorded checksums and hashes alone. */
  settledWithoutReading: number;
  partialHashed: number;
  fullHashed: number;
  /** Reads that failed (object changed or gone); those entries take no part. */
  unreadable: number;
  partialMs: number;
  fullMs: number;
};

export function bySize(entries: readonly Entry[]): Entry[][] {
  const groups = new Map<number, Entry[]>();
  for (const e of entries) {
    const g = groups.get(e.size);
    if (g) g.push(e);
    else groups.set(e.size, [e]);
  }
  return [...groups.values()].filter((g) => g.length > 1);
}

/** Cluster = entries known to be byte-equal; values are what is known of its content. */
type Cluster = { members: Entry[]; checksums: Map<string, string>; sha256?: string; partial?: string };

function checksumParts(c: string): [string, string] {
  const i = c.indexOf(":");
  return [c.slice(0, i), c.slice(i + 1)];
}

/** Equal CRC32/CRC32C values are too weak to stand for equal bytes; they only ever prove a difference. */
const PROVING = new Set(["CRC64NVME", "SHA256"]);

/** Clusters of one size group, joined wherever a strong checksum or SHA-256 proves equality. */
function clustersOf(group: Entry[]): Cluster[] {
  const parent = group.map((_, i) => i);
  const find = (i: number): number => (parent[i] === i ? i : (parent[i] = find(parent[i])));
  const seen = new Map<string, number>();
  group.forEach((e, i) => {
    const strong = e.checksum && PROVING.has(checksumParts(e.checksum)[0]) ? e.checksum : undefined;
    for (const id of [strong, e.sha256 && `sha256:${e.sha256}`]) {
      if (!id) continue;
      const j = seen.get(id);
      if (j === undefined) seen.set(id, i);
      else parent[find(i)] = find(j);
    }
  });
  const byRoot = new Map<number, Cluster>();
  group.forEach((e, i) => {
    const root = find(i);
    let c = byRoot.get(root);
    if (!c) byRoot.set(root, (c = { members: [], checksums: new Map() }));
    c.members.push(e);
    if (e.checksum) c.checksums.set(...checksumParts(e.checksum));
    c.sha256 ??= e.sha256;
    c.partial ??= e.partialHash;
  });
  return [...byRoot.values()];
}

function knownDifferent(a: Cluster, b: Cluster): boolean {
  for (const [algo, v] of a.checksums) {
    const w = b.checksums.get(algo);
    if (w !== undefined && w !== v) return true;
  }
  if (a.sha256 && b.sha256 && a.sha256 !== b.sha256) return true;
  return Boolean(a.partial && b.partial && a.partial !== b.partial);
}

/** Past this many clusters in one size the pairwise check costs more than it saves: read them all. */
const PAIRWISE_LIMIT = 256;

/** Clusters that are in at least one pair nothing known tells apart. */
function open(clusters: Cluster[]): Cluster[] {
  if (clusters.length > PAIRWISE_LIMIT) return clusters;
  const out = new Set<Cluster>();
  for (let i = 0; i < clusters.length; i++)
    for (let j = i + 1; j < clusters.length; j++)
      if (!knownDifferent(clusters[i], clusters[j])) {
        out.add(clusters[i]);
        out.add(clusters[j]);
      }
  return [...out];
}

/** Merges clusters whose SHA-256 agree (the only hash that proves equality here). */
function mergeBySha(clusters: Cluster[]): Cluster[] {
  const bySha = new Map<string, Cluster>();
  const out: Cluster[] = [];
  for (const c of clusters) {
    const same = c.sha256 ? bySha.get(c.sha256) : undefined;
    if (same) same.members.push(...c.members);
    else {
      if (c.sha256) bySha.set(c.sha256, c);
      out.push(c);
    }
  }
  return out;
}

/**
 * Groups of byte-identical entries (each of two or more). Entries whose reads fail are dropped from
 * their size group; `hasher` is called at most once per entry and kind; without one nothing is read.
 */
export async function findExact(
  entries: readonly Entry[],
  hasher: Hasher | undefined,
  concurrency = 8,
): Promise<{ groups: Entry[][]; stats: ExactStats }> {
  const sizeGroups = bySize(entries);
  const stats: ExactStats = { sizeGroups: sizeGroups.length, sizeCollisions: 0, settledWithoutReading: 0, partialHashed: 0, fullHashed: 0, unreadable: 0, partialMs: 0, fullMs: 0 };
  const groups: Entry[][] = [];
  const dropped = new Set<Cluster>();
  // Reads one member of the cluster (any: they are equal); a failed read leaves the whole cluster out.
  const read = async (c: Cluster, kind: "partial" | "full") => {
    const e = c.members[0];
    try {
      if (kind === "partial") {
        c.partial = await hasher!.partial(e);
        stats.partialHashed++;
      } else {
        c.sha256 = await hasher!.full(e);
        stats.fullHashed++;
      }
    } catch {
      stats.unreadable += c.members.length;
      dropped.add(c);
    }
  };
  // Phase by phase over all size groups at once, so reads of different sizes run side by side.
  let sets = sizeGroups.map((group) => {
    stats.sizeCollisions += group.length;
    const clusters = clustersOf(group);
    if (open(clusters).length === 0) stats.settledWithoutReading++;
    return clusters;
  });
  if (hasher) {
    let t0 = performance.now();
    // A partial read is cheap beside a full one, even for a cluster whose SHA-256 is known: a
    // differing partial spares reading the other object whole.
    await mapLimit(sets.flatMap((clusters) => open(clusters).filter((c) => !c.partial)), concurrency, (c) => read(c, "partial"));
    stats.partialMs = performance.now() - t0;
    sets = sets.map((clusters) => clusters.filter((c) => !dropped.has(c)));
    t0 = performance.now();
    await mapLimit(sets.flatMap((clusters) => open(clusters).filter((c) => !c.sha256)), concurrency, (c) => read(c, "full"));
    stats.fullMs = performance.now() - t0;
    sets = sets.map((clusters) => mergeBySha(clusters.filter((c) => !dropped.has(c))));
  }
  // Without a hasher nothing is read: only what the manifest proves counts.
  for (const clusters of sets) for (const c of clusters) if (c.members.length > 1) groups.push(c.members);
  return { groups, stats };
}
