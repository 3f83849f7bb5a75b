// The merge of a chunked job, run once by the message named in its merge claim: it goes through runJob like
// any job (state check, `encoding` record, resume after a crash), with the one-pass encode replaced by
// joining the stored chunks. Then the normal path: early abort, verification (the frame count equal to the
// source's too), publish. The work objects are removed at the end, whatever the outcome.
import { rename, stat, writeFile } from "node:fs/promises";
import path from "node:path";
import { workKeys } from "./plan.ts";
import { countVideoFrames, probeMedia } from "../../shared/media/ffprobe.ts";
import { updateRecord } from "../../shared/io/manifest.ts";
import { ChunkPlan, type ChunkJob, type MediaInfo, type MergeClaim } from "../../shared/schemas.ts";
import { presignedGetUrl, readJson } from "../../shared/io/objects.ts";
import { errorMessage } from "../../shared/errors.ts";
import { PASS_FILES, pickVerifyTimes, uprightFilters } from "../encode-args.ts";
import { chunkWindows } from "../../shared/media/quality.ts";
import { makePreview } from "../../shared/media/preview.ts";
import { runPass } from "../encode.ts";
import { type JobContext, type JobOutcome, type JobWork, inJobDir, runJob, skipJob, verifyAndPublish } from "../job.ts";
import { cannotSave, sizeBudget } from "../savings.ts";
import { VerifyError } from "../verify.ts";
import { CONCAT_LIST, buildMerge, concatList } from "./args.ts";
import { encodeChunk } from "./chunk.ts";
import { downloadChecked, removeWork } from "./work.ts";

const PRESIGN_SEC = 24 * 3600;

/** Each stored chunk, checked against its SHA-256; one that does not match is encoded again here. */
async function fetchChunks(ctx: JobContext, job: ChunkJob, plan: ChunkPlan, dir: string, signal: AbortSignal): Promise<string[]> {
  const keys = workKeys(job.jobId);
  const files: string[] = [];
  for (const chunk of plan.chunks) {
    const file = path.join(dir, `out-${String(chunk.index).padStart(4, "0")}.mp4`);
    try {
      await downloadChecked(ctx.clients, keys.output(chunk.index), file);
    } catch (err) {
      ctx.log("chunk_redone", { key: job.key, chunk: chunk.index, error: errorMessage(err) });
      await rename(await encodeChunk(ctx, job, plan, chunk, dir, signal), file);
    }
    files.push(file);
    // The first half of the merge stage is fetching the chunks, the second the joining pass.
    ctx.onStage?.(job, "merge", (0.5 * files.length) / plan.chunks.length);
  }
  return files;
}

/** The preview of the joined output (its video at the chunks' size, the source's audio and rotation); undefined when too small for one. */
async function previewOfJoined(output: string, media: MediaInfo, plan: ChunkPlan, dir: string, stallSec: number): Promise<string | undefined> {
  const file = path.join(dir, PASS_FILES.preview);
  const joined = { ...media, video: { ...media.video, width: plan.width, height: plan.height } };
  return (await makePreview(output, joined, file, { upright: uprightFilters(media.video.rotation), stallSec })) ? file : undefined;
}

/** The work runJob does for the merge message (its own `job`, the ChunkJob, is the one runJob is given). */
function mergeWork(job: ChunkJob, plan: ChunkPlan): JobWork {
  return async (ctx, _job, signal) => {
    const { clients } = ctx;
    const timeoutSec = clients.config.probeTimeoutSec;
    const budget = sizeBudget(job.size, job.mustSave);
    ctx.onStage?.(job, "merge", 0);
    const url = await presignedGetUrl(clients, job.key, PRESIGN_SEC);
    // The duration the chunks placed their keyframes by (the probe's), for the same montage times.
    const media = { ...(await probeMedia(url, { timeoutSec, sizeBytes: job.size })), durationSec: job.durationSec };
    return inJobDir(ctx, job, async (dir) => {
      const files = await fetchChunks(ctx, job, plan, dir, signal);
      const chunksBytes = (await Promise.all(files.map((f) => stat(f)))).reduce((n, s) => n + s.size, 0);
      if (budget !== undefined && chunksBytes > budget) return skipJob(clients, job, `the encoded chunks hold ${chunksBytes} bytes, over the ${budget}-byte budget`);
      await writeFile(path.join(dir, CONCAT_LIST), concatList(plan.chunks.map((c, i) => ({ ...c, file: path.basename(files[i]) }))));
      const mergePlan = buildMerge({
        source: url, media, size: plan, videoOffsetSec: plan.chunks[0].startSec - plan.formatStartSec,
        sampleTimes: job.fingerprints.map((f) => f.t), keyframeTimes: pickVerifyTimes(job.fingerprints),
      });
      for (const note of mergePlan.notes) ctx.log("job_note", { key: job.key, note });
      const joined = await runPass(mergePlan, { dir, signal, onProgress: (p) => {
        ctx.onProgress?.(job, p);
        ctx.onStage?.(job, "merge", 0.5 + (0.5 * p.outTimeSec) / media.durationSec);
      }, shouldStop: (p) => cannotSave(p, media.durationSec, budget) });
      // The merge decodes keyframes only: the preview is made from the joined output, in a pass of its own.
      const pass = joined.kind === "encoded" ? { ...joined, preview: await previewOfJoined(joined.output, media, plan, dir, timeoutSec) } : joined;
      const expected = plan.chunks.reduce((n, c) => n + c.frames, 0);
      // av1an's "FRAME MISMATCH": a chunk that lost or gained frames shifts everything after it.
      const countFrames = async (output: string) => {
        const frames = await countVideoFrames(output, timeoutSec);
        if (frames !== expected) throw new VerifyError(`output failed verification: ${frames} frames, the source has ${expected}`);
      };
      // One quality window per chunk, so a bad chunk shows in the record.
      const windows = chunkWindows(plan.chunks, plan.formatStartSec);
      return verifyAndPublish(ctx, job, pass, { plan: mergePlan, media, budget, source: url, qualityWindows: windows, perChunk: true, check: countFrames }, signal);
    });
  };
}

export async function mergeChunks(ctx: JobContext, job: ChunkJob, merging: MergeClaim, claim: string, signal: AbortSignal): Promise<JobOutcome> {
  const { clients } = ctx;
  const keys = workKeys(job.jobId);
  const plan = await readJson(clients, keys.plan, ChunkPlan);
  // No plan: an earlier merge got as far as removing the work, so runJob finds the output published.
  const outcome = await runJob(ctx, job, signal, claim, plan ? mergeWork(job, plan) : async () => {
    throw new Error(`the chunks of ${job.key} are gone before it was published; it has to be planned again`);
  });
  // Held: another attempt merges (or did, and died): the message comes back, the work stays.
  if (outcome.kind === "held") return outcome;
  if (outcome.kind === "compressed") {
    await updateRecord(clients, outcome.outputKey, (cur) => (cur && cur.state === "compressed" && cur.chunks !== merging.chunks ? { ...cur, chunks: merging.chunks } : undefined));
  }
  await removeWork(clients, keys);
  return outcome;
}
