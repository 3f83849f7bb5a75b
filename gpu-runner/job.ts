// One EncodeJob from start to end: find where it stands, encode (one pass), skip when it cannot save
// enough, verify, publish. Anything it throws is retried by the queue; the third failure is final.
import { randomBytes } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { rm, stat } from "node:fs/promises";
import type { Clients } from "../shared/io/clients.ts";
import { probeMedia } from "../shared/media/ffprobe.ts";
import { fingerprintVideo } from "../shared/media/fingerprint.ts";
import { readRecord, updateRecord } from "../shared/io/manifest.ts";
import { previewKeyFor, skipKeyFor } from "../shared/rules/naming.ts";
import type { EncodeJob, ManifestRecord, MediaInfo, Quality } from "../shared/schemas.ts";
import { COMPAT } from "../shared/rules/profiles.ts";
import { profileCodec, profileVideoArgs } from "./profile-args.ts";
import { DEFAULT_MIN_SSIM, FULL_MEASURE_SEC, type QualityWindow, belowFloor, qualitySample, qualityWindows } from "../shared/media/quality.ts";
import { objectCreatedRecord, sendEventRecords } from "../shared/io/event-records.ts";
import { SourceChangedError, findCopy, headObject, presignedGetUrl, type ObjectHead } from "../shared/io/objects.ts";
import { errorMessage } from "../shared/errors.ts";
import { readableReason } from "../shared/rules/failure-reasons.ts";
import { buildPass, type EncoderKind, type PassPlan, networkArgs, pickVerifyTimes, targetSize } from "./encode-args.ts";
import { EncodeError, runPass, type PassOptions, type PassResult } from "./encode.ts";
import type { EncodeProgress } from "./ffmpeg-progress.ts";
import { SHA256, jobState, montageKeyFor } from "./job-state.ts";
import { claimJob, extendLease, leaseFor, type Lease } from "./claim.ts";
import { finish, publish, sha256File, skipSource } from "./publish.ts";
import { cannotSave, sizeBudget } from "./savings.ts";
import { verifyMeasured } from "./verify.ts";
import type { Log } from "../shared/log.ts";
import type { Stage } from "../shared/rules/job-progress.ts";
import type { LibraryFolder } from "./source.ts";

export type JobContext = {
  clients: Clients;
  runnerId: string;
  encoder: EncoderKind;
  x264Preset: string;
  /** REELPRESS_MIN_SSIM: an output below it is refused (DEFAULT_MIN_SSIM when unset; 0 turns it off). */
  minSsim?: number;
  /** A fresh local folder for this job (never named after the key). */
  jobDir(): Promise<string>;
  /** How long a claim lasts unless renewed; the heartbeat renews it every third of that. */
  leaseSec: number;
  /** Wait before trying again when every NVENC session is taken. */
  busyRetryMs: number;
  log: Log;
  onProgress?(job: EncodeJob, p: EncodeProgress | undefined): void;
  /** Where the job stands: `fraction` (0–1) of `stage`, for status and the dashboard. */
  onStage?(job: EncodeJob, stage: Stage, fraction: number): void;
  /** The folder the store serves (REELPRESS_LIBRARY_DIR): a split reads its source there, in place, when provably the job's. */
  library?: LibraryFolder;
  /** Called with a job folder at its fullest (a split part done, not yet stored and freed): tests and the bench measure it. */
  onFolderFull?(dir: string): void;
};

export type JobOutcome =
  /** `resumed`: an earlier attempt had published it; only the last steps ran. */
  | { kind: "compressed"; outputKey: string; savedBytes: number; backupKey: string; resumed?: boolean }
  /** `stoppedAtSec`: where the encode was stopped early, when it was. */
  | { kind: "skipped"; skipKey: string; reason: string; stoppedAtSec?: number }
  | { kind: "dropped"; reason: string }
  /** Another attempt holds a live claim (a duplicate delivery), or took this one's over: hand the message back. */
  | { kind: "held"; by: string; retryAfterSec: number }
  /** A long source was split (gpu-runner/chunked/): its chunks are queued, the merge publishes it. */
  | { kind: "chunked"; chunks: number }
  /** One chunk of a chunked job is stored; `done` of `total` are. */
  | { kind: "chunk"; index: number; done: number; total: number };

/** What a job does once it holds the claim: the one-pass encode, or a chunked job's split or merge. */
export type JobWork = (ctx: JobContext, job: EncodeJob, signal: AbortSignal) => Promise<JobOutcome>;

export const PRESIGN_SEC = 24 * 3600;
const BUSY_RETRIES = 20;

/** The state of the keys a job touches, and the source's record; a skip copy is looked for only once the source is gone. */
async function readState(clients: Clients, job: EncodeJob) {
  const sameKey = job.outputKey === job.key;
  const [source, output, record] = await Promise.all([headObject(clients, job.key), sameKey ? undefined : headObject(clients, job.outputKey), readRecord(clients, job.key)]);
  const skip = source ? undefined : await findCopy(clients, skipKeyFor(job.key), (h) => h.size === job.size);
  return jobState(job, { source, output: sameKey ? source : output, skip }, record?.record);
}

/** The object changed after planning: its current version goes through probe and strategy again. */
function replan(clients: Clients, current: ObjectHead): Promise<void> {
  return sendEventRecords(clients, [objectCreatedRecord(clients.config.bucket, current)]);
}

/**
 * Renews the claim every third of the lease with a conditional write. When the claim is lost (another
 * runner took over an expired lease) it aborts `controller` at once: two runners never work one job.
 */
function leaseHeartbeat(ctx: JobContext, job: EncodeJob, claim: string, controller: AbortController) {
  const beat = async () => {
    if (!(await extendLease(ctx.clients, job, leaseFor(ctx.runnerId, job, claim, ctx.leaseSec)))) {
      ctx.log("lease_lost", { key: job.key, jobId: job.jobId });
      controller.abort(new LeaseLostError(job.key));
    }
  };
  let last: Promise<unknown> = Promise.resolve();
  const timer = setInterval(() => {
    last = last.then(beat).catch((err) => ctx.log("heartbeat_error", { key: job.key, error: errorMessage(err) }));
  }, (ctx.leaseSec * 1000) / 3);
  return async () => {
    clearInterval(timer);
    await last;
  };
}

class LeaseLostError extends Error {
  constructor(key: string) {
    super(`another runner took over the claim on ${key}`);
    this.name = "LeaseLostError";
  }
}

export async function encodeWithRetry(ctx: JobContext, plan: Parameters<typeof runPass>[0], opts: PassOptions): Promise<PassResult> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await runPass(plan, opts);
    } catch (err) {
      if (!(err instanceof EncodeError && err.busy) || attempt >= BUSY_RETRIES) throw err;
      ctx.log("encoder_busy", { attempt, error: err.message });
      await sleep(ctx.busyRetryMs, undefined, { signal: opts.signal });
    }
  }
}

/** The output was published by an earlier attempt that died before the end: finish from what is stored. */
async function resume(ctx: JobContext, job: EncodeJob, output: ObjectHead): Promise<JobOutcome> {
  const { clients } = ctx;
  const url = await presignedGetUrl(clients, job.outputKey);
  const timeoutSec = clients.config.probeTimeoutSec;
  const [media, fingerprints, montage, preview] = await Promise.all([
    probeMedia(url, { timeoutSec, sizeBytes: output.size }),
    fingerprintVideo(url, { durationSec: job.durationSec, count: clients.config.fingerprintCount, timeoutSec }),
    headObject(clients, montageKeyFor(job.outputKey)),
    headObject(clients, previewKeyFor(job.outputKey)),
  ]);
  const done = await finish(clients, job, { output, sha256: output.metadata[SHA256], media, fingerprints, montageKey: montage?.key, previewKey: preview?.key, encode: { profile: job.profile ?? COMPAT } });
  return { kind: "compressed", outputKey: job.outputKey, savedBytes: done.savedBytes, backupKey: done.backupKey, resumed: true };
}

/** The encode cannot save what the job must: the source is skipped (renamed `_skip`, or its name kept). */
export async function skipJob(clients: Clients, job: EncodeJob, why: string, stoppedAtSec?: number): Promise<JobOutcome> {
  const reason = `re-encoding cannot save ${Math.round(job.mustSave * 100)} %: ${why}`;
  return { kind: "skipped", skipKey: await skipSource(clients, job, reason), reason, stoppedAtSec };
}

/** The output fell below REELPRESS_MIN_SSIM: refused as must-save refuses a size, the source kept as `_skip` with the figures. */
export async function refuseQuality(clients: Clients, job: EncodeJob, why: string, quality: Quality): Promise<JobOutcome> {
  const reason = `re-encoding loses too much picture: ${why}`;
  return { kind: "skipped", skipKey: await skipSource(clients, job, reason, { quality }), reason };
}

/** Runs `work` in a fresh job folder, removed afterwards with the job's progress entry. */
export async function inJobDir<T>(ctx: JobContext, job: EncodeJob, work: (dir: string) => Promise<T>): Promise<T> {
  const dir = await ctx.jobDir();
  try {
    return await work(dir);
  } finally {
    ctx.onProgress?.(job, undefined);
    await rm(dir, { recursive: true, force: true });
  }
}

export type PassCheck = {
  /** The plan the pass ran; the output is verified against it and the source's `media`. */
  plan: PassPlan;
  media: MediaInfo;
  budget: number | undefined;
  /** The source (a presigned URL), and where to compare the output with it. */
  source: string;
  qualityWindows: QualityWindow[];
  /** Each window is one chunk's (a chunked job). */
  perChunk?: boolean;
  /** A further check of the output (a merge counts its frames), run beside the verification. */
  check?(output: string): Promise<void>;
  /** What the output's record says it was made with; the job's profile alone when not given. */
  encode?: NonNullable<ManifestRecord["encode"]>;
};

/**
 * The end every encode shares, one pass or a merge: skip when the output cannot save enough, verify it
 * against the source and measure its quality, refuse it below the floor, publish. After the abort check
 * it runs to the end.
 */
export async function verifyAndPublish(ctx: JobContext, job: EncodeJob, pass: PassResult, spec: PassCheck, signal: AbortSignal): Promise<JobOutcome> {
  const { clients } = ctx;
  const { budget } = spec;
  if (pass.kind === "cannot-save") return skipJob(clients, job, pass.reason, pass.atSec);
  const { size } = await stat(pass.output);
  if (budget !== undefined && size > budget) return skipJob(clients, job, `output ${size} bytes, over the ${budget}-byte budget`);
  // The last moment a stop hands the job back; once publishing starts it runs to the end.
  signal.throwIfAborted();
  ctx.onStage?.(job, "publish", 0);
  const timeoutSec = clients.config.probeTimeoutSec;
  const [sha256, { media: outMedia, quality }] = await Promise.all([
    sha256File(pass.output),
    // Quality from the pass's quality sample when it kept one; else (or when it is unreadable) from the source again.
    verifyMeasured(
      pass.output,
      { source: spec.media, plan: spec.plan, sourceFingerprints: job.fingerprints, timeoutSec },
      { sample: pass.qualitySample, source: spec.source, sourceOptions: networkArgs(spec.source), size: spec.plan.size, windows: spec.qualityWindows, perChunk: spec.perChunk, stallSec: timeoutSec },
      (why) => ctx.log("quality_sample_unusable", { key: job.key, error: why }),
    ),
    spec.check?.(pass.output),
  ]);
  const low = belowFloor(quality, ctx.minSsim ?? DEFAULT_MIN_SSIM);
  if (low) return refuseQuality(clients, job, low, quality);
  const encode = spec.encode ?? { profile: job.profile ?? COMPAT };
  const done = await publish(clients, job, { file: pass.output, montage: pass.montage, preview: pass.preview, sha256, media: outMedia, fingerprints: pass.fingerprints, quality, encode });
  return { kind: "compressed", outputKey: job.outputKey, savedBytes: done.savedBytes, backupKey: done.backupKey };
}

/**
 * Measuring against the pass's sample decodes the whole output on the CPU: a few percent of an x264 pass
 * at any length, but a long NVENC pass is fast enough for that to matter, so a long video on NVENC is
 * measured on windows of it (which decode 20 s of both files, whatever the length).
 */
export function keepsQualitySample(encoder: EncoderKind, durationSec: number): boolean {
  return encoder === "x264" || durationSec <= FULL_MEASURE_SEC;
}

/** The one-pass encode; also what a long source that cannot be split exactly gets (chunked/split.ts). */
export async function encodeAndPublish(ctx: JobContext, job: EncodeJob, signal: AbortSignal): Promise<JobOutcome> {
  const { clients } = ctx;
  const url = await presignedGetUrl(clients, job.key, PRESIGN_SEC);
  const media = await probeMedia(url, { timeoutSec: clients.config.probeTimeoutSec, sizeBytes: job.size });
  const profile = job.profile ?? COMPAT;
  const videoArgs = profileVideoArgs(ctx.encoder, profile, ctx.x264Preset);
  const size = targetSize(media.video.width, media.video.height, job.downscale);
  const plan = buildPass({
    input: url, media, encoder: ctx.encoder, downscale: job.downscale, sampleTimes: job.fingerprints.map((f) => f.t), keyframeTimes: pickVerifyTimes(job.fingerprints),
    x264Preset: ctx.x264Preset, videoArgs, videoCodec: profileCodec(profile), qualitySample: keepsQualitySample(ctx.encoder, media.durationSec) ? qualitySample(media.durationSec, media.video.fps, size) : undefined,
  });
  for (const note of plan.notes) ctx.log("job_note", { key: job.key, note });
  const budget = sizeBudget(job.size, job.mustSave);
  return inJobDir(ctx, job, async (dir) => {
    const pass = await encodeWithRetry(ctx, plan, {
      dir,
      signal,
      onProgress: (p) => ctx.onProgress?.(job, p),
      shouldStop: (p) => cannotSave(p, media.durationSec, budget),
    });
    return verifyAndPublish(ctx, job, pass, { plan, media, budget, source: url, qualityWindows: qualityWindows(media.durationSec), encode: { profile, encoder: ctx.encoder, videoArgs } }, signal);
  });
}

/** Everything but `ready` settles the job without encoding; undefined means there is work to do. */
async function settle(ctx: JobContext, job: EncodeJob, state: Awaited<ReturnType<typeof readState>>): Promise<JobOutcome | undefined> {
  const { clients } = ctx;
  switch (state.kind) {
    case "published":
      return resume(ctx, job, state.output);
    case "skipped": {
      if (state.skipped.key === job.key) return { kind: "skipped", skipKey: job.key, reason: "re-encoding cannot save enough (found already skipped)" };
      const reason = "re-encoding cannot save enough (found already renamed)";
      return { kind: "skipped", skipKey: await skipSource(clients, job, reason), reason };
    }
    case "gone":
      return { kind: "dropped", reason: "the source is gone" };
    case "changed":
      await replan(clients, state.source);
      return { kind: "dropped", reason: "the source changed since it was planned; re-planned" };
    case "output-taken":
      throw new Error(`${job.outputKey} already holds another object, which is never overwritten`);
    case "ready":
      return undefined;
  }
}

/** A duplicate: visible again when the other attempt's lease runs out, in case its runner died. */
function handBack(by: string, untilMs: number): JobOutcome {
  return { kind: "held", by, retryAfterSec: Math.max(1, Math.ceil((untilMs - Date.now()) / 1000)) };
}

/** A fresh id for one attempt at a job: duplicate deliveries of one message carry the same job id. */
export function newClaim(): string {
  return randomBytes(6).toString("hex");
}

export async function runJob(ctx: JobContext, job: EncodeJob, signal: AbortSignal, claim: string, work: JobWork = encodeAndPublish): Promise<JobOutcome> {
  const { clients } = ctx;
  const early = await settle(ctx, job, await readState(clients, job));
  if (early) return early;
  const lease: Lease = leaseFor(ctx.runnerId, job, claim, ctx.leaseSec);
  let taken = await claimJob(clients, job, lease);
  if (taken.kind === "held") return handBack(taken.by, taken.untilMs);
  // Between the first look and the claim another attempt may have finished: look again, now that we hold it.
  const late = await settle(ctx, job, await readState(clients, job));
  if (late) return late;
  // Superseded, yet the source is still the job's version: the finished record is an old one.
  if (taken.kind === "superseded") taken = await claimJob(clients, job, lease, true);
  if (taken.kind === "held") return handBack(taken.by, taken.untilMs);
  // Stopped by the runner (signal) or by losing the claim (lost).
  const lost = new AbortController();
  const stopHeartbeat = leaseHeartbeat(ctx, job, claim, lost);
  try {
    return await work(ctx, job, AbortSignal.any([signal, lost.signal]));
  } catch (err) {
    if (lost.signal.aborted && !signal.aborted) return handBack("another runner", Date.now() + ctx.leaseSec * 1000);
    if (!(err instanceof SourceChangedError)) throw err;
    // In place, a source that "changed" may be this job's output, published by another attempt.
    const again = await readState(clients, job);
    if (again.kind === "published") return resume(ctx, job, again.output);
    if (again.kind === "changed") await replan(clients, again.source);
    return { kind: "dropped", reason: `${err.message}; re-planned` };
  } finally {
    await stopHeartbeat();
  }
}

/**
 * The source's record after an attempt that did not finish: `failed` with the error on the last try
 * (the queue dead-letters the job next), else back to `planned` (retried, or handed back on stop).
 * Only a record this attempt claims, or one nobody claims, is touched: another attempt's claim stays.
 */
export async function recordUnfinished(ctx: JobContext, job: EncodeJob, claim: string, outcome: { final: boolean; error?: string }): Promise<void> {
  await updateRecord(ctx.clients, job.key, (cur) => {
    // Only this version's record, and never one the job already finished.
    if (cur && (cur.etag !== job.etag || cur.size !== job.size || cur.state === "compressed" || cur.state === "skipped")) return undefined;
    if (cur?.runner && cur.runner.claim !== claim) return undefined;
    const state = outcome.final ? "failed" : "planned";
    return { ...cur, key: job.key, size: job.size, etag: job.etag, state, error: outcome.error, reason: outcome.final && outcome.error ? readableReason(outcome.error, job.key) : cur?.reason, runner: undefined, updatedAt: "" };
  });
}
