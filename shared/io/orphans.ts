// Records of objects that are gone: a file removed behind the store's back (on the NAS itself, or a
// DELETE no pipeline step made) leaves its record, which the summary goes on counting. `reindex` finds
// them by one listing of the library and one of the manifest, and deletes each record only after a
// HEAD confirms its object is gone and only while the record is the version listed. In `dev` the store's
// own deletes and the folder watcher's removals prune at once (`pruneIfGone`).
import type { Clients } from "./clients.ts";
import { listLibrary } from "./library.ts";
import { deleteRecord, readRecord } from "./manifest.ts";
import { headObject, listPages } from "./objects.ts";
import { mapLimit } from "../pool.ts";
import { MANIFEST_PREFIX, keyFromManifestKey } from "../rules/naming.ts";

export type OrphanRecord = { key: string; etag: string };

/** Records under the library prefix whose object the library listing does not hold. */
export async function findOrphanRecords(clients: Clients): Promise<OrphanRecord[]> {
  const [objects, records] = await Promise.all([
    listLibrary(clients),
    (async () => {
      const out: OrphanRecord[] = [];
      for await (const page of listPages(clients, `${MANIFEST_PREFIX}${clients.config.prefix}`)) {
        for (const o of page.objects) {
          const key = keyFromManifestKey(o.key);
          if (key !== undefined && o.etag) out.push({ key, etag: o.etag });
        }
      }
      return out;
    })(),
  ]);
  const present = new Set(objects.map((o) => o.key));
  return records.filter((r) => !present.has(r.key));
}

/** Deletes the records `findOrphanRecords` found whose object a HEAD confirms gone; returns their keys. */
export async function pruneOrphanRecords(clients: Clients, orphans: OrphanRecord[]): Promise<string[]> {
  const pruned: string[] = [];
  await mapLimit(orphans, 8, async (o) => {
    if (await headObject(clients, o.key)) return;
    if (await deleteRecord(clients, o.key, o.etag)) pruned.push(o.key);
  });
  return pruned.sort();
}

/** The record of `key`, deleted when a HEAD confirms its object gone and nobody rewrote the record meanwhile. */
export async function pruneIfGone(clients: Clients, key: string): Promise<boolean> {
  const current = await readRecord(clients, key);
  if (!current || (await headObject(clients, key))) return false;
  return deleteRecord(clients, key, current.etag);
}
