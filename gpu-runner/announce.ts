// Keeps this runner's object under .reelpress/runners/ current: its running jobs with their progress,
// and while its encode window is closed, when it resumes. Writes go out when something changed (at
// most every PROGRESS_MS) and at least every RUNNER_REFRESH_MS, so a dead runner's object goes stale.
import type { Clients } from "../shared/io/clients.ts";
import { errorMessage } from "../shared/errors.ts";
import { RUNNER_REFRESH_MS, deleteRunner, putRunner } from "../shared/io/runners.ts";
import { type ProgressJob, progressId } from "./chunked/plan.ts";
import type { EncodeJob, RunnerStatus } from "../shared/schemas.ts";
import type { EncodeProgress } from "./ffmpeg-progress.ts";
import type { Log } from "../shared/log.ts";
import { type Stage, StageClock } from "../shared/rules/job-progress.ts";

const PROGRESS_MS = 10_000;

type Identity = Pick<RunnerStatus, "id" | "encoder" | "concurrency" | "hours">;

export class RunnerAnnouncer {
  readonly #clients: Clients;
  readonly #identity: Identity;
  readonly #log: Log;
  readonly #jobs = new Map<string, RunnerStatus["jobs"][number]>();
  readonly #clocks = new Map<string, StageClock>();
  #pausedUntil: string | undefined;
  #dirty = true;
  #lastWrite = 0;
  #writing: Promise<void> = Promise.resolve();
  #timer: NodeJS.Timeout | undefined;

  constructor(clients: Clients, identity: Identity, log: Log) {
    this.#clients = clients;
    this.#identity = identity;
    this.#log = log;
  }

  start(): void {
    this.#flush();
    this.#timer = setInterval(() => {
      if (this.#dirty || Date.now() - this.#lastWrite >= RUNNER_REFRESH_MS) this.#flush();
    }, PROGRESS_MS);
  }

  jobStarted(job: EncodeJob & ProgressJob): void {
    const chunks = job.chunk ? { chunks_done: job.chunk.done ?? 0, chunks_total: job.chunk.total } : {};
    this.#jobs.set(progressId(job), { key: job.key, job_id: job.jobId, started_at: new Date().toISOString(), duration_sec: job.durationSec, out_time_sec: 0, ...chunks });
    this.#dirty = true;
  }

  jobProgress(job: EncodeJob & ProgressJob, p: EncodeProgress): void {
    const entry = this.#jobs.get(progressId(job));
    if (!entry) return;
    // A chunk's progress is over the chunk's own length, with the count of chunks stored when it began.
    const chunk = job.chunk?.done !== undefined ? { duration_sec: job.durationSec, chunks_done: job.chunk.done } : {};
    this.#jobs.set(progressId(job), { ...entry, out_time_sec: p.outTimeSec, ...(p.speed !== undefined ? { speed: p.speed } : {}), ...chunk });
    this.#dirty = true;
  }

  /**
   * The job is at `fraction` of `stage`; returns its percentage and ETA. A new stage, or the first progress
   * of a job, is written at once: the dashboard never waits a whole interval to see a job move.
   */
  jobStage(job: EncodeJob & ProgressJob, stage: Stage, fraction: number): ReturnType<StageClock["view"]> {
    const id = progressId(job);
    const clock = this.#clocks.get(id) ?? new StageClock(job.chunk !== undefined || stage !== "encode");
    this.#clocks.set(id, clock);
    const before = clock.view(Date.now())?.percent ?? 0;
    const changed = clock.update(stage, fraction, Date.now());
    const view = clock.view(Date.now());
    if (!this.#jobs.has(id)) return view;
    this.#dirty = true;
    if (changed || (before === 0 && view!.percent > 0)) this.#flush();
    return view;
  }

  jobEnded(job: EncodeJob & ProgressJob): void {
    this.#clocks.delete(progressId(job));
    this.#dirty = this.#jobs.delete(progressId(job)) || this.#dirty;
  }

  /** Window closed until `until`, or open again (undefined); written at once, status shows it. */
  paused(until: Date | undefined): void {
    const next = until?.toISOString();
    if (next === this.#pausedUntil) return;
    this.#pausedUntil = next;
    this.#flush();
  }

  async stop(): Promise<void> {
    clearInterval(this.#timer);
    await this.#writing;
    await deleteRunner(this.#clients, this.#identity.id).catch((err) => this.#log("runner_status_error", { error: errorMessage(err) }));
  }

  #flush(): void {
    this.#dirty = false;
    this.#lastWrite = Date.now();
    const status: RunnerStatus = {
      ...this.#identity,
      ...(this.#pausedUntil ? { paused_until: this.#pausedUntil } : {}),
      jobs: [...this.#jobs].map(([id, entry]) => {
        const view = this.#clocks.get(id)?.view(Date.now());
        return view ? { ...entry, stage: view.stage, percent: view.percent, ...(view.etaSec !== undefined ? { eta_sec: view.etaSec } : {}) } : entry;
      }),
      updated_at: new Date().toISOString(),
    };
    // One write at a time, in order: the last state is the one that stays.
    this.#writing = this.#writing
      .then(() => putRunner(this.#clients, status))
      .catch((err) => this.#log("runner_status_error", { error: errorMessage(err) }));
  }
}
