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

/** Settings as text (flags, query parameters, environment), by name; absent ones take defaults. */
export type RawDedupOptions = Partial<Record<"quality" | "policy" | "durationTolerance" | "subsetMinRatio" | "threshold" | "quorum" | "flip", string | boolean>>;

/** Parses text settings; the error is one sentence naming the setting. */
export function parseDedupOptions(raw: RawDedupOptions): { ok: true; options: DedupOptions } | { ok: false; error: string } {
  const num = (v: string | boolean | undefined) => (typeof v === "string" && v.trim() !== "" ? Number(v) : undefined);
  const parsed = DedupOptions.safeParse({
    quality: num(raw.quality),
    policy: typeof raw.policy === "string" ? raw.policy : undefined,
    durationToleranceSec: num(raw.durationTolerance),
    subsetMinRatio: num(raw.subsetMinRatio),
    frameThreshold: num(raw.threshold),
    quorum: num(raw.quorum),
    flip: typeof raw.flip === "boolean" ? raw.flip : raw.flip === undefined ? undefined : raw.flip !== "0" && raw.flip !== "false",
  });
  if (parsed.success) return { ok: true, options: parsed.data };
  const issue = parsed.error.issues[0];
  const names: Record<string, string> = { quality: "quality (1-5)", policy: `policy (${POLICIES.join(", ")})`, frameThreshold: "threshold (0-32 bits)", durationToleranceSec: "duration tolerance (seconds)" };
  const field = String(issue.path[0]);
  return { ok: false, error: `Bad dedup ${names[field] ?? field}: ${issue.message}.` };
}
