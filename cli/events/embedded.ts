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
import { isRecordedKind, isSystemKey, keyKind } from "../../shared/rules/naming.ts";
import { watchFolder, type ObjectEvent } from "../../store/index.ts";
import { pruneIfGone } from "../../shared/io/orphans.ts";
import { type ReconcileTally, startReconcile } from "./reconcile.ts";
import { objectCreatedRecord, sendEventRecords } from "../../shared/io/event-records.ts";
import { mapLimit } from "../../shared/pool.ts";
import { claimQueued, releaseQueued, staleMarksBefore } from "../../shared/io/queued-marks.ts";

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

/**
 * Starts the event source and returns at once: the listing that catches what arrived while reelpress
 * was down, and the watcher's first walk of the folder, run in the background (`tally` counts the listing).
 */
export async function startEmbeddedEvents(
  clients: Clients,
  embedded: Embedded,
  log: Log = () => undefined,
  settings: FolderEventSettings = folderEventSettings(process.env),
  tally?: ReconcileTally,
): Promise<EventSource> {
  const { bucket, backupPrefix } = clients.config;
  const pending = new Map<string, ObjectEvent>();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();
  const isVideo = (key: string) => keyKind(key, backupPrefix) === "video";

  // Asked once, before this start sends anything, and shared by its senders: a cut asked later could find
  // the queue empty between another sender's claim and its send, and take that fresh mark for a stale one.
  const staleBefore = staleMarksBefore(clients);
  /** The events of `batch` whose versions this call claimed, sent; the others are queued already. */
  const send = async (batch: ObjectEvent[]): Promise<ObjectEvent[]> => {
    const before = await staleBefore;
    const won = await mapLimit(batch, 16, (e) => claimQueued(clients, e, before));
    const claimed = batch.filter((_, i) => won[i]);
    try {
      await sendEventRecords(clients, claimed.map((e) => objectCreatedRecord(bucket, e, e.eventName)));
    } catch (err) {
      await Promise.allSettled(claimed.map((e) => releaseQueued(clients, e.key, e)));
      throw err;
    }
    return claimed;
  };
  const flush = () => {
    timer = undefined;
    const batch = [...pending.values()];
    pending.clear();
    flushing = flushing
      .then(() => send(batch))
      .then(
        (sent) => sent.forEach((e) => log("events.object-created", { key: e.key })),
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
  // A file gone (deleted through the store, or from the folder behind its back) takes its record along,
  // so status stops counting it; `pruneIfGone` checks the object is really gone first.
  const removed = (key: string) => {
    if (stopped || !isRecordedKind(key, backupPrefix)) return;
    void pruneIfGone(clients, key).then(
      (pruned) => pruned && log("events.record-pruned", { key }),
      (err) => log("events.watch-error", { error: errorMessage(err) }),
    );
  };
  const onStoreRemoved = (e: { key: string }) => removed(e.key);
  embedded.store.on("removed", onStoreRemoved);
  // One cut for both: older files are the listing's to send now, newer ones the watcher's once settled.
  const knownBefore = Date.now() - settings.settleMs;
  const watching = watchFolder(embedded.store, {
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
    onRemoved: removed,
    onError: (err) => log("events.watch-error", { error: errorMessage(err) }),
    onWatchLimit: (message) => log("events.watch-limit", { message }),
  });
  // Until the first walk is done, no folder is watched yet.
  let watcher: Awaited<typeof watching> | undefined;
  watching.then(
    (w) => (watcher = w),
    (err) => log("events.watch-error", { error: errorMessage(err) }),
  );
  // Complete files that no event brought in yet; ones still being written are the watcher's.
  const reconciling = startReconcile(clients, log, { settledBefore: new Date(knownBefore), tally, staleBefore });

  return {
    watching: () => watcher?.watching() ?? { folders: 0, limited: false },
    async stop() {
      stopped = true;
      embedded.store.off("created", note);
      embedded.store.off("removed", onStoreRemoved);
      await reconciling.stop();
      await (await watching.catch(() => undefined))?.stop();
      if (timer) {
        clearTimeout(timer);
        flush();
      }
      await flushing;
    },
  };
}
