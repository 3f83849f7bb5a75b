// The hash manifest: one JSON record per library object under .reelpress/manifest/<key>.json.
// Writers read, change and write back with a conditional put (If-Match / If-None-Match), retrying when
// another writer got there first, so no writer loses another's fields: the condition is the guard
// between processes. A per-key lock orders the writers of one process, which spares them lost races.
// Every change that lands is then added to the library summary (shared/io/summary.ts) before the
// call returns: the delta between the record before and after. A call marks the key changed before its
// first write and after the one that lands (shared/io/index-changes.ts), so the index learns of it
// without listing the manifest.
import type { Clients } from "./clients.ts";
import { markChanged } from "./index-changes.ts";
import { createJson, deleteIfUnchanged, listPages, readJsonVersion, replaceJson } from "./objects.ts";
import { recordSummaryChange } from "./summary.ts";
import { MANIFEST_PREFIX, keyFromManifestKey, manifestKeyFor } from "../rules/naming.ts";
import { ManifestRecord } from "../schemas.ts";

const MAX_ATTEMPTS = 8;
const unquote = (etag: string) => etag.replace(/^"|"$/g, "");

/** The record of `key` with its object's ETag (what a replace is conditioned on) and size in bytes. */
export async function readRecord(clients: Clients, key: string): Promise<{ record: ManifestRecord; etag: string; bytes: number } | undefined> {
  const read = await readJsonVersion(clients, manifestKeyFor(key), ManifestRecord);
  return read && { record: read.value, etag: read.etag, bytes: read.bytes };
}

/** The mark after a write: the write stands whatever happens to it (the mark before it most likely does too). */
const markAgain = (clients: Clients, key: string) => markChanged(clients, key).catch(() => undefined);

const locks = new Map<string, Promise<unknown>>();

/** Runs `fn` after every earlier call for the same key in this process has finished. */
function withKeyLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
  const prev = locks.get(key) ?? Promise.resolve();
  const next = prev.then(fn, fn);
  const tail = next.catch(() => undefined);
  locks.set(key, tail);
  void tail.then(() => locks.get(key) === tail && locks.delete(key));
  return next;
}

/**
 * Reads the record for `key`, lets `change` compute the new one from it, and writes it back only if
 * nobody wrote in between. `change` may return undefined to leave things as they are.
 */
export function updateRecord(
  clients: Clients,
  key: string,
  change: (current: ManifestRecord | undefined) => ManifestRecord | undefined,
): Promise<ManifestRecord | undefined> {
  return withKeyLock(key, async () => {
    let marked = false;
    for (let attempt = 1; ; attempt++) {
      const current = await readRecord(clients, key);
      const next = change(current?.record);
      if (!next) return current?.record;
      const record = ManifestRecord.parse({ ...next, key, updatedAt: new Date().toISOString() });
      if (!marked) await markChanged(clients, key);
      marked = true;
      const written = current
        ? await replaceJson(clients, manifestKeyFor(key), record, current.etag)
        : await createJson(clients, manifestKeyFor(key), record);
      if (written) {
        await Promise.all([recordSummaryChange(clients, key, current, { record, bytes: Buffer.byteLength(JSON.stringify(record)) }), markAgain(clients, key)]);
        return record;
      }
      if (attempt >= MAX_ATTEMPTS) throw new Error(`the manifest record of ${key} kept changing: ${MAX_ATTEMPTS} writes lost to other writers`);
    }
  });
}

type RecordIdentity = Pick<ManifestRecord, "size" | "etag" | "state">;

/**
 * Merges `patch` into the record of this version of the object. A record left by an earlier version
 * (other size or ETag) is replaced, so nothing stale survives.
 */
export function patchRecord(
  clients: Clients,
  key: string,
  patch: Partial<ManifestRecord> & RecordIdentity,
): Promise<ManifestRecord | undefined> {
  return updateRecord(clients, key, (current) => {
    const sameVersion = current && current.size === patch.size && current.etag === patch.etag;
    return { ...(sameVersion ? current : {}), ...patch, key, updatedAt: "" };
  });
}

/**
 * Deletes the record of `key`, whatever it holds, or with `onlyEtag` only while it is that version; the
 * summary loses what the deleted version added. True when this call deleted it.
 */
export async function deleteRecord(clients: Clients, key: string, onlyEtag?: string): Promise<boolean> {
  return withKeyLock(key, async () => {
    let marked = false;
    for (let attempt = 1; ; attempt++) {
      const current = await readRecord(clients, key);
      if (!current || (onlyEtag !== undefined && unquote(current.etag) !== unquote(onlyEtag))) return false;
      if (!marked) await markChanged(clients, key);
      marked = true;
      if (await deleteIfUnchanged(clients, manifestKeyFor(key), current.etag)) {
        await Promise.all([recordSummaryChange(clients, key, current, undefined), markAgain(clients, key)]);
        return true;
      }
      if (attempt >= MAX_ATTEMPTS) throw new Error(`the manifest record of ${key} kept changing: ${MAX_ATTEMPTS} deletes lost to other writers`);
    }
  });
}

/** Every record under a library prefix, read page by page with `concurrency` GETs in flight. */
export async function* listRecords(
  clients: Clients,
  prefix = "",
  concurrency = 32,
): AsyncGenerator<ManifestRecord> {
  for await (const page of listPages(clients, `${MANIFEST_PREFIX}${prefix}`)) {
    const keys = page.objects.map((o) => keyFromManifestKey(o.key)).filter((k): k is string => k !== undefined);
    for (let i = 0; i < keys.length; i += concurrency) {
      const batch = await Promise.all(keys.slice(i, i + concurrency).map((k) => readRecord(clients, k)));
      for (const r of batch) if (r) yield r.record;
    }
  }
}
