// Event source for the embedded folder store: its own writes (by any S3 client) and files that arrive in the
// folder behind its back each become an S3 event record on the ingest queue. A listing at start catches what
// arrived while reelpress was down.
import type { Clients } from "../../shared/io/clients.ts";
import type { Embedded } from "../embedded.ts";
import { errorMessage } from "../../shared/errors.ts";
import { durationMsSetting } from "../../shared/settings.ts";
import { isSameVersion } from "../../shared/steps/probe.ts";
import { readRecord } from "../../shared/io/manifest.ts";
import type { Log } from "../../shared/log.ts";
import { isSystemKey, keyKind } from "../../shared/rules/naming.ts";
import { watchFolder, type ObjectEvent } from "../../store/index.ts";
import { reconcile } from "./reconcile.ts";
import { objectCreatedRecord, sendEventRecords } from "../../shared/io/event-records.ts";

export type EventSource = { stop(): Promise<void>; watching?(): { folders: number; limited: boolean; message?: string } };

/** Writes are gathered this long and sent in batches. */
const FLUSH_MS = 250;

export type FolderEventSettings = { settleMs: number; scanIntervalMs: number };

/** REELPRESS_SETTLE_SEC (default 5) and REELPRESS_SCAN_INTERVAL (seconds, default 60, at least 1). */
export function folderEventSettings(env: NodeJS.ProcessEnv): FolderEventSettings {
  return {
    settleMs: durationMsSetting(env, "REELPRESS_SETTLE_SEC", { fallback: 5, unit: "seconds", min: 0 }),
    scanIntervalMs: Math.max(1000, durationMsSetting(env, "REELPRESS_SCAN_INTERVAL", { fallback: 60, unit: "seconds", min: 0 })),
  };
}

export async function startEmbeddedEvents(clients: Clients, embedded: Embedded, log: Log = () => undefined, settings: FolderEventSettings = folderEventSettings(process.env)): Promise<EventSource> {
  const { bucket, backupPrefix } = clients.config;
  const pending = new Map<string, ObjectEvent>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  const isVideo = (key: string) => keyKind(key, backupPrefix) === "video";

  const flush = () => {
    timer = undefined;
    const batch = [...pending.values()];
    pending.clear();
    flushing = flushing
      .then(() => sendEventRecords(clients, batch.map((e) => objectCreatedRecord(bucket, e, e.eventName))))
      .then(
        () => batch.forEach((e) => log("events.object-created", { key: e.key })),
        (err) => {
          log("events.send-error", { error: errorMessage(err), count: batch.length });
          // Put them back (a newer write wins) and try again shortly.
          for (const e of batch) if (!pending.has(e.key)) pending.set(e.key, e);
          if (!stopped) timer ??= setTimeout(flush, 1000);
        },
      );
  };
  const note = (e: ObjectEvent) => {
    if (stopped || !isVideo(e.key)) return;
    pending.set(e.key, e);
    timer ??= setTimeout(flush, FLUSH_MS);
  };

  embedded.store.on("created", note);
  // One cut for both: older files are the listing's to send now, newer ones the watcher's once settled.
  const knownBefore = Date.now() - settings.settleMs;
  const watcher = await watchFolder(embedded.store, {
    ...settings,
    knownBefore,
    accept: isVideo,
    // reelpress's own objects and the backups are as many as the library itself: never walked.
    skipFolder: (dirPrefix) => isSystemKey(dirPrefix, backupPrefix),
    // A version the manifest already has (written just before a restart) needs no event.
    onCreated: (e) =>
      void readRecord(clients, e.key).then(
        (r) => {
          if (isSameVersion(r?.record, e)) return;
          log("events.found-in-folder", { key: e.key, size: e.size });
          note(e);
        },
        (err) => log("events.watch-error", { error: errorMessage(err) }),
      ),
    onError: (err) => log("events.watch-error", { error: errorMessage(err) }),
    onWatchLimit: (message) => log("events.watch-limit", { message }),
  });
  // Complete files that no event brought in yet; ones still being written are the watcher's.
  const found = await reconcile(clients, { settledBefore: new Date(knownBefore) });
  if (found > 0) log("events.reconciled", { count: found });

  return {
    watching: () => watcher.watching(),
    async stop() {
      stopped = true;
      embedded.store.off("created", note);
      await watcher.stop();
      if (timer) {
        clearTimeout(timer);
        flush();
      }
      await flushing;
    },
  };
}
