// The first step of a chunked job, run by whichever runner takes the EncodeJob: cut the source's video at
// keyframes by stream copy, store each segment and then the plan (If-None-Match), and queue one ChunkJob
// per chunk, longest first. Every step finds what an earlier attempt stored and reuses it.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { type ChunkSettings, encodeOrder, planChunks, workKeys } from "./plan.ts";
import { countVideoFrames, probeMedia, videoFrameTimes } from "../../shared/media/ffprobe.ts";
import { ChunkPlan, type ChunkJob, type EncodeJob } from "../../shared/schemas.ts";
import { createJson, downloadFile, headObject, readJson } from "../../shared/io/objects.ts";
import { sendJsonBatch } from "../../shared/io/queues.ts";
import { targetSize } from "../encode-args.ts";
import { type JobContext, type JobOutcome, type JobWork, encodeAndPublish, inJobDir, runJob } from "../job.ts";
import { updateRecord } from "../../shared/io/manifest.ts";
import { SEGMENT_LIST, segmentArgs, segmentFile } from "./args.ts";
import { createFromFile } from "./work.ts";

/** Pure: segment start times from the segmenter's CSV list ("seg-0001.mkv,2.021000,4.021000"). */
export function segmentStarts(csv: string): number[] {
  return csv.split("\n").filter(Boolean).map((line) => Number(line.split(",")[1]));
}

/** Pure: a frame's length, the median step between frame times (a VFR stretch does not widen it); 1/25 s without two frames. */
export function frameStepSec(times: number[]): number {
  const steps = times.slice(1).map((t, i) => t - times[i]).filter((d) => d > 0).sort((a, b) => a - b);
  return steps.length ? steps[Math.floor(steps.length / 2)] : 1 / 25;
}

/** Pure: whether the split cut where planned: one segment per span, each after the first starting within half a frame of its keyframe. */
export function cutsMatch(starts: number[], spans: Array<{ startSec: number }>, frameSec: number): boolean {
  return starts.length === spans.length && spans.every((s, i) => i === 0 || Math.abs(starts[i] - s.startSec) < frameSec / 2);
}

/** The source cannot be cut exactly where planned: it is encoded in one pass instead, never failed for it. */
export class UnsplittableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnsplittableError";
  }
}

async function makePlan(ctx: JobContext, job: EncodeJob, settings: ChunkSettings, dir: string, signal: AbortSignal): Promise<ChunkPlan> {
  const { clients } = ctx;
  const keys = workKeys(job.jobId);
  const timeoutSec = clients.config.probeTimeoutSec;
  // One download of exactly the planned version; keyframes and segments are then read locally.
  const source = path.join(dir, "source");
  await downloadFile(clients, job.key, job.etag, source);
  signal.throwIfAborted();
  const [media, frames] = await Promise.all([probeMedia(source, { timeoutSec }), videoFrameTimes(source, timeoutSec * 10)]);
  const spans = planChunks(frames.keyframes, frames.endSec, settings.chunkSec);
  if (spans.length < 2) throw new UnsplittableError(`${job.key} has no keyframes to cut at about every ${settings.chunkSec} s`);
  const r = await execa("ffmpeg", segmentArgs(source, spans.slice(1).map((s) => s.startSec)), { cwd: dir, reject: false, cancelSignal: signal });
  signal.throwIfAborted();
  if (r.exitCode !== 0) throw new UnsplittableError(`splitting ${job.key} failed: ${String(r.stderr).split("\n")[0]}`);
  const starts = segmentStarts(await readFile(path.join(dir, SEGMENT_LIST), "utf8"));
  if (!cutsMatch(starts, spans, frameStepSec(frames.times))) throw new UnsplittableError(`splitting ${job.key} cut at ${starts.join(", ")} s, not at the planned keyframes ${spans.map((s) => s.startSec).join(", ")} s`);
  // Counted before anything is stored: a split that lost or doubled a frame leaves no work objects behind.
  const counts = await Promise.all(spans.map((s) => countVideoFrames(path.join(dir, segmentFile(s.index)), timeoutSec)));
  const total = counts.reduce((a, b) => a + b, 0);
  if (total !== frames.times.length) throw new UnsplittableError(`splitting ${job.key} gave ${total} frames, not the source's ${frames.times.length}`);
  const chunks: ChunkPlan["chunks"] = [];
  for (const span of spans) {
    const segmentKey = keys.segment(span.index);
    const stored = await createFromFile(clients, path.join(dir, segmentFile(span.index)), segmentKey, { signal });
    chunks.push({ ...span, frames: counts[span.index], segmentKey, sha256: stored.sha256 });
  }
  const size = targetSize(media.video.width, media.video.height, job.downscale);
  const plan: ChunkPlan = { jobId: job.jobId, etag: job.etag, encoder: ctx.encoder, x264Preset: ctx.x264Preset, ...size, formatStartSec: frames.formatStartSec, chunks, createdAt: new Date().toISOString() };
  // A runner that split the same job at the same time wrote first: its plan (same segments) is the one.
  if (await createJson(clients, keys.plan, plan)) return plan;
  return (await readJson(clients, keys.plan, ChunkPlan))!;
}

async function sendChunks(ctx: JobContext, job: EncodeJob, plan: ChunkPlan): Promise<void> {
  const { clients } = ctx;
  const total = plan.chunks.length;
  const messages = encodeOrder(plan.chunks).map((c): ChunkJob => ({ ...job, chunk: { index: c.index, total } }));
  await sendJsonBatch(clients, clients.config.queues.encode, messages);
}

/** The work of a long EncodeJob (in place of the one-pass encode): split, store, queue the chunks. */
function splitWork(settings: ChunkSettings): JobWork {
  return async (ctx, job, signal) => {
    const keys = workKeys(job.jobId);
    let plan = await readJson(ctx.clients, keys.plan, ChunkPlan);
    if (!plan) {
      try {
        // The local copy of the source goes with the job folder, before a fallback encode needs the disk.
        plan = await inJobDir(ctx, job, (dir) => makePlan(ctx, job, settings, dir, signal));
      } catch (err) {
        if (!(err instanceof UnsplittableError)) throw err;
        ctx.log("job_note", { key: job.key, jobId: job.jobId, note: `encoded in one pass, not in chunks: ${err.message}` });
        return encodeAndPublish(ctx, job, signal);
      }
    }
    // A crash between sending and the marker sends them again: duplicates only cost work (see chunk.ts).
    if (!(await headObject(ctx.clients, keys.sent))) {
      await sendChunks(ctx, job, plan);
      await createJson(ctx.clients, keys.sent, { at: new Date().toISOString() });
    }
    ctx.log("job_split", { key: job.key, jobId: job.jobId, chunks: plan.chunks.length, encoder: plan.encoder });
    return { kind: "chunked", chunks: plan.chunks.length };
  };
}

/**
 * A long EncodeJob: claimed and split like any job, then its claim is let go while the record stays
 * `encoding`, so the merge (another message, another claim) takes it at once instead of after the lease.
 */
export async function splitJob(ctx: JobContext, job: EncodeJob, signal: AbortSignal, claim: string, settings: ChunkSettings): Promise<JobOutcome> {
  const outcome = await runJob(ctx, job, signal, claim, splitWork(settings));
  if (outcome.kind === "chunked") {
    await updateRecord(ctx.clients, job.key, (cur) => (cur?.state === "encoding" && cur.runner?.claim === claim ? { ...cur, runner: undefined } : undefined));
  }
  return outcome;
}
