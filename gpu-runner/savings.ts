// Early abort (videoArchiver): a row that must save a share of its size stops encoding as soon as the
// output written so far, projected over the whole duration, shows it cannot.
import type { EncodeProgress } from "./ffmpeg-progress.ts";

/** Projections from the first seconds are noise (headers, the first keyframe, encoder lookahead). */
const MIN_PROJECT_SEC = 10;
const MIN_PROJECT_SHARE = 0.05;

/** The largest output that still saves `mustSave` of `sourceSize`; undefined when any size will do. */
export function sizeBudget(sourceSize: number, mustSave: number): number | undefined {
  return mustSave > 0 ? Math.floor(sourceSize * (1 - mustSave)) : undefined;
}

export function projectedSize(p: EncodeProgress, durationSec: number): number | undefined {
  return p.outTimeSec > 0 && durationSec > 0 ? Math.round((p.bytes * durationSec) / p.outTimeSec) : undefined;
}

/** Why this encode should stop now, or undefined to go on. */
export function cannotSave(p: EncodeProgress, durationSec: number, budget: number | undefined): string | undefined {
  if (budget === undefined) return undefined;
  if (p.bytes > budget) return `output already ${p.bytes} bytes, over the ${budget}-byte budget`;
  const warm = p.outTimeSec >= Math.max(MIN_PROJECT_SEC, durationSec * MIN_PROJECT_SHARE);
  const projected = projectedSize(p, durationSec);
  if (warm && projected !== undefined && projected > budget) {
    return `projected ${projected} bytes after ${p.outTimeSec.toFixed(1)} s of ${durationSec.toFixed(1)} s, over the ${budget}-byte budget`;
  }
  return undefined;
}
