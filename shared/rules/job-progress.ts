// One percentage and one ETA for a job, from the stage it is in and how far that stage is. Each stage
// weighs its rough share of a job's time; the ETA comes from the pace of that same percentage in the
// current stage, so the two cannot disagree (never "88 % … ETA 0:00"): below 100 % the ETA is unknown
// or at least a second, and it is 0 only at 100 %.

/** A chunked job's stages, in order; a one-pass job's are `encode` and `publish`. */
export const STAGES = ["read", "split", "chunks", "merge", "encode", "publish"] as const;
export type Stage = (typeof STAGES)[number];

/** Shares of a job's time, each plan summing to 1. Reading in place makes `read` instant. */
const CHUNKED: Array<[Stage, number]> = [["read", 0.1], ["split", 0.1], ["chunks", 0.6], ["merge", 0.15], ["publish", 0.05]];
const ONE_PASS: Array<[Stage, number]> = [["encode", 0.95], ["publish", 0.05]];

/** The weights `stage` is read against: the job's own, or the other kind's (a long source encoded in one pass after all). */
function planOf(stage: Stage, chunked: boolean): Array<[Stage, number]> {
  const plan = chunked ? CHUNKED : ONE_PASS;
  return plan.some(([s]) => s === stage) ? plan : chunked ? ONE_PASS : CHUNKED;
}

/** Pure: the job's share done, 0–100 (not rounded), at `fraction` (0–1) of `stage`. */
export function overallPercent(stage: Stage, fraction: number, chunked = false): number {
  const plan = planOf(stage, chunked);
  const at = plan.findIndex(([s]) => s === stage);
  const before = plan.slice(0, at).reduce((n, [, w]) => n + w, 0);
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  return 100 * Math.min(1, before + plan[at][1] * f);
}

/** Where the current stage started: its time and the percentage then. */
export type StageStart = { atMs: number; percent: number };

/** A stage shorter than this gives no ETA yet: its pace is not known. */
const MIN_PACE_MS = 2000;

/**
 * Pure: the percentage shown (whole, 100 only when done) and the seconds left at the current stage's
 * pace; `etaSec` is left out while the pace is unknown (too early, or no progress in this stage).
 */
export function jobProgress(percent: number, start: StageStart, nowMs: number): { percent: number; etaSec?: number } {
  const p = Math.min(100, Math.max(0, percent));
  if (p >= 100) return { percent: 100, etaSec: 0 };
  const shown = Math.min(99, Math.floor(p));
  const elapsedMs = nowMs - start.atMs;
  const gained = p - start.percent;
  if (elapsedMs < MIN_PACE_MS || gained <= 0) return { percent: shown };
  return { percent: shown, etaSec: Math.max(1, Math.ceil(((100 - p) * elapsedMs) / gained / 1000)) };
}

/** Tracks one job's stage and gives its percentage and ETA; a new stage starts a new pace. */
export class StageClock {
  readonly chunked: boolean;
  stage: Stage | undefined;
  #percent = 0;
  #start: StageStart = { atMs: 0, percent: 0 };

  constructor(chunked: boolean) {
    this.chunked = chunked;
  }

  /** Records `fraction` of `stage`; true when the stage changed (worth telling at once). */
  update(stage: Stage, fraction: number, nowMs: number): boolean {
    const changed = stage !== this.stage;
    this.#percent = overallPercent(stage, fraction, this.chunked);
    if (changed) {
      this.stage = stage;
      this.#start = { atMs: nowMs, percent: this.#percent };
    }
    return changed;
  }

  view(nowMs: number): { stage: Stage; percent: number; etaSec?: number } | undefined {
    return this.stage && { stage: this.stage, ...jobProgress(this.#percent, this.#start, nowMs) };
  }
}
