// The local stand-in for the dedup function's EventBridge schedule: the same handler, on a timer.
import { makeDedupHandler } from "../functions/dedup/handler.ts";
import type { Clients } from "../shared/io/clients.ts";
import { errorMessage } from "../shared/errors.ts";
import { durationMsSetting } from "../shared/settings.ts";
import type { Log } from "../shared/log.ts";

export const DEFAULT_DEDUP_INTERVAL_MIN = 60;

/** REELPRESS_DEDUP_INTERVAL in minutes → milliseconds; 0 turns the schedule off. */
export function dedupIntervalMs(env: NodeJS.ProcessEnv): number {
  return durationMsSetting(env, "REELPRESS_DEDUP_INTERVAL", { fallback: DEFAULT_DEDUP_INTERVAL_MIN, unit: "minutes", min: 0, note: "(0 turns the local schedule off)" });
}

/** Builds and stores a report every `everyMs`, one at a time; the first one after a full interval. */
export function startDedupSchedule(clients: Clients, everyMs: number, log: Log, env: NodeJS.ProcessEnv = process.env): { stop(): Promise<void> } {
  const handler = makeDedupHandler(() => clients, env, log);
  let stopped = false;
  let running: Promise<void> = Promise.resolve();
  let timer: NodeJS.Timeout | undefined;
  const tick = () => {
    running = handler({ "detail-type": "Scheduled Event" })
      .then(() => undefined, (err) => log("dedup.schedule-error", { error: errorMessage(err) }))
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, everyMs);
      });
  };
  if (everyMs > 0) timer = setTimeout(tick, everyMs);
  return {
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
