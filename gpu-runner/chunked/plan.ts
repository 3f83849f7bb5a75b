// Chunked jobs (distributed-encoding): when a source is long enough to split, where it is cut (at
// keyframes, about REELPRESS_CHUNK_SEC apart), the order chunks are queued in, and the keys of a job's work.
import { numberSetting } from "../../shared/settings.ts";
import { SYSTEM_PREFIX } from "../../shared/rules/naming.ts";

export type ChunkSettings = { minSec: number; chunkSec: number };

/** REELPRESS_CHUNK_MIN_SEC (default 600) and REELPRESS_CHUNK_SEC (default 120). */
export function chunkSettings(env: NodeJS.ProcessEnv): ChunkSettings {
  return {
    minSec: numberSetting(env, "REELPRESS_CHUNK_MIN_SEC", { fallback: 600, unit: "seconds", min: 0 }),
    chunkSec: numberSetting(env, "REELPRESS_CHUNK_SEC", { fallback: 120, unit: "seconds", positive: true }),
  };
}

/** Split only when it pays: a source longer than the threshold, and long enough for two chunks. */
export function shouldChunk(durationSec: number, s: ChunkSettings): boolean {
  return durationSec > s.minSec && durationSec >= 2 * s.chunkSec;
}

/** A chunk in the source's own timestamps: [startSec, endSec), starting on a keyframe. */
export type ChunkSpan = { index: number; startSec: number; endSec: number };

/**
 * Pure: chunk boundaries from the video's keyframe times. Each next cut is the keyframe nearest to
 * `chunkSec` after the last one (never closer than half of it), and a rest shorter than 1½ chunks is not
 * cut again, so there is no sliver at the end. Without keyframes past the first, the whole is one chunk.
 */
export function planChunks(keyframeTimes: number[], endSec: number, chunkSec: number): ChunkSpan[] {
  const keys = [...new Set(keyframeTimes)].filter((t) => t < endSec).sort((a, b) => a - b);
  const starts = [keys[0] ?? 0];
  for (;;) {
    const last = starts[starts.length - 1];
    if (endSec - last < 1.5 * chunkSec) break;
    const target = last + chunkSec;
    let best: number | undefined;
    for (const k of keys) {
      if (k < last + chunkSec / 2) continue;
      if (best === undefined || Math.abs(k - target) < Math.abs(best - target)) best = k;
      else break;
    }
    if (best === undefined || endSec - best < chunkSec / 2) break;
    starts.push(best);
  }
  return starts.map((startSec, index) => ({ index, startSec, endSec: starts[index + 1] ?? endSec }));
}

/** Longest chunks first: the last one to finish decides when the merge can start. */
export function encodeOrder<T extends { index: number; startSec: number; endSec: number }>(chunks: T[]): T[] {
  return [...chunks].sort((a, b) => b.endSec - b.startSec - (a.endSec - a.startSec) || a.index - b.index);
}

export const WORK_PREFIX = `${SYSTEM_PREFIX}work/`;

/** Where a chunked job keeps its state: immutable objects, one per fact, removed after the merge. */
export function workKeys(jobId: string) {
  if (!/^[0-9a-f]{8,64}$/.test(jobId)) throw new Error(`job id ${JSON.stringify(jobId)} is not a hex id`);
  const dir = `${WORK_PREFIX}${jobId}/`;
  const n = (i: number) => String(i).padStart(4, "0");
  return {
    dir,
    plan: `${dir}plan.json`,
    /** Written after every chunk message is sent: a redelivered split sends none again. */
    sent: `${dir}sent`,
    mergeClaim: `${dir}merge.claim`,
    segment: (i: number) => `${dir}seg-${n(i)}.mkv`,
    output: (i: number) => `${dir}out-${n(i)}.mp4`,
    outputPrefix: `${dir}out-`,
  };
}

/** A job as progress views see it; a chunk may say how many of its job's chunks are stored. */
export type ProgressJob = { jobId: string; key: string; chunk?: { index: number; total: number; done?: number } };

/** A chunk is an entry of its own (two chunks of one job may run side by side on one runner). */
export function progressId(job: ProgressJob): string {
  return job.chunk ? `${job.jobId}#${job.chunk.index}` : job.jobId;
}

/** Pure: "films/a.mkv (chunk 3 of 7, 2 stored)", or the key of a job that is not chunked. */
export function progressLabel(job: ProgressJob): string {
  if (!job.chunk) return job.key;
  return `${job.key} (chunk ${job.chunk.index + 1} of ${job.chunk.total}${job.chunk.done !== undefined ? `, ${job.chunk.done} stored` : ""})`;
}
