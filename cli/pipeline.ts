// What `reelpress dev` runs beside the store: event source, function host, dedup schedule, runner.
import { makeProbeHandler } from "../functions/probe/handler.ts";
import { makeStrategyHandler } from "../functions/strategy/handler.ts";
import type { Clients } from "../shared/io/clients.ts";
import type { Embedded } from "./embedded.ts";
import { UserError } from "../shared/errors.ts";
import { enumSetting } from "../shared/settings.ts";
import { folderEventSettings, startEmbeddedEvents, type EventSource } from "./events/embedded.ts";
import { startFunctionHost } from "./host.ts";
import { dedupIntervalMs, startDedupSchedule } from "./schedule.ts";
import { notifierFromEnv } from "../shared/io/notify.ts";
import { logEvent } from "./output.ts";
import { runnerSettings, startRunner } from "../gpu-runner/runner.ts";
import type { Log } from "../shared/log.ts";
import { type FirstScan, startFirstScan } from "./events/first-scan.ts";

export type PipelineOptions = { embedded?: Embedded; runner: boolean; env?: NodeJS.ProcessEnv };
/** `scans`: a reconcile runs in the background (the first scan), with its progress in .reelpress/scan.json. */
export type Pipeline = { scans: boolean; stop(): Promise<void>; watching?(): ReturnType<NonNullable<EventSource["watching"]>> | undefined };

type EventsKind = "embedded" | "minio" | "queue";

/**
 * Where ObjectCreated events come from: the embedded folder store's own writes, MinIO's listen API, or
 * nothing here (S3 and LocalStack notify the ingest queue themselves).
 */
function eventsKind(opts: PipelineOptions): EventsKind {
  return enumSetting(opts.env ?? process.env, "REELPRESS_EVENTS", ["embedded", "minio", "queue"], opts.embedded ? "embedded" : "queue");
}

async function startEvents(clients: Clients, opts: PipelineOptions, kind: EventsKind, scan: FirstScan | undefined): Promise<EventSource | undefined> {
  switch (kind) {
    case "embedded":
      if (!opts.embedded) throw new UserError("REELPRESS_EVENTS=embedded needs the embedded folder store (leave out --endpoint).");
      return startEmbeddedEvents(clients, opts.embedded, logEvent, folderEventSettings(opts.env ?? process.env), scan);
    case "minio":
      // Loaded only here: the MinIO client (with lodash and async) would cost every other start ~0.2 s.
      return (await import("./events/minio.ts")).startMinioEvents(clients, logEvent, scan);
    case "queue":
      return undefined;
  }
}

export async function startPipeline(clients: Clients, opts: PipelineOptions): Promise<Pipeline> {
  const stops: Array<() => Promise<void>> = [];
  // Stopped in this order: no new events, then the functions finish their batches, then the runner.
  const stopAll = async () => {
    for (const stop of stops) await stop();
  };
  let parts: { events: EventSource | undefined; scans: boolean };
  try {
    parts = await startParts(clients, opts, stops);
  } catch (err) {
    // A bad setting found halfway: stop what already runs, so the process can end.
    await stopAll();
    throw err;
  }
  const { events, scans } = parts;
  return { scans, stop: stopAll, watching: () => events?.watching?.() };
}

/** Starts each part, adding its stop to `stops` as soon as it runs; returns the event source and whether a first scan runs. */
async function startParts(clients: Clients, opts: PipelineOptions, stops: Array<() => Promise<void>>): Promise<{ events: EventSource | undefined; scans: boolean }> {
  const env = opts.env ?? process.env;
  const dedupEveryMs = dedupIntervalMs(env);
  const kind = eventsKind(opts);
  // The start-up reconcile is the first scan: its videos are followed through the pipeline's own log.
  const scan = kind === "queue" ? undefined : startFirstScan(clients, logEvent);
  if (scan) stops.push(() => scan.stop());
  const log: Log = scan
    ? (event, fields, text) => {
        logEvent(event, fields, text);
        scan.observe(event, fields);
      }
    : logEvent;
  const events = await startEvents(clients, opts, kind, scan);
  if (events) stops.push(() => events.stop());
  const { queues } = clients.config;
  const notifier = notifierFromEnv(env, logEvent);
  const host = startFunctionHost(
    clients,
    [
      { queue: queues.ingest, handler: makeProbeHandler(() => clients, log, notifier) },
      { queue: queues.plan, handler: makeStrategyHandler(() => clients, log) },
    ],
    { log: logEvent },
  );
  stops.push(() => host.stop());
  const dedup = startDedupSchedule(clients, dedupEveryMs, logEvent, { env, store: opts.embedded?.store });
  stops.push(() => dedup.stop());
  if (opts.runner) {
    // The runner shares the disk with the folder store it serves: a chunked job reads its source in place.
    const settings = runnerSettings(env);
    const libraryDir = settings.libraryDir ?? opts.embedded?.library;
    const runner = await startRunner(clients, { encoder: "auto", settings: { ...settings, libraryDir }, log, notifier });
    stops.push(() => runner.stop());
  }
  return { events, scans: scan !== undefined };
}
