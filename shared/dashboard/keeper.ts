// One overview for every tab. The last one computed is kept and served at once, with its age, while at
// most one recomputation runs behind it, shared by every request. It is recomputed only when something
// changed: `changed()` (in `dev`, the folder store's own writes), or the live parts (queue depths and
// runners' jobs, a few cheap calls, read at most every `liveMs`) differ from the kept ones; where nothing
// reports writes (the Lambda, MinIO), also once the kept one is older than `maxAgeMs`.
import { errorMessage } from "../errors.ts";
import type { StatusSummary } from "../schemas.ts";
import type { Overview } from "./overview.ts";

export type LiveParts = Pick<StatusSummary, "queues" | "runners">;

export type KeeperOptions = {
  compute(): Promise<Overview>;
  live(): Promise<LiveParts>;
  liveMs: number;
  maxAgeMs: number;
  /** A computation starts at least this long after the last one ended, and twice its duration: a busy
   *  library never keeps the dashboard computing more than a third of the time. */
  minGapMs: number;
  now?: () => number;
};

/** What a request gets: the kept overview, how old it is, and whether a fresher one is on its way. */
export type ServedOverview = Overview & { age_sec: number; refreshing: boolean; refresh_error?: string };

/** Pure: the runners' jobs without their progress; a change here changes counts, progress alone does not. */
function jobSets(runners: StatusSummary["runners"]): string {
  return JSON.stringify(runners.map((r) => [r.id, r.paused_until, r.jobs.map((j) => j.job_id + j.key).sort()]));
}

export class OverviewKeeper {
  readonly #opts: KeeperOptions;
  readonly #now: () => number;
  #kept: { overview: Overview; at: number } | undefined;
  #computing: Promise<Overview> | undefined;
  #checking = false;
  #dirty = false;
  #lastLive = 0;
  #lastEnd = 0;
  #lastDuration = 0;
  #timer: NodeJS.Timeout | undefined;
  #error: string | undefined;

  constructor(opts: KeeperOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? Date.now;
  }

  /** Something the overview counts was written: the next request starts a recomputation. */
  changed(): void {
    this.#dirty = true;
  }

  /** The kept overview at once; the first request (or one after a failure with none kept) waits for one. */
  async get(): Promise<ServedOverview> {
    if (!this.#kept) await this.#compute();
    else this.#refreshIfNeeded();
    return this.#served();
  }

  /**
   * For callers of the API that want the state as it is (`/api/status`, like `status --json`): waits for
   * the recomputation when anything is known to have changed, still sharing the one in flight.
   */
  async fresh(): Promise<ServedOverview> {
    if (this.#kept && !this.#dirty && !this.#computing && this.#now() - this.#kept.at < this.#opts.maxAgeMs) {
      const live = await this.#opts.live();
      if (this.#sameLive(live)) return this.#served();
    }
    await this.#compute();
    // One computed before the latest change is followed by one more, not by a chase after every write.
    if (this.#dirty) await this.#compute();
    return this.#served();
  }

  #served(): ServedOverview {
    const { overview, at } = this.#kept!;
    return { ...overview, age_sec: Math.max(0, Math.round((this.#now() - at) / 1000)), refreshing: this.#computing !== undefined || this.#timer !== undefined, ...(this.#error ? { refresh_error: this.#error } : {}) };
  }

  stop(): void {
    clearTimeout(this.#timer);
  }

  #compute(): Promise<Overview> {
    if (this.#computing) return this.#computing;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#dirty = false;
    const started = this.#now();
    const run = this.#opts.compute().then(
      (overview) => {
        this.#kept = { overview, at: started };
        this.#error = undefined;
        return overview;
      },
      (err) => {
        // Asked again on the next request; a kept one goes on being served meanwhile.
        this.#dirty = true;
        this.#error = errorMessage(err).split("\n")[0];
        throw err;
      },
    ).finally(() => {
      this.#computing = undefined;
      this.#lastEnd = this.#now();
      this.#lastDuration = this.#lastEnd - started;
    });
    this.#computing = run;
    run.catch(() => undefined);
    return run;
  }

  #refreshIfNeeded(): void {
    if (this.#computing) return;
    const now = this.#now();
    if (this.#dirty || now - this.#kept!.at >= this.#opts.maxAgeMs) return this.#recomputeSoon();
    if (this.#checking || now - this.#lastLive < this.#opts.liveMs) return;
    this.#checking = true;
    this.#lastLive = now;
    this.#opts.live().then(
      (live) => {
        this.#error = undefined;
        const kept = this.#kept!.overview;
        if (!this.#sameLive(live)) {
          this.#dirty = true;
          this.#recomputeSoon();
        } else {
          // Same jobs, newer progress: nothing counted changed, so no recomputation.
          this.#kept = { ...this.#kept!, overview: { ...kept, status: { ...kept.status, runners: live.runners } } };
        }
      },
      (err) => (this.#error = errorMessage(err).split("\n")[0]),
    ).finally(() => (this.#checking = false));
  }

  /** The queues and the runners' jobs are as kept: nothing counted changed (progress alone is copied in). */
  #sameLive(live: LiveParts): boolean {
    const kept = this.#kept!.overview;
    return JSON.stringify(live.queues) === JSON.stringify(kept.status.queues) && jobSets(live.runners) === jobSets(kept.status.runners);
  }

  /** Now, or once the gap after the last computation has passed (one timer at most). */
  #recomputeSoon(): void {
    const wait = this.#lastEnd + Math.max(this.#opts.minGapMs, 2 * this.#lastDuration) - this.#now();
    if (wait <= 0) return void this.#compute().catch(() => undefined);
    if (this.#timer) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#compute().catch(() => undefined);
    }, wait);
    this.#timer.unref();
  }
}
