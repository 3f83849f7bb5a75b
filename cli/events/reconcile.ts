// Finds library videos that no event has brought in yet: objects uploaded while nothing was listening.
import type { Clients } from "../../shared/io/clients.ts";
import { isSameVersion } from "../../shared/steps/probe.ts";
import { listRecords } from "../../shared/io/manifest.ts";
import { keyKind } from "../../shared/rules/naming.ts";
import type { ManifestRecord } from "../../shared/schemas.ts";
import { listLibrary } from "../remote.ts";
import { objectCreatedRecord, sendEventRecords } from "../../shared/io/event-records.ts";

export type VideoObject = { key: string; size: number; etag: string; lastModified?: Date };

/** Every library video under the configured prefix (no system keys, backups, `_skip` names or other extensions). */
export async function listVideoObjects(clients: Clients): Promise<VideoObject[]> {
  const all = await listLibrary(clients);
  return all.filter((o) => keyKind(o.key, clients.config.backupPrefix) === "video").map((o) => ({ key: o.key, size: o.size, etag: o.etag ?? "", lastModified: o.lastModified }));
}

/** The manifest's records under the configured prefix, by key. */
export async function recordsByKey(clients: Clients): Promise<Map<string, ManifestRecord>> {
  const records = new Map<string, ManifestRecord>();
  for await (const r of listRecords(clients, clients.config.prefix)) records.set(r.key, r);
  return records;
}

/**
 * Sends an ObjectCreated record for each video whose current version has no manifest record; returns how many.
 * With `settledBefore`, objects modified later are left out (a folder watcher announces them once complete).
 */
export async function reconcile(clients: Clients, opts: { settledBefore?: Date } = {}): Promise<number> {
  const [objects, records] = await Promise.all([listVideoObjects(clients), recordsByKey(clients)]);
  const settled = (o: VideoObject) => !opts.settledBefore || !o.lastModified || o.lastModified <= opts.settledBefore;
  const unseen = objects.filter((o) => settled(o) && !isSameVersion(records.get(o.key), o));
  await sendEventRecords(clients, unseen.map((o) => objectCreatedRecord(clients.config.bucket, o)));
  return unseen.length;
}
