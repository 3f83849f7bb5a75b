// A runner: picks its encoder, clears what dead runners left, and works the encode queue.
import os from "node:os";
import { randomBytes } from "node:crypto";
import { z } from "zod";
import type { Clients } from "../shared/clients.ts";
import { UserError, errorMessage } from "../shared/errors.ts";
import { MAX_RECEIVES, VISIBILITY_SEC } from "../shared/resources.ts";
import { QueueConsumer, receiveCountOf } from "./consumer.ts";
import { type EncoderPreference, defaultConcurrency, gpuNames, selectEncoder } from "./encoder.ts";
import { sendToDeadLetter } from "../shared/dead-letter.ts";
import { type JobContext, type Log, newClaim, parseJob, recordUnfinished, runJob } from "./job.ts";
import { ProgressBoard } from "./progress.ts";
import { createWorkRoot } from "./workdir.ts";

/** Settings a host sets in its environment; tests shorten the visibility and use a fast x264 preset. */
const Settings = z.object({
  visibilitySec: z.coerce.number().int().min(3, "must be at least 3 seconds").max(43_200, "must be at most 43200 (12 h)"),
  x264Preset: z.enum(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow"], {
    error: "must be an x264 preset (ultrafast … veryslow)",
  }),
});
export type RunnerSettings = z.infer<typeof Settings>;

export function runnerSettings(env: NodeJS.ProcessEnv = process.env): RunnerSettings {
  const raw = { visibilitySec: env.REELPRESS_RUNNER_VISIBILITY || String(VISIBILITY_SEC.encode), x264Preset: env.REELPRESS_X264_PRESET || "medium" };
  const parsed = Settings.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const name = issue.path[0] === "visibilitySec" ? "REELPRESS_RUNNER_VISIBILITY" : "REELPRESS_X264_PRESET";
  throw new UserError(`Bad setting ${name} = ${JSON.stringify(raw[issue.path[0] as keyof typeof raw])}: ${issue.message}.`);
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
};

export type Runner = {
  id: string;
  encoder: string;
  concurrency: number;
  /** Takes no more jobs; stops running encodes and returns their messages (a job already publishing finishes). */
  stop(): Promise<void>;
  finished(): Promise<void>;
};

export async function startRunner(clients: Clients, opts: RunnerOptions): Promise<Runner> {
  const id = `${os.hostname()}:${process.pid}:${randomBytes(3).toString("hex")}`;
  const board = process.stderr.isTTY ? new ProgressBoard() : undefined;
  const log: Log = board ? (e, f, t) => board.around(() => opts.log(e, f, t)) : opts.log;
  const choice = await selectEncoder(opts.encoder);
  const work = await createWorkRoot(opts.workBase);
  if (work.removed.length) log("stale_work_removed", { folders: work.removed });
  const concurrency = opts.concurrency ?? defaultConcurrency(choice.encoder, await gpuNames());
  log("runner_started", { runner: id, encoder: choice.encoder, reason: choice.reason, concurrency }, `runner ${id}: ${choice.encoder} (${choice.reason}), ${concurrency} at once`);

  const { visibilitySec, x264Preset } = opts.settings;
  const ctx: JobContext = {
    clients,
    runnerId: id,
    encoder: choice.encoder,
    x264Preset,
    jobDir: () => work.jobDir(),
    // A claim lasts as long as the message stays invisible: both are renewed every third of it.
    leaseSec: visibilitySec,
    busyRetryMs: 30_000,
    log,
    onProgress: board
      ? (job, p) => (p ? board.update(job.jobId, { label: job.key, durationSec: job.durationSec, outTimeSec: p.outTimeSec, speed: p.speed }) : board.remove(job.jobId))
      : undefined,
  };

  const deadLetterUrl = await clients.queueUrl(clients.config.queues.encodeDlq);
  const consumer = new QueueConsumer({
    sqs: clients.sqs,
    queueUrl: await clients.queueUrl(clients.config.queues.encode),
    concurrency,
    visibilitySec,
    retryAfterSec: Math.min(60, Math.ceil(visibilitySec / 3)),
    untilDrained: opts.untilDrained,
    async handle(message, signal) {
      const attempt = receiveCountOf(message);
      const job = parseJob(message.Body);
      if (typeof job === "string") {
        // It never will parse: straight to the dead-letter queue, where someone can look at it.
        const reason = `not an EncodeJob: ${job}`;
        await sendToDeadLetter(clients.sqs, deadLetterUrl, message.Body ?? "", reason);
        log("job_invalid", { messageId: message.MessageId, attempt, error: reason });
        return { kind: "done" };
      }
      const started = Date.now();
      const claim = newClaim();
      log("job_started", { key: job.key, jobId: job.jobId, attempt, claim });
      try {
        const outcome = await runJob(ctx, job, signal, claim);
        log(`job_${outcome.kind}`, { key: job.key, jobId: job.jobId, ...outcome, seconds: (Date.now() - started) / 1000 });
        return outcome.kind === "held" ? { kind: "retry", retryAfterSec: outcome.retryAfterSec } : { kind: "done" };
      } catch (err) {
        const final = !signal.aborted && attempt >= MAX_RECEIVES;
        const error = signal.aborted ? undefined : errorMessage(err).split("\n")[0].slice(0, 500);
        await recordUnfinished(ctx, job, claim, { final, error }).catch((e) => log("manifest_error", { key: job.key, error: errorMessage(e) }));
        if (!signal.aborted) log("job_failed", { key: job.key, jobId: job.jobId, attempt, final, error });
        throw err;
      }
    },
  });
  consumer.on("released", (m) => log("job_handed_back", { messageId: m.MessageId }));
  consumer.on("queue_error", (err) => log("queue_error", { error: errorMessage(err) }));
  consumer.start();
  const finished = consumer.finished().finally(() => work.dispose());
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
