// A runner: picks its encoder, clears what dead runners left, and works the encode queue.
import os from "node:os";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Clients } from "../shared/io/clients.ts";
import { errorMessage } from "../shared/errors.ts";
import { durationMsSetting, enumSetting, numberSetting, textSetting } from "../shared/settings.ts";
import { MAX_RECEIVES, VISIBILITY_SEC } from "../shared/io/resources.ts";
import { type Hours, closing, nextOpening, parseHours } from "./hours.ts";
import { readableReason } from "../shared/rules/failure-reasons.ts";
import { gatherStatus, queueDepths } from "../shared/io/library.ts";
import { SYSTEM_PREFIX } from "../shared/rules/naming.ts";
import { type Notifier, notifierFromEnv } from "../shared/io/notify.ts";
import { createMarker, deleteObject } from "../shared/io/objects.ts";
import { retentionPurge } from "../shared/io/backups.ts";
import { RunnerAnnouncer } from "./announce.ts";
import { QueueConsumer, receiveCountOf } from "./consumer.ts";
import { type EncoderPreference, defaultConcurrency, gpuNames, selectEncoder } from "./encoder.ts";
import { sendToDeadLetter } from "../shared/io/dead-letter.ts";
import { parseBody } from "../shared/io/lambda-sqs.ts";
import { type ChunkJob, type EncodeJob, EncodeQueueMessage } from "../shared/schemas.ts";
import type { Stage } from "../shared/rules/job-progress.ts";
import { checkJob } from "./job-check.ts";
import { type JobContext, type JobOutcome, newClaim, recordUnfinished, runJob } from "./job.ts";
import type { Log } from "../shared/log.ts";
import { ProgressBoard } from "./progress.ts";
import { createWorkRoot } from "./workdir.ts";
import { libraryFolder } from "./source.ts";
import { type ChunkSettings, type ProgressJob, chunkSettings, progressId, progressLabel, shouldChunk } from "./chunked/plan.ts";
import { runChunk } from "./chunked/chunk.ts";
import { mergeChunks } from "./chunked/merge.ts";
import { splitJob } from "./chunked/split.ts";
import { archiveAndPublish } from "./archive.ts";
import { COMPAT, sameProfile } from "../shared/rules/profiles.ts";
import { DEFAULT_MIN_SSIM } from "../shared/media/quality.ts";
import { PREVIEW_SWEEP_MS, previewSweep } from "./previews.ts";

const X264_PRESETS = ["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"] as const;

/**
 * Settings a host sets in its environment; tests shorten the visibility and use a fast x264 preset.
 * `hours`: the encode window (REELPRESS_RUNNER_HOURS); none means always. `chunks`: REELPRESS_CHUNK_MIN_SEC and _SEC.
 */
export type RunnerSettings = {
  visibilitySec: number; x264Preset: (typeof X264_PRESETS)[number]; hours?: Hours; chunks: ChunkSettings;
  /** REELPRESS_BACKUP_RETENTION_DAYS: purge older backups when the library goes idle; none means never. */
  retentionDays?: number;
  /** REELPRESS_NOTIFY_RECLAIMABLE_GB, in bytes: say when purgeable backups pass it; none means never. */
  reclaimableNotifyBytes?: number;
  /** REELPRESS_LIBRARY_DIR: the folder the store serves, on this machine; a split reads its source there in place. */
  libraryDir?: string;
  /** REELPRESS_MIN_SSIM: an output below it is refused and the original kept; DEFAULT_MIN_SSIM when unset. */
  minSsim?: number;
  /** REELPRESS_PREVIEW_SWEEP_MIN, in ms: how often an idle runner makes missing previews (gpu-runner/previews.ts); 0 never, unset PREVIEW_SWEEP_MS. */
  previewSweepMs?: number;
};

export function runnerSettings(env: NodeJS.ProcessEnv = process.env): RunnerSettings {
  return {
    visibilitySec: numberSetting(env, "REELPRESS_RUNNER_VISIBILITY", { fallback: VISIBILITY_SEC.encode, unit: "seconds", integer: true, min: 3, max: 43_200, note: "(12 h)" }),
    x264Preset: enumSetting(env, "REELPRESS_X264_PRESET", X264_PRESETS, "medium", "must be an x264 preset (ultrafast … veryslow)"),
    hours: parseHours(env.REELPRESS_RUNNER_HOURS),
    chunks: chunkSettings(env),
    retentionDays: optionalNumber(env, "REELPRESS_BACKUP_RETENTION_DAYS", "days"),
    reclaimableNotifyBytes: (() => {
      const gib = optionalNumber(env, "REELPRESS_NOTIFY_RECLAIMABLE_GB", "GiB");
      return gib === undefined ? undefined : Math.round(gib * 1024 ** 3);
    })(),
    libraryDir: textSetting(env, "REELPRESS_LIBRARY_DIR"),
    minSsim: numberSetting(env, "REELPRESS_MIN_SSIM", { fallback: DEFAULT_MIN_SSIM, min: 0, max: 1, note: "(0 turns the floor off)" }),
    previewSweepMs: durationMsSetting(env, "REELPRESS_PREVIEW_SWEEP_MIN", { fallback: PREVIEW_SWEEP_MS / 60_000, unit: "minutes", min: 0, note: "(0 turns it off)" }),
  };
}

/** Off when unset; else a positive number. */
function optionalNumber(env: NodeJS.ProcessEnv, name: string, unit: string): number | undefined {
  return textSetting(env, name) === undefined ? undefined : numberSetting(env, name, { fallback: 0, unit, positive: true, note: "(unset turns it off)" });
}

export type RunnerOptions = {
  encoder: EncoderPreference;
  /** Jobs at once; by default one per NVENC engine (within the driver's session cap), else one. */
  concurrency?: number;
  /** Exit once the encode queue is empty and nothing is in flight. */
  untilDrained?: boolean;
  settings: RunnerSettings;
  log: Log;
  /** Where job folders go; <tmpdir>/reelpress-runner by default. */
  workBase?: string;
  /** The clock the encode window is read from (tests move it). */
  now?: () => Date;
  /** Where failures and "nothing left to do" go; REELPRESS_NOTIFY_URL by default. */
  notifier?: Notifier;
  /** Called with a job folder at its fullest (see JobContext): tests and the bench measure it. */
  onFolderFull?(dir: string): void;
};

export type Runner = {
  id: string;
  encoder: string;
  concurrency: number;
  /** Takes no more jobs; stops running encodes and returns their messages (a job already publishing finishes). */
  stop(): Promise<void>;
  finished(): Promise<void>;
};

/**
 * "Nothing left to do", once per idle period of the whole flow: after a runner's last job ends, when no
 * queue holds a message, the runner that creates LIBRARY_DONE_KEY (If-None-Match) sends it; a runner
 * taking a job removes the key. Taking a job between another runner's look at the queues and its write
 * can still cost that period's message; two runners finishing together never send two.
 */
const FLOW_QUEUES = ["ingest", "plan", "encode"];
export const LIBRARY_DONE_KEY = `${SYSTEM_PREFIX}notify/library_done`;

/** True for the one caller that announces this idle period. */
export function claimLibraryDone(clients: Clients): Promise<boolean> {
  return createMarker(clients, LIBRARY_DONE_KEY);
}

/** Work arrived: the next idle period is announced again. */
export function clearLibraryDone(clients: Clients): Promise<void> {
  return deleteObject(clients, LIBRARY_DONE_KEY);
}

/** A chunk message: its chunk, then the merge when the merge claim names this message. */
async function chunkThenMerge(ctx: JobContext, job: ChunkJob, messageId: string, claim: string, signal: AbortSignal): Promise<JobOutcome> {
  const outcome = await runChunk(ctx, job, messageId, signal);
  return outcome.kind === "merge" ? mergeChunks(ctx, job, outcome.merging, claim, signal) : outcome;
}

/** Made when purgeable backups pass REELPRESS_NOTIFY_RECLAIMABLE_GB, removed when they fall below: one message per crossing. */
export const RECLAIMABLE_KEY = `${SYSTEM_PREFIX}notify/backups_reclaimable`;

type IdleSettings = Pick<RunnerSettings, "retentionDays" | "reclaimableNotifyBytes">;

/** Once per idle period: the retention purge, then "nothing left to do" and the reclaimable threshold. */
async function whenIdle(clients: Clients, notifier: Notifier, log: Log, settings: IdleSettings): Promise<void> {
  const { retentionDays, reclaimableNotifyBytes: threshold } = settings;
  if (retentionDays !== undefined) {
    const purged = await retentionPurge(clients, retentionDays);
    if (purged) {
      const deleted = purged.filter((o) => o.deleted);
      log("backups_purged", { older_than_days: retentionDays, deleted: deleted.length, bytes: deleted.reduce((n, o) => n + o.size, 0), changed: purged.length - deleted.length });
    }
  }
  if (!notifier.enabled) return;
  const { summary } = await gatherStatus(clients);
  const { bucket, prefix, backupPrefix } = clients.config;
  const { disk } = summary;
  await notifier.send({
    event: "library_done", bucket, prefix, compressed: summary.compressed.count, skipped: summary.skipped.count, failed: summary.failed.count, saved_bytes: summary.saved_bytes,
    disk_bytes: disk.total_bytes, backup_bytes: disk.backup_bytes, reclaimable_bytes: disk.reclaimable_bytes,
  });
  if (threshold === undefined) return;
  if (disk.reclaimable_bytes < threshold) return void (await deleteObject(clients, RECLAIMABLE_KEY));
  if (await createMarker(clients, RECLAIMABLE_KEY)) {
    await notifier.send({ event: "backups_reclaimable", bucket, backup_prefix: backupPrefix, reclaimable_bytes: disk.reclaimable_bytes, backup_bytes: disk.backup_bytes, disk_bytes: disk.total_bytes, threshold_bytes: threshold });
  }
}

function drainWatch(clients: Clients, consumer: QueueConsumer, notifier: Notifier, log: Log, settings: IdleSettings) {
  let busy = false;
  return {
    busy: () => {
      busy = true;
      clearLibraryDone(clients).catch((err) => log("notify.error", { error: errorMessage(err) }));
    },
    check: () => {
      if (!busy) return;
      // Settled messages leave `active` just after this event, so the count is read after a query.
      void (async () => {
        const depths = await queueDepths(clients, FLOW_QUEUES);
        const waiting = FLOW_QUEUES.reduce((n, role) => n + depths[role].visible + depths[role].in_flight, 0);
        if (waiting > 0 || !busy || consumer.active > 0) return;
        busy = false;
        if (!(await claimLibraryDone(clients))) return;
        await whenIdle(clients, notifier, log, settings);
      })().catch((err) => log("notify.error", { error: errorMessage(err) }));
    },
  };
}

export async function startRunner(clients: Clients, opts: RunnerOptions): Promise<Runner> {
  const id = `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const board = process.stderr.isTTY ? new ProgressBoard() : undefined;
  const log: Log = board ? (e, f, t) => board.around(() => opts.log(e, f, t)) : opts.log;
  const choice = await selectEncoder(opts.encoder);
  const library = opts.settings.libraryDir ? await libraryFolder(opts.settings.libraryDir) : undefined;
  const work = await createWorkRoot(opts.workBase);
  if (work.removed.length) log("stale_work_removed", { folders: work.removed });
  const concurrency = opts.concurrency ?? defaultConcurrency(choice.encoder, await gpuNames());
  log("runner_started", { runner: id, encoder: choice.encoder, reason: choice.reason, concurrency, ...(library ? { library: library.layout.root } : {}) }, `runner ${id}: ${choice.encoder} (${choice.reason}), ${concurrency} at once`);

  const { visibilitySec, x264Preset, hours, chunks: chunking, minSsim } = opts.settings;
  const notifier = opts.notifier ?? notifierFromEnv(process.env, log);
  const announcer = new RunnerAnnouncer(clients, { id, encoder: choice.encoder, concurrency, ...(hours ? { hours: hours.text } : {}) }, log);
  announcer.start();
  const now = opts.now ?? (() => new Date());
  /** Where the encode window stands now; a change is logged and announced once. */
  let wasPaused = false;
  const window = hours && (() => {
    const at = now();
    const opens = nextOpening(hours, at);
    const paused = opens > at;
    if (paused !== wasPaused) {
      wasPaused = paused;
      if (paused) log("runner_paused", { hours: hours.text, resumes_at: opens.toISOString() }, `outside REELPRESS_RUNNER_HOURS ${hours.text}: no new jobs until ${opens.toLocaleString()}`);
      else log("runner_resumed", { hours: hours.text });
    }
    announcer.paused(paused ? opens : undefined);
    return { pausedMs: opens.getTime() - at.getTime(), openMs: paused ? 0 : closing(hours, at).getTime() - at.getTime() };
  });
  const speeds = new Map<string, number | undefined>();
  const onStage = (job: EncodeJob & ProgressJob, stage: Stage, fraction: number) => {
    const view = announcer.jobStage(job, stage, fraction);
    if (board && view) board.update(progressId(job), { label: progressLabel(job), ...view, speed: speeds.get(progressId(job)) });
  };
  const ctx: JobContext = {
    clients,
    runnerId: id,
    encoder: choice.encoder,
    x264Preset,
    minSsim: minSsim ?? DEFAULT_MIN_SSIM,
    jobDir: () => work.jobDir(),
    // A claim lasts as long as the message stays invisible: both are renewed every third of it.
    leaseSec: visibilitySec,
    busyRetryMs: 30_000,
    log,
    library,
    onFolderFull: opts.onFolderFull,
    onProgress: (job, p) => {
      if (!p) return board?.remove(progressId(job));
      announcer.jobProgress(job, p);
      speeds.set(progressId(job), p.speed);
      // A one-pass encode's progress is its stage's; chunks and merges tell theirs (chunked/).
      if (!("chunk" in job)) onStage(job, "encode", p.outTimeSec / job.durationSec);
    },
    onStage,
  };

  const deadLetterUrl = await clients.queueUrl(clients.config.queues.encodeDlq);
  const consumer = new QueueConsumer({
    sqs: clients.sqs,
    queueUrl: await clients.queueUrl(clients.config.queues.encode),
    concurrency,
    visibilitySec,
    retryAfterSec: Math.min(60, Math.ceil(visibilitySec / 3)),
    untilDrained: opts.untilDrained,
    window,
    async handle(message, signal) {
      const attempt = receiveCountOf(message);
      let received: EncodeQueueMessage;
      try {
        received = parseBody(EncodeQueueMessage, message.Body ?? "");
      } catch (err) {
        // It never will parse: straight to the dead-letter queue, where someone can look at it.
        const reason = `not an EncodeJob: ${errorMessage(err)}`;
        await sendToDeadLetter(clients.sqs, deadLetterUrl, message.Body ?? "", reason);
        log("job_invalid", { messageId: message.MessageId, attempt, error: reason });
        return { kind: "done" };
      }
      const { job } = received;
      const refusal = await checkJob(clients, job);
      if (refusal) {
        const reason = `refused: ${refusal}`;
        await sendToDeadLetter(clients.sqs, deadLetterUrl, message.Body ?? "", reason);
        log("job_refused", { messageId: message.MessageId, key: job.key, jobId: job.jobId, error: reason });
        return { kind: "done" };
      }
      const started = Date.now();
      const claim = newClaim();
      log("job_started", { key: job.key, jobId: job.jobId, attempt, claim });
      announcer.jobStarted(job);
      try {
        const outcome = received.kind === "chunk"
          ? await chunkThenMerge(ctx, received.job, message.MessageId!, claim, signal)
          : job.profile?.base === "archive" ? await runJob(ctx, job, signal, claim, archiveAndPublish)
          // Chunks are encoded with compat's settings only (chunked/args.ts): other profiles run in one pass.
          : shouldChunk(job.durationSec, chunking) && sameProfile(job.profile, COMPAT) ? await splitJob(ctx, job, signal, claim, chunking) : await runJob(ctx, job, signal, claim);
        log(`job_${outcome.kind}`, { key: job.key, jobId: job.jobId, ...outcome, seconds: (Date.now() - started) / 1000 });
        return outcome.kind === "held" ? { kind: "retry", retryAfterSec: outcome.retryAfterSec } : { kind: "done" };
      } catch (err) {
        const final = !signal.aborted && attempt >= MAX_RECEIVES;
        const error = signal.aborted ? undefined : errorMessage(err).split("\n")[0].slice(0, 500);
        await recordUnfinished(ctx, job, claim, { final, error }).catch((e) => log("manifest_error", { key: job.key, error: errorMessage(e) }));
        if (!signal.aborted) log("job_failed", { key: job.key, jobId: job.jobId, attempt, final, error });
        if (final && error) void notifier.send({ event: "file_failed", bucket: clients.config.bucket, key: job.key, reason: readableReason(error, job.key), error, stage: "encode" });
        throw err;
      } finally {
        announcer.jobEnded(job);
        speeds.delete(progressId(job));
        board?.remove(progressId(job));
      }
    },
  });
  consumer.on("released", (m) => log("job_handed_back", { messageId: m.MessageId }));
  // Watching costs queue and store reads, so only when someone is told or a retention is set.
  if (notifier.enabled || opts.settings.retentionDays !== undefined) {
    const whenDrained = drainWatch(clients, consumer, notifier, log, opts.settings);
    consumer.on("received", whenDrained.busy);
    consumer.on("done", whenDrained.check);
    consumer.on("retry", whenDrained.check);
  }
  consumer.on("queue_error", (err) => log("queue_error", { error: errorMessage(err) }));
  consumer.start();
  const sweep = previewSweep(clients, log, opts.settings.previewSweepMs ?? PREVIEW_SWEEP_MS, () => consumer.active === 0);
  const finished = consumer.finished().finally(() => Promise.all([sweep.stop(), work.dispose(), announcer.stop()]));
  return {
    id,
    encoder: choice.encoder,
    concurrency,
    async stop() {
      await consumer.stop();
      await finished;
    },
    finished: () => finished,
  };
}
