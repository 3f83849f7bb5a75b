// The index: a compacted snapshot of the manifest, in shards under .reelpress/index/, holding each
// record's slim fields (what status and report read) and, in shards of their own, its fingerprints,
// both stamped with the ETag of the record object they were read from. A reader lists the manifest
// (a thousand keys a request), reads only the records whose ETag moved, and writes back the shards
// that changed. It is a cache: the records stay the truth, and a lost write only costs a re-read.
import { z } from "zod";
import type { Clients } from "./clients.ts";
import { readRecord } from "./manifest.ts";
import { createJson, listPages, putJson, readJsonVersion, replaceJson } from "./objects.ts";
import { mapLimit } from "../pool.ts";
import { INDEX_PREFIX, MANIFEST_PREFIX, keyFromManifestKey } from "../rules/naming.ts";
import { shardOf } from "../rules/summary.ts";
import { FrameFingerprint, ManifestRecord } from "../schemas.ts";

/** 64 shards: at 10⁶ records about 16k each, so one new record rewrites a sixty-fourth of the index. */
export const INDEX_SHARDS = 64;

/** A record without what neither status nor report reads (frames, plan, claim, media tags and streams). */
export const SlimRecord = ManifestRecord.omit({ fingerprints: true, decision: true, plan: true, runner: true });
export type SlimRecord = z.infer<typeof SlimRecord>;

const RecordsShard = z.object({
  v: z.literal(1),
  /** key → the record object's ETag and size when it was read, and its slim fields. */
  entries: z.record(z.string(), z.object({ etag: z.string(), bytes: z.number().int().nonnegative(), record: SlimRecord })),
});
type RecordsShard = z.infer<typeof RecordsShard>;
const FingerprintsShard = z.object({
  v: z.literal(1),
  entries: z.record(z.string(), z.object({ etag: z.string(), fingerprints: z.array(FrameFingerprint) })),
});
type FingerprintsShard = z.infer<typeof FingerprintsShard>;

const recordsShardKey = (i: number) => `${INDEX_PREFIX}records-${String(i).padStart(2, "0")}.json`;
const fingerprintsShardKey = (i: number) => `${INDEX_PREFIX}fingerprints-${String(i).padStart(2, "0")}.json`;
const unquote = (etag: string) => etag.replace(/^"|"$/g, "");

export function slimOf(record: ManifestRecord): SlimRecord {
  const { fingerprints: _f, decision: _d, plan: _p, runner: _r, ...slim } = record;
  return slim.media ? { ...slim, media: { ...slim.media, audio: [], subtitles: [], tags: {} } } : slim;
}

/** One record as the index gives it: slim fields, the record object's size, its frames. */
export type IndexedRecord = { record: SlimRecord; bytes: number; fingerprints: FrameFingerprint[] };
export type IndexStats = { records: number; read: number; shardsWritten: number };

type Shard<T> = { value: T; etag?: string; unreadable?: true };

/** A shard as stored, or empty when absent or not in the index's shape (it is then rebuilt). */
async function readShard<T>(clients: Clients, key: string, schema: z.ZodType<T>, empty: T): Promise<Shard<T>> {
  try {
    return (await readJsonVersion(clients, key, schema)) ?? { value: empty };
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof z.ZodError) return { value: empty, unreadable: true };
    throw err;
  }
}

/** Writes a shard only over the version read; a lost race leaves the other writer's, which is as good. */
async function writeShard(clients: Clients, key: string, value: unknown, read: Shard<unknown>): Promise<boolean> {
  if (read.unreadable) return putJson(clients, key, value).then(() => true);
  return read.etag ? replaceJson(clients, key, value, read.etag) : createJson(clients, key, value);
}

/** The manifest's record objects by index shard: key → record ETag. */
async function listManifest(clients: Clients): Promise<Array<Map<string, string>>> {
  const byShard = Array.from({ length: INDEX_SHARDS }, () => new Map<string, string>());
  for await (const page of listPages(clients, MANIFEST_PREFIX)) {
    for (const o of page.objects) {
      const key = keyFromManifestKey(o.key);
      if (key !== undefined) byShard[shardOf(key, INDEX_SHARDS)].set(key, unquote(o.etag ?? ""));
    }
  }
  return byShard;
}

/**
 * Brings the index up to date with the manifest and calls `each` with every record in it, shard by
 * shard (so only one shard's frames are in memory at a time). Reads only records whose ETag changed
 * since the index was written; `prefix` limits what `each` sees, not what is kept current.
 */
export async function forEachIndexed(clients: Clients, each: (r: IndexedRecord) => void, prefix = "", concurrency = 4): Promise<IndexStats> {
  const listed = await listManifest(clients);
  const stats: IndexStats = { records: 0, read: 0, shardsWritten: 0 };
  await mapLimit(listed.map((keys, i) => ({ keys, i })), concurrency, async ({ keys, i }) => {
    const [records, fingerprints] = await Promise.all([
      readShard<RecordsShard>(clients, recordsShardKey(i), RecordsShard, { v: 1, entries: {} }),
      readShard<FingerprintsShard>(clients, fingerprintsShardKey(i), FingerprintsShard, { v: 1, entries: {} }),
    ]);
    // Maps, not objects: a key comes from a listing, and "__proto__" is a key like any other.
    const next = new Map<string, RecordsShard["entries"][string]>();
    const nextFrames = new Map<string, FingerprintsShard["entries"][string]>();
    let changed = Object.keys(records.value.entries).some((k) => !keys.has(k));
    let framesChanged = Object.keys(fingerprints.value.entries).some((k) => !keys.has(k));
    await mapLimit([...keys.keys()], 8, async (key) => {
      const etag = keys.get(key)!;
      const kept = Object.hasOwn(records.value.entries, key) ? records.value.entries[key] : undefined;
      const frames = Object.hasOwn(fingerprints.value.entries, key) ? fingerprints.value.entries[key] : undefined;
      if (kept && unquote(kept.etag) === etag && frames && unquote(frames.etag) === etag) {
        next.set(key, kept);
        nextFrames.set(key, frames);
        return;
      }
      const read = await readRecord(clients, key);
      stats.read++;
      // Deleted since the listing: it is gone from the index too.
      if (!read) return;
      // A record speaks for the key it is stored under, whatever key it names.
      next.set(key, { etag: read.etag, bytes: read.bytes, record: { ...slimOf(read.record), key } });
      nextFrames.set(key, { etag: read.etag, fingerprints: read.record.fingerprints ?? [] });
      changed = true;
      framesChanged = true;
    });
    // In key order, as listed: the same index gives the same report.
    const order = [...keys.keys()].filter((key) => next.has(key));
    const ordered: RecordsShard = { v: 1, entries: Object.fromEntries(order.map((key) => [key, next.get(key)!])) };
    const orderedFrames: FingerprintsShard = { v: 1, entries: Object.fromEntries(order.map((key) => [key, nextFrames.get(key)!])) };
    for (const key of order) {
      if (!key.startsWith(prefix)) continue;
      stats.records++;
      const e = next.get(key)!;
      each({ record: e.record, bytes: e.bytes, fingerprints: nextFrames.get(key)!.fingerprints });
    }
    if (changed && (await writeShard(clients, recordsShardKey(i), ordered, records))) stats.shardsWritten++;
    if (framesChanged && (await writeShard(clients, fingerprintsShardKey(i), orderedFrames, fingerprints))) stats.shardsWritten++;
  });
  return stats;
}
