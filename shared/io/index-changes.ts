// The index's change log: every writer of a manifest record first puts a mark named by the record's
// key (shared/io/manifest.ts), so a reader of the index (shared/io/record-index.ts) learns what changed
// from a listing of the marks, O(changed), instead of listing the whole manifest, O(records).
//
// A writer marks the key before it writes the record, and again after: one that dies before its write
// leaves a mark and no change, which costs one read; a write that lands after a reader read the record
// is marked after it. Each mark holds a fresh random value, so each put is a new version (ETag). A
// reader deletes a mark only while it is the version it listed (If-Match) and only once the shard
// holding the record it read is stored: a mark put again since stays. What this misses (a writer that
// dies between its write and its second mark, while a reader read in between) the weekly listing finds.
import { randomBytes } from "node:crypto";
import type { Clients } from "./clients.ts";
import { deleteIfUnchanged, listPages, putJson } from "./objects.ts";
import { mapLimit } from "../pool.ts";
import { INDEX_CHANGED_PREFIX, changedMarkKeyFor, keyFromChangedMarkKey, unsafeKeyReason } from "../rules/naming.ts";

/** One record change not yet taken into the index. */
export type ChangeMark = { key: string; markKey: string; etag: string };

/** Says that `key`'s record is changing (before the write) or changed (after). */
export function markChanged(clients: Clients, key: string): Promise<void> {
  return putJson(clients, changedMarkKeyFor(key), { mark: randomBytes(12).toString("hex") });
}

/** Every mark, a listing page (a thousand marks) a request. */
export async function listChangeMarks(clients: Clients): Promise<ChangeMark[]> {
  const marks: ChangeMark[] = [];
  for await (const page of listPages(clients, INDEX_CHANGED_PREFIX)) {
    for (const o of page.objects) {
      const key = keyFromChangedMarkKey(o.key);
      // A mark no writer could have put (a key no record can have) names nothing to read.
      if (key !== undefined && unsafeKeyReason(key) === undefined && o.etag) marks.push({ key, markKey: o.key, etag: o.etag });
    }
  }
  return marks;
}

/** Deletes marks whose changes the index now holds, each only while it is the version listed; how many went. */
export async function settleMarks(clients: Clients, marks: readonly ChangeMark[]): Promise<number> {
  let deleted = 0;
  await mapLimit(marks, 16, async (m) => {
    if (await deleteIfUnchanged(clients, m.markKey, m.etag)) deleted++;
  });
  return deleted;
}
