// Finds library videos that no event has brought in yet: objects uploaded while nothing was listening.
// It runs in the background after start, a listing page at a time, and queues only versions that have
// neither a manifest record nor a live queued mark (shared/io/queued-marks.ts): a restart never queues
// a version twice, however far the last run got.
import { setTimeout as sleep } from "node:timers/promises";
import type { Clients } from "../../shared/io/clients.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { Log } from "../../shared/log.ts";
import { isSameVersion } from "../../shared/steps/probe.ts";
import { listRecords, readRecord } from "../../shared/io/manifest.ts";
import { listPages } from "../../shared/io/objects.ts";
import { claimQueued, releaseQueued, staleMarksBefore } from "../../shared/io/queued-marks.ts";
import { MANIFEST_PREFIX, isSystemKey, keyFromManifestKey, keyKind } from "../../shared/rules/naming.ts";
import type { ManifestRecord, ManifestState } from "../../shared/schemas.ts";
import type { ListedObject } from "../../shared/rules/status.ts";
import { listLibrary } from "../remote.ts";
import { objectCreatedRecord, sendEventRecords } from "../../shared/io/event-records.ts";
import { mapLimit } from "../../shared/pool.ts";

export type VideoObject = { key: string; size: number; etag: string; lastModified?: Date };

/** Record and mark reads in flight at once, per listing page. */
const CHECKS_AT_ONCE = 16;

function videosOf(clients: Clients, objects: ListedObject[]): VideoObject[] {
  return objects.filter((o) => keyKind(o.key, clients.config.backupPrefix) === "video").map((o) => ({ key: o.key, size: o.size, etag: o.etag ?? "", lastModified: o.lastModified }));
}

/** Every library video under the configured prefix (no system keys, backups, `_skip` names or other extensions). */
export async function listVideoObjects(clients: Clients): Promise<VideoObject[]> {
  return videosOf(clients, await listLibrary(clients));
}

/** A listing page's videos, and which keys of their folder have a manifest record (listed, not read). */
type Page = { videos: VideoObject[]; recorded: ReadonlySet<string> };

/** Keys with a record under `prefix` (with `delimiter`, at its top level only): one listing, no reads. */
async function recordedKeys(clients: Clients, prefix: string, delimiter?: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const page of listPages(clients, `${MANIFEST_PREFIX}${prefix}`, delimiter)) {
    for (const o of page.objects) {
      const key = keyFromManifestKey(o.key);
      if (key !== undefined) keys.add(key);
    }
  }
  return keys;
}

/** The library's videos a listing page at a time: the top level, then each folder in turn (never .reelpress/ or the backups). */
async function* videoPages(clients: Clients): AsyncGenerator<Page> {
  const { prefix, backupPrefix } = clients.config;
  const folders: string[] = [];
  const top = await recordedKeys(clients, prefix, "/");
  for await (const page of listPages(clients, prefix, "/")) {
    folders.push(...page.folders.filter((f) => !isSystemKey(f, backupPrefix)));
    yield { videos: videosOf(clients, page.objects), recorded: top };
  }
  for (const folder of folders) {
    const recorded = await recordedKeys(clients, folder);
    for await (const page of listPages(clients, folder)) yield { videos: videosOf(clients, page.objects), recorded };
  }
}

/** The manifest's records under the configured prefix, by key. */
export async function recordsByKey(clients: Clients): Promise<Map<string, ManifestRecord>> {
  const records = new Map<string, ManifestRecord>();
  for await (const r of listRecords(clients, clients.config.prefix)) records.set(r.key, r);
  return records;
}

/** What the reconcile tells as it goes (the first scan's progress counts it). */
export type ReconcileTally = {
  /** This version has a record, in this state. */
  recorded(key: string, state: ManifestState): void;
  /** This version waits in the ingest queue: sent by this reconcile (`sent`), or queued before. */
  waiting(key: string, sent: boolean): void;
  /** The listing is done. */
  listed(): void;
};

export type ReconcileOptions = {
  /** Objects modified later are left out (a folder watcher announces them once complete). */
  settledBefore?: Date;
  /** Marks written before this stand for no message (shared/io/queued-marks.ts). */
  staleMarksBefore: Date;
  /** Checked between pages: the page under way is finished, so every claimed mark gets its message. */
  signal?: AbortSignal;
  tally?: ReconcileTally;
};

/**
 * Whether this call should send the video's event: false when it is recorded or queued already. Only a
 * key the manifest listing named is read before the claim: on a first scan most have no record.
 */
async function claim(clients: Clients, o: VideoObject, listed: boolean, opts: ReconcileOptions): Promise<boolean> {
  const known = listed ? await readRecord(clients, o.key) : undefined;
  if (known && isSameVersion(known.record, o)) {
    opts.tally?.recorded(o.key, known.record.state);
    return false;
  }
  if (!(await claimQueued(clients, o, opts.staleMarksBefore))) {
    opts.tally?.waiting(o.key, false);
    return false;
  }
  // A probe may have written the record and removed its mark between the listing (or read) and the claim.
  const again = await readRecord(clients, o.key);
  if (again && isSameVersion(again.record, o)) {
    await releaseQueued(clients, o.key, o);
    opts.tally?.recorded(o.key, again.record.state);
    return false;
  }
  return true;
}

/** Sends an ObjectCreated record for each video version neither recorded nor queued, page by page; returns how many. */
export async function reconcile(clients: Clients, opts: ReconcileOptions): Promise<number> {
  const settled = (o: VideoObject) => !opts.settledBefore || !o.lastModified || o.lastModified <= opts.settledBefore;
  let sent = 0;
  for await (const page of videoPages(clients)) {
    if (opts.signal?.aborted) return sent;
    const videos = page.videos.filter(settled);
    const won = await mapLimit(videos, CHECKS_AT_ONCE, (o) => claim(clients, o, page.recorded.has(o.key), opts));
    const claimed = videos.filter((_, i) => won[i]);
    // Counted before the send: a probe may answer before the send call returns.
    for (const o of claimed) opts.tally?.waiting(o.key, true);
    try {
      await sendEventRecords(clients, claimed.map((o) => objectCreatedRecord(clients.config.bucket, o)));
    } catch (err) {
      // Some went unsent: no mark may hold them back from the next try (one sent already may come twice).
      await Promise.allSettled(claimed.map((o) => releaseQueued(clients, o.key, o)));
      throw err;
    }
    sent += claimed.length;
  }
  if (!opts.signal?.aborted) opts.tally?.listed();
  return sent;
}

/** A failed reconcile (the store or the queue away) is tried again after this long. */
const RETRY_MS = 10_000;

/**
 * Starts the reconcile without waiting for it: `dev` is ready at once, whatever the library's size.
 * A failure is logged and tried again (claimed versions are skipped then); `stop` ends it between pages.
 */
export function startReconcile(
  clients: Clients,
  log: Log,
  opts: Pick<ReconcileOptions, "settledBefore" | "tally"> & {
    /** The cut every sender of this start shares (asked before any of them sends); asked here when not given. */
    staleBefore?: Promise<Date>;
  } = {},
): { stop(): Promise<void> } {
  const abort = new AbortController();
  const run = async () => {
    while (!abort.signal.aborted) {
      try {
        const staleBefore = await (opts.staleBefore ?? staleMarksBefore(clients));
        const sent = await reconcile(clients, { settledBefore: opts.settledBefore, tally: opts.tally, staleMarksBefore: staleBefore, signal: abort.signal });
        if (sent > 0) log("events.reconciled", { count: sent });
        return;
      } catch (err) {
        if (abort.signal.aborted) return;
        log("events.reconcile-error", { error: errorMessage(err) });
        await sleep(RETRY_MS, undefined, { signal: abort.signal }).catch(() => undefined);
      }
    }
  };
  const running = run();
  return {
    async stop() {
      abort.abort();
      await running;
    },
  };
}
