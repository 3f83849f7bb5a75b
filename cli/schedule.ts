// The local stand-in for the dedup function's EventBridge schedule: the same handler, on a timer, and in
// `dev` also once each time the library goes idle after work, so a report is there when the work is done.
import { makeDedupHandler } from "../functions/dedup/handler.ts";
import type { Clients } from "../shared/io/clients.ts";
import { errorMessage } from "../shared/errors.ts";
import { durationMsSetting } from "../shared/settings.ts";
import type { Log } from "../shared/log.ts";
import { queueDepths } from "../shared/io/library.ts";
import { listRunners } from "../shared/io/runners.ts";
import { readLatestReport } from "../shared/dedup/run.ts";
import { listPages } from "../shared/io/objects.ts";
import { MANIFEST_PREFIX, isSystemKey } from "../shared/rules/naming.ts";
import type { FolderStore } from "../store/index.ts";
import { FLOW_QUEUES, flowIdle } from "../shared/dashboard/overview.ts";

export const DEFAULT_DEDUP_INTERVAL_MIN = 60;
/** While work is pending, whether the library went idle is looked at this often (a few cheap calls). */
export const IDLE_CHECK_MS = 3000;

/** REELPRESS_DEDUP_INTERVAL in minutes → milliseconds; 0 turns the schedule (and the report on idle) off. */
export function dedupIntervalMs(env: NodeJS.ProcessEnv): number {
  return durationMsSetting(env, "REELPRESS_DEDUP_INTERVAL", { fallback: DEFAULT_DEDUP_INTERVAL_MIN, unit: "minutes", min: 0, note: "(0 turns the local schedule off)" });
}

/** Idle: no message in the ingest, plan or encode queue (waiting or in flight), and no runner with a job. */
export async function libraryIdle(clients: Clients): Promise<boolean> {
  const [queues, runners] = await Promise.all([queueDepths(clients, FLOW_QUEUES), listRunners(clients)]);
  return flowIdle({ queues, runners });
}

/** A library with records and no report yet (processed before reports were built on idle) gets one at start. */
async function needsFirstReport(clients: Clients): Promise<boolean> {
  if (await readLatestReport(clients)) return false;
  for await (const page of listPages(clients, MANIFEST_PREFIX)) return page.objects.length > 0;
  return false;
}

export type DedupScheduleOptions = {
  env?: NodeJS.ProcessEnv;
  /** The embedded folder store: its writes of videos and records are work, and idle after work builds a report. */
  store?: FolderStore;
  idleCheckMs?: number;
};

/**
 * Builds and stores a report every `everyMs`, one at a time; the first one after a full interval. With a
 * store, also once the library goes idle after work (and at start when records exist and no report yet).
 */
export function startDedupSchedule(clients: Clients, everyMs: number, log: Log, opts: DedupScheduleOptions = {}): { stop(): Promise<void> } {
  const { env = process.env, store, idleCheckMs = IDLE_CHECK_MS } = opts;
  const handler = makeDedupHandler(() => clients, env, log);
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let building = false;
  let timer: NodeJS.Timeout | undefined;
  let idleTimer: NodeJS.Timeout | undefined;
  let workSeen = false;

  const build = (why: "schedule" | "idle") => {
    building = true;
    running = running
      .then(() => handler({ "detail-type": "Scheduled Event" }))
      .then(() => void (why === "idle" && log("dedup.idle-report", {})), (err) => log("dedup.schedule-error", { error: errorMessage(err) }))
      .finally(() => (building = false));
    return running;
  };
  const tick = () => {
    void build("schedule").finally(() => {
      if (!stopped) timer = setTimeout(tick, everyMs);
    });
  };
  if (everyMs > 0) timer = setTimeout(tick, everyMs);

  const checkIdle = () => {
    idleTimer = undefined;
    if (stopped || !workSeen) return;
    void libraryIdle(clients).then(
      (idle) => {
        if (stopped) return;
        if (!idle || building) return void (idleTimer = setTimeout(checkIdle, idleCheckMs));
        workSeen = false;
        void build("idle");
      },
      (err) => {
        log("dedup.idle-check-error", { error: errorMessage(err) });
        if (!stopped) idleTimer = setTimeout(checkIdle, idleCheckMs);
      },
    );
  };
  const workDone = () => {
    if (stopped) return;
    workSeen = true;
    clearTimeout(idleTimer);
    idleTimer = setTimeout(checkIdle, idleCheckMs);
  };
  // A video or a record written is work; the report's own record writes (remembered hashes) are not.
  const onWrite = ({ key }: { key: string }) => {
    if (building && key.startsWith(MANIFEST_PREFIX)) return;
    if (isSystemKey(key, clients.config.backupPrefix) && !key.startsWith(MANIFEST_PREFIX)) return;
    workDone();
  };
  if (store && everyMs > 0) {
    store.on("created", onWrite);
    store.on("removed", onWrite);
    void needsFirstReport(clients).then(
      (needed) => {
        if (needed && !workSeen) workDone();
      },
      (err) => log("dedup.idle-check-error", { error: errorMessage(err) }),
    );
  }
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      clearTimeout(idleTimer);
      store?.off("created", onWrite);
      store?.off("removed", onWrite);
      await running;
    },
  };
}
