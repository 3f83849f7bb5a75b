// Dedup settings, validated once; every stage reads them from here.
import { z } from "zod";

export const POLICIES = ["best_quality", "oldest", "newest", "smallest", "largest"] as const;
export type Policy = (typeof POLICIES)[number];

export const DedupOptions = z.object({
  /**
   * As in vdedup: 1 = exact duplicates the manifest already proves (reads nothing), 2 = + hashing where
   * sizes collide, 3 = + visual duplicates compared time for time, 4 = + offsets (trims, intros) and
   * flips, 5 = + subsets (clips of a longer video).
   */
  quality: z.coerce.number().int().min(1).max(5).default(4),
  policy: z.enum(POLICIES).default("best_quality"),
  /** Visual duplicates last as long as each other within max(sec, ratio × the longer). */
  durationToleranceSec: z.number().nonnegative().default(2),
  durationToleranceRatio: z.number().nonnegative().default(0.02),
  /** Frames within this many bits of each other show the same picture. */
  frameThreshold: z.number().int().min(0).max(32).default(12),
  /** Share of comparable frames that must match. */
  quorum: z.number().gt(0).max(1).default(0.6),
  /** A clip at least this share of the longer video's length is reported as its subset. */
  subsetMinRatio: z.number().gt(0).max(1).default(0.3),
  /** Match horizontally mirrored copies. */
  flip: z.boolean().default(true),
  /** Hashing reads in flight at once. */
  concurrency: z.number().int().min(1).max(64).default(8),
});
export type DedupOptions = z.infer<typeof DedupOptions>;

export function dedupOptions(partial: Partial<DedupOptions> = {}): DedupOptions {
  return DedupOptions.parse(partial);
}

export function durationTolerance(o: DedupOptions, a: number, b: number): number {
  return Math.max(o.durationToleranceSec, o.durationToleranceRatio * Math.max(a, b));
}
