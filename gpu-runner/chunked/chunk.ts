// One ChunkJob: encode the chunk unless it is stored already, store it (If-None-Match), and when it was
// the last one, claim the merge (If-None-Match). The claim names this message: it, and only it (also when
// the queue redelivers it after a crash), merges; the runner runs the merge (merge.ts). Duplicated chunk
// messages only encode a chunk twice.
import { rm } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { type ProgressJob, workKeys } from "./plan.ts";
import { countVideoFrames, probeMedia, videoFrameTimes } from "../../shared/media/ffprobe.ts";
import { type ChunkJob, ChunkPlan, MergeClaim } from "../../shared/schemas.ts";
import { createJson, headObject, listKeys, readJson } from "../../shared/io/objects.ts";
import { sendJson } from "../../shared/io/queues.ts";
import { classifyTestEncode } from "../encoder.ts";
import { ProgressParser } from "../ffmpeg-progress.ts";
import type { JobContext, JobOutcome } from "../job.ts";
import { chunkEncodeArgs, chunkKeyframeTimes } from "./args.ts";
import { createFromFile, downloadChecked } from "./work.ts";

type Chunk = ChunkPlan["chunks"][number];

/**
 * Encodes chunk `chunk` of `plan` into `dir`, checked to hold as many frames as its segment; returns the
 * file. The job's encoder, never this runner's own choice: chunks of two encoders cannot be joined.
 */
export async function encodeChunk(ctx: JobContext, job: ChunkJob & ProgressJob, plan: ChunkPlan, chunk: Chunk, dir: string, signal: AbortSignal): Promise<string> {
  const { clients } = ctx;
  if (plan.encoder === "nvenc" && ctx.encoder !== "nvenc") throw new Error(`chunk ${chunk.index} of ${job.key} needs NVENC, the encoder its job was split for; this runner has libx264 only`);
  const timeoutSec = clients.config.probeTimeoutSec;
  const segment = path.join(dir, `seg-${chunk.index}.mkv`);
  const output = path.join(dir, `out-${chunk.index}.mp4`);
  const lengthSec = chunk.endSec - chunk.startSec;
  // The job's chunks stage: the chunks stored when this one began, and this one's own progress.
  const { done } = job.chunk;
  const tell = (f: number) => done !== undefined && ctx.onStage?.(job, "chunks", (done + Math.min(1, f)) / job.chunk.total);
  tell(0);
  await downloadChecked(clients, chunk.segmentKey, segment, chunk.sha256);
  const { times } = await videoFrameTimes(segment, timeoutSec);
  const keyframeTimes = chunkKeyframeTimes(job.durationSec, job.fingerprints.map((f) => f.t), chunk, plan.formatStartSec, times);
  const args = chunkEncodeArgs({ input: segment, output, media: await probeMedia(segment, { timeoutSec }), encoder: plan.encoder, x264Preset: plan.x264Preset, size: plan, keyframeTimes });
  const child = execa("ffmpeg", args, { reject: false, cancelSignal: signal, buffer: { stdout: false, stderr: true }, stdin: "ignore" });
  const parser = new ProgressParser();
  const view = { ...job, durationSec: lengthSec };
  child.stdout!.on("data", (d: Buffer) => {
    for (const p of parser.push(d.toString())) {
      ctx.onProgress?.(view, p);
      tell(p.outTimeSec / lengthSec);
    }
  });
  const r = await child;
  ctx.onProgress?.(view, undefined);
  signal.throwIfAborted();
  if (r.exitCode !== 0) {
    const outcome = classifyTestEncode(r.exitCode, String(r.stderr));
    throw new Error(`encoding chunk ${chunk.index} of ${job.key} failed: ${outcome.status === "ok" ? `killed (${r.signal})` : outcome.reason}`);
  }
  const frames = await countVideoFrames(output, timeoutSec);
  if (frames !== chunk.frames) throw new Error(`chunk ${chunk.index} of ${job.key} came out with ${frames} frames, its segment has ${chunk.frames}`);
  await rm(segment, { force: true });
  return output;
}

/** A chunk waits this long between runners that lack its encoder; the last pass on is after about a day. */
export const PASS_ON_DELAY_SEC = 300;
const MAX_PASSES = 288;

/**
 * Puts `job` back on the encode queue as a new message, for a runner with the job's encoder. A new message,
 * not a hand-back: handing back counts receives, and three would dead-letter a chunk nothing is wrong with.
 */
export async function passOn(clients: JobContext["clients"], job: ChunkJob, delaySec: number): Promise<number> {
  const passedOn = (job.passedOn ?? 0) + 1;
  if (passedOn > MAX_PASSES) throw new Error(`chunk ${job.chunk.index} of ${job.key} needs NVENC, and no runner with NVENC took it in ${MAX_PASSES} tries`);
  await sendJson(clients, clients.config.queues.encode, { ...job, passedOn }, { delaySec });
  return passedOn;
}

/** A chunk's outcome, or "merge now": the merge claim names this message (`merging`). */
export type ChunkOutcome = JobOutcome | { kind: "merge"; merging: MergeClaim };

export async function runChunk(ctx: JobContext, job: ChunkJob, messageId: string, signal: AbortSignal): Promise<ChunkOutcome> {
  const { clients } = ctx;
  const keys = workKeys(job.jobId);
  const { index, total } = job.chunk;
  const merging = await readJson(clients, keys.mergeClaim, MergeClaim);
  if (merging?.messageId === messageId) return { kind: "merge", merging };
  // A merge claim exists only once every chunk is stored, so this one is too.
  if (merging) return { kind: "chunk", index, done: total, total };
  const plan = await readJson(clients, keys.plan, ChunkPlan);
  if (!plan) return { kind: "dropped", reason: `chunk ${index}: its job's work is gone (merged, or given up)` };
  const chunk = plan.chunks[index];
  if (!chunk) throw new Error(`chunk ${index} of ${job.key} is not in its plan (${plan.chunks.length} chunks)`);
  if (!(await headObject(clients, keys.output(index)))) {
    if (plan.encoder === "nvenc" && ctx.encoder !== "nvenc") {
      const passes = await passOn(clients, job, PASS_ON_DELAY_SEC);
      return { kind: "dropped", reason: `chunk ${index} needs NVENC (its job was split for it); put back on the queue for a runner with NVENC (${passes}. time)` };
    }
    const dir = await ctx.jobDir();
    try {
      const stored = (await listKeys(clients, keys.outputPrefix)).length;
      const file = await encodeChunk(ctx, { ...job, chunk: { ...job.chunk, done: stored } }, plan, chunk, dir, signal);
      // A chunk may not be handed back half stored: from here the upload runs to its end.
      await createFromFile(clients, file, keys.output(index), { anyBytes: true });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
  const done = (await listKeys(clients, keys.outputPrefix)).length;
  if (done < plan.chunks.length) return { kind: "chunk", index, done, total: plan.chunks.length };
  const mine: MergeClaim = { messageId, index, runnerId: ctx.runnerId, chunks: plan.chunks.length, claimedAt: new Date().toISOString() };
  if (await createJson(clients, keys.mergeClaim, mine)) return { kind: "merge", merging: mine };
  return { kind: "chunk", index, done, total: plan.chunks.length };
}
