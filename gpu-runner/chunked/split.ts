// The first step of a chunked job, run by whichever runner takes the EncodeJob: cut the source's video at
// keyframes by stream copy, store each segment and then the plan (If-None-Match), and queue one ChunkJob
// per chunk, longest first. Every step finds what an earlier attempt stored and reuses it.
import { rm } from "node:fs/promises";
import path from "node:path";
import { type ChunkSettings, encodeOrder, planChunks, workKeys } from "./plan.ts";
import { countVideoFrames, probeMedia, videoFrameTimes } from "../../shared/media/ffprobe.ts";
import { ChunkPlan, type ChunkJob, type EncodeJob } from "../../shared/schemas.ts";
import { SourceChangedError, createJson, deleteObjects, headObject, readJson } from "../../shared/io/objects.ts";
import { sendJsonBatch } from "../../shared/io/queues.ts";
import { targetSize } from "../encode-args.ts";
import { type JobContext, type JobOutcome, type JobWork, encodeAndPublish, inJobDir, runJob } from "../job.ts";
import { updateRecord } from "../../shared/io/manifest.ts";
import { segmentArgs } from "./args.ts";
import { segmentInParts } from "./segmenter.ts";
import { createFromFile } from "./work.ts";
import { type SourceFile, downloadSource, openInPlace } from "../source.ts";

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

/** The source ffmpeg reads: the library file in place when the runner may and it is the job's version, else a download. */
async function readSource(ctx: JobContext, job: EncodeJob, dir: string, signal: AbortSignal): Promise<SourceFile> {
  if (ctx.library) {
    const opened = await openInPlace(ctx.library, job);
    if ("source" in opened) {
      ctx.onStage?.(job, "read", 1);
      return opened.source;
    }
    ctx.log("job_note", { key: job.key, jobId: job.jobId, note: `downloading the source, not reading it in place: ${opened.refused}` });
  }
  return downloadSource(ctx.clients, job, path.join(dir, "source"), signal, (f) => ctx.onStage?.(job, "read", f));
}

/** Share of the split stage once keyframes are listed; the rest follows the segmenter. */
const LISTED = 0.2;

async function makePlan(ctx: JobContext, job: EncodeJob, settings: ChunkSettings, dir: string, signal: AbortSignal): Promise<ChunkPlan> {
  ctx.onStage?.(job, "read", 0);
  const source = await readSource(ctx, job, dir, signal);
  try {
    signal.throwIfAborted();
    return await splitAndStore(ctx, job, settings, source, dir, signal);
  } finally {
    await source.close();
  }
}

/**
 * Lists the keyframes, cuts there, and stores each segment as soon as it is written, then frees it; the
 * checks (each cut where planned, every frame once) fail the split before the plan is written, and what
 * it stored is removed. Then the plan.
 */
async function splitAndStore(ctx: JobContext, job: EncodeJob, settings: ChunkSettings, source: SourceFile, dir: string, signal: AbortSignal): Promise<ChunkPlan> {
  const { clients } = ctx;
  const keys = workKeys(job.jobId);
  const timeoutSec = clients.config.probeTimeoutSec;
  ctx.onStage?.(job, "split", 0);
  const [media, frames] = await Promise.all([probeMedia(source.file, { timeoutSec }), videoFrameTimes(source.file, timeoutSec * 10)]);
  await source.assertUnchanged();
  const spans = planChunks(frames.keyframes, frames.endSec, settings.chunkSec);
  if (spans.length < 2) throw new UnsplittableError(`${job.key} has no keyframes to cut at about every ${settings.chunkSec} s`);
  ctx.onStage?.(job, "split", LISTED);
  const frameSec = frameStepSec(frames.times);
  const lengthSec = Math.max(1e-3, frames.endSec - spans[0].startSec);
  const chunks: ChunkPlan["chunks"] = [];
  const starts: number[] = [];
  let outSec = 0;
  const tell = () => ctx.onStage?.(job, "split", LISTED + (1 - LISTED) * Math.min(1, Math.max(outSec / lengthSec, chunks.length / spans.length)));
  try {
    const r = await segmentInParts(segmentArgs(source.file, spans.slice(1).map((s) => s.startSec)), dir, signal, {
      progress(sec) {
        outSec = sec - spans[0].startSec;
        tell();
      },
      async part(part) {
        starts.push(part.startSec);
        const span = spans[part.index];
        if (!span || !cutsMatch(starts, spans.slice(0, starts.length), frameSec)) throw new UnsplittableError(`splitting ${job.key} cut at ${starts.join(", ")} s, not at the planned keyframes ${spans.map((s) => s.startSec).join(", ")} s`);
        ctx.onFolderFull?.(dir);
        const count = await countVideoFrames(part.file, timeoutSec);
        // Read from the job's version (checked after the segment was written), or not stored at all.
        await source.assertUnchanged();
        const segmentKey = keys.segment(span.index);
        const stored = await createFromFile(clients, part.file, segmentKey, { signal });
        await rm(part.file, { force: true });
        chunks.push({ ...span, frames: count, segmentKey, sha256: stored.sha256 });
        tell();
      },
    });
    signal.throwIfAborted();
    if (r.exitCode !== 0) throw new UnsplittableError(`splitting ${job.key} failed: ${r.stderr.split("\n")[0]}`);
    if (!cutsMatch(starts, spans, frameSec)) throw new UnsplittableError(`splitting ${job.key} cut at ${starts.join(", ")} s, not at the planned keyframes ${spans.map((s) => s.startSec).join(", ")} s`);
    const total = chunks.reduce((n, c) => n + c.frames, 0);
    if (total !== frames.times.length) throw new UnsplittableError(`splitting ${job.key} gave ${total} frames, not the source's ${frames.times.length}`);
  } catch (err) {
    // Every attempt splits a source the same way (bit-exact), so what this one stored is no use to any.
    if ((err instanceof UnsplittableError || err instanceof SourceChangedError) && !signal.aborted) await deleteObjects(clients, chunks.map((c) => c.segmentKey));
    throw err;
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
