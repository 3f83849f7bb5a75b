// The index: a compacted snapshot of the manifest, in shards under .reelpress/index/, holding each
// record's slim fields (what status and report read) and, in shards of their own, its fingerprints,
// both stamped with the ETag of the record object they were read from. A reader lists the manifest
// (a thousand keys a request), reads only the records whose ETag moved, and writes back the shards
// that changed. It is a cache: the records stay the truth, and a lost write only costs a re-read.
import { z } from "zod";
import type { Clients } from "./clients.ts";
import { readRecord } from "./manifest.ts";
import { createJson, listEtagPages, putJson, readJsonVersion, replaceJson } from "./objects.ts";
import { mapLimit } from "../pool.ts";
import { INDEX_PREFIX, MANIFEST_PREFIX, keyFromManifestKey } from "../rules/naming.ts";
import { shardOf } from "../rules/summary.ts";
import { framesFromBase64, packFrames } from "../rules/frame-codec.ts";
import { FrameFingerprint, ManifestRecord } from "../schemas.ts";

/** 64 shards: at 10⁶ records about 16k each, so one new record rewrites a sixty-fourth of the index. */
export const INDEX_SHARDS = 64;

/** A record without what neither status nor report reads (frames, plan, claim, media tags and streams). */
export const SlimRecord = ManifestRecord.omit({ fingerprints: true, decision: true, plan: true, runner: true });
export type SlimRecord = z.infer<typeof SlimRecord>;

/**
 * Version 2 of the shards: entries as arrays in key order, frames packed (shared/rules/frame-codec.ts).
 * Only the envelope is checked as a whole; each entry on its own (a slim record by its schema, a few µs;
 * frames by their length), and an entry that fails is read again from its record, as a changed one is.
 */
const VERSION = 2;
const RecordsShard = z.object({ v: z.literal(VERSION), entries: z.array(z.tuple([z.string(), z.string(), z.number().int().nonnegative(), z.unknown()])) });
const FramesShard = z.object({ v: z.literal(VERSION), entries: z.array(z.tuple([z.string(), z.string(), z.string()])) });
/** Version 1 (frames as objects, checked whole), converted when read, so an upgrade re-reads no record. */
const RecordsShardV1 = z.object({
  v: z.literal(1),
  entries: z.record(z.string(), z.object({ etag: z.string(), bytes: z.number().int().nonnegative(), record: SlimRecord })),
});
const FramesShardV1 = z.object({ v: z.literal(1), entries: z.record(z.string(), z.object({ etag: z.string(), fingerprints: z.array(FrameFingerprint) })) });

type RecordEntry = { etag: string; bytes: number; record: SlimRecord };
/** Frames in base64, as stored. */
type FramesEntry = { etag: string; frames: string };
/** A shard as read: entries by key (a Map: "__proto__" is a key like any other). */
type Entries<T> = Map<string, T>;

export const recordsShardKey = (i: number) => `${INDEX_PREFIX}records-${String(i).padStart(2, "0")}.json`;
export const fingerprintsShardKey = (i: number) => `${INDEX_PREFIX}fingerprints-${String(i).padStart(2, "0")}.json`;

/** One record's entry in the index: the record object's ETag and size, its slim fields, its frames in base64. */
export type ShardEntry = { key: string; etag: string; bytes: number; record: SlimRecord; frames: string };

/** The contents of the two shards that hold `entries` (in key order, all of one shard). */
export function shardContents(entries: readonly ShardEntry[]): { records: unknown; frames: unknown } {
  return {
    records: { v: VERSION, entries: entries.map((e) => [e.key, e.etag, e.bytes, e.record]) },
    frames: { v: VERSION, entries: entries.map((e) => [e.key, e.etag, e.frames]) },
  };
}
const unquote = (etag: string) => etag.replace(/^"|"$/g, "");

export function slimOf(record: ManifestRecord): SlimRecord {
  const { fingerprints: _f, decision: _d, plan: _p, runner: _r, ...slim } = record;
  return slim.media ? { ...slim, media: { ...slim.media, audio: [], subtitles: [], tags: {} } } : slim;
}

/** One record as the index gives it: slim fields, the record object's size, its frames packed (shared/rules/frame-codec.ts). */
export type IndexedRecord = { record: SlimRecord; bytes: number; frames: Buffer };
export type IndexStats = { records: number; read: number; shardsWritten: number };

/** `old`: in version 1's form, so written again in this version's even where no record changed. */
type Parsed<T> = { entries: Entries<T>; old?: true };
type Shard<T> = Parsed<T> & { etag?: string; unreadable?: true };

/** A shard as stored, or empty when absent or not in the index's shape (it is then rebuilt). */
async function readShard<T>(clients: Clients, key: string, parse: (json: unknown) => Parsed<T>): Promise<Shard<T>> {
  try {
    const read = await readJsonVersion(clients, key, z.unknown());
    return read ? { ...parse(read.value), etag: read.etag } : { entries: new Map() };
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof z.ZodError) return { entries: new Map(), unreadable: true };
    throw err;
  }
}

function parseRecordsShard(json: unknown): Parsed<RecordEntry> {
  const v1 = RecordsShardV1.safeParse(json);
  if (v1.success) return { entries: new Map(Object.entries(v1.data.entries)), old: true };
  const entries = new Map<string, RecordEntry>();
  for (const [key, etag, bytes, record] of RecordsShard.parse(json).entries) {
    const slim = SlimRecord.safeParse(record);
    if (slim.success) entries.set(key, { etag, bytes, record: slim.data });
  }
  return { entries };
}

function parseFramesShard(json: unknown): Parsed<FramesEntry> {
  const v1 = FramesShardV1.safeParse(json);
  if (v1.success) return { entries: new Map(Object.entries(v1.data.entries).map(([key, e]) => [key, { etag: e.etag, frames: packFrames(e.fingerprints).toString("base64") }])), old: true };
  return { entries: new Map(FramesShard.parse(json).entries.map(([key, etag, frames]) => [key, { etag, frames }])) };
}

/** Writes a shard only over the version read; a lost race leaves the other writer's, which is as good. */
async function writeShard(clients: Clients, key: string, value: unknown, read: Shard<unknown>): Promise<boolean> {
  if (read.unreadable) return putJson(clients, key, value).then(() => true);
  return read.etag ? replaceJson(clients, key, value, read.etag) : createJson(clients, key, value);
}

/** The manifest's record objects by index shard: key → record ETag. */
async function listManifest(clients: Clients): Promise<Array<Map<string, string>>> {
  const byShard = Array.from({ length: INDEX_SHARDS }, () => new Map<string, string>());
  for await (const objects of listEtagPages(clients, MANIFEST_PREFIX)) {
    for (const o of objects) {
      const key = keyFromManifestKey(o.key);
      if (key !== undefined) byShard[shardOf(key, INDEX_SHARDS)].set(key, unquote(o.etag));
    }
  }
  return byShard;
}

/**
 * Brings the index up to date with the manifest and calls `each` with every record in it, shard by
 * shard (so only one shard's frames are in memory at a time). Reads only records whose ETag changed
 * since the index was written, or whose entry is not in the index's shape; `prefix` limits what `each`
 * sees, not what is kept current.
 */
export async function forEachIndexed(clients: Clients, each: (r: IndexedRecord) => void, prefix = "", concurrency = 4): Promise<IndexStats> {
  const listed = await listManifest(clients);
  const stats: IndexStats = { records: 0, read: 0, shardsWritten: 0 };
  await mapLimit(listed.map((keys, i) => ({ keys, i })), concurrency, async ({ keys, i }) => {
    const [records, fingerprints] = await Promise.all([
      readShard(clients, recordsShardKey(i), parseRecordsShard),
      readShard(clients, fingerprintsShardKey(i), parseFramesShard),
    ]);
    const next = new Map<string, RecordEntry>();
    const nextFrames = new Map<string, FramesEntry & { packed: Buffer }>();
    // A shard of version 1, or unreadable, or with entries of deleted records, is written again.
    let changed = records.entries.size !== keys.size || records.unreadable === true || records.old === true;
    let framesChanged = fingerprints.entries.size !== keys.size || fingerprints.unreadable === true || fingerprints.old === true;
    const stale: string[] = [];
    for (const [key, etag] of keys) {
      const kept = records.entries.get(key);
      const frames = fingerprints.entries.get(key);
      const packed = frames && unquote(frames.etag) === etag ? framesFromBase64(frames.frames) : undefined;
      if (kept && unquote(kept.etag) === etag && packed) {
        next.set(key, kept);
        nextFrames.set(key, { ...frames!, packed });
      } else stale.push(key);
    }
    await mapLimit(stale, 8, async (key) => {
      const read = await readRecord(clients, key);
      stats.read++;
      changed = true;
      framesChanged = true;
      // Deleted since the listing: it is gone from the index too.
      if (!read) return;
      // A record speaks for the key it is stored under, whatever key it names.
      const packed = packFrames(read.record.fingerprints ?? []);
      next.set(key, { etag: read.etag, bytes: read.bytes, record: { ...slimOf(read.record), key } });
      nextFrames.set(key, { etag: read.etag, frames: packed.toString("base64"), packed });
    });
    // In key order, as listed: the same index gives the same report.
    const order = [...keys.keys()].filter((key) => next.has(key));
    for (const key of order) {
      if (!key.startsWith(prefix)) continue;
      stats.records++;
      const e = next.get(key)!;
      each({ record: e.record, bytes: e.bytes, frames: nextFrames.get(key)!.packed });
    }
    if (!changed && !framesChanged) return;
    const contents = shardContents(order.map((key) => ({ key, ...next.get(key)!, frames: nextFrames.get(key)!.frames })));
    if (changed && (await writeShard(clients, recordsShardKey(i), contents.records, records))) stats.shardsWritten++;
    if (framesChanged && (await writeShard(clients, fingerprintsShardKey(i), contents.frames, fingerprints))) stats.shardsWritten++;
  });
  return stats;
}
