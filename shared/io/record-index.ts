// The index: a compacted snapshot of the manifest, in shards under .reelpress/index/, holding each
// record's slim fields (what status and report read) and, in shards of their own, its fingerprints,
// both stamped with the ETag of the record object they were read from. Writers mark each key whose
// record they change (shared/io/index-changes.ts), so a reader lists only the marks, reads those records
// and writes back the shards that changed: O(changed) requests, where listing the manifest is a request
// per thousand records. Once a week, and whenever a shard is missing or out of shape, the reader lists the
// manifest too and compares ETags. It is a cache: the records stay the truth, a lost write costs a re-read.
import { z } from "zod";
import type { Clients } from "./clients.ts";
import { readRecord } from "./manifest.ts";
import { type ChangeMark, listChangeMarks, settleMarks } from "./index-changes.ts";
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
 * The envelope is checked by hand (a schema would copy 10⁶ tuples); each entry on its own (a slim record
 * by its schema, a few µs; frames by their length and values), and an entry that fails is read again
 * from its record, as a changed one is.
 */
const VERSION = 2;
/** Version 1 (frames as objects, checked whole), converted when read, so an upgrade re-reads no record. */
const RecordsShardV1 = z.object({
  v: z.literal(1),
  entries: z.record(z.string(), z.object({ etag: z.string(), bytes: z.number().int().nonnegative(), record: SlimRecord })),
});
const FramesShardV1 = z.object({ v: z.literal(1), entries: z.record(z.string(), z.object({ etag: z.string(), fingerprints: z.array(FrameFingerprint) })) });

/** A records entry as stored: key, record ETag, record size, slim record (checked only when used). */
type RecordTuple = [key: string, etag: string, bytes: number, record: unknown];
/** A frames entry as stored: key, record ETag, frames in base64 (checked only when used). */
type FramesTuple = [key: string, etag: string, frames: unknown];

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
/** An ETag without its quotes (a listing quotes them, some stores' GETs may not). */
function unquote(etag: string): string {
  const from = etag.charCodeAt(0) === 34 ? 1 : 0;
  const to = etag.length > from && etag.charCodeAt(etag.length - 1) === 34 ? etag.length - 1 : etag.length;
  return from === 0 && to === etag.length ? etag : etag.slice(from, to);
}

export function slimOf(record: ManifestRecord): SlimRecord {
  const { fingerprints: _f, decision: _d, plan: _p, runner: _r, ...slim } = record;
  return slim.media ? { ...slim, media: { ...slim.media, audio: [], subtitles: [], tags: {} } } : slim;
}

/** One record as the index gives it: slim fields, the record object's size, its frames packed (shared/rules/frame-codec.ts). */
export type IndexedRecord = { record: SlimRecord; bytes: number; frames: Buffer };
/** `listed`: whether the manifest was listed; `marks`: change marks found. */
export type IndexStats = { records: number; read: number; shardsWritten: number; listed: boolean; marks: number };

/**
 * A shard's entries in stored order; `old`: in version 1's form, so written again in this version's even
 * where no record changed. Entries not in the tuple's shape are left out (their records are read again).
 */
type Parsed<T> = { entries: T[]; old?: true; dropped?: number };
type Shard<T> = Parsed<T> & { etag?: string; unreadable?: true };

/** A shard as stored, or empty when absent or not in the index's shape (it is then rebuilt). */
async function readShard<T>(clients: Clients, key: string, parse: (json: unknown) => Parsed<T>): Promise<Shard<T>> {
  try {
    const read = await readJsonVersion(clients, key, z.unknown());
    return read ? { ...parse(read.value), etag: read.etag } : { entries: [] };
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof z.ZodError) return { entries: [], unreadable: true };
    throw err;
  }
}

/** The `entries` array of a version-2 shard; throws (the shard is rebuilt) when the envelope is not one. */
function entriesOf(json: unknown): unknown[] {
  const shard = json as { v?: unknown; entries?: unknown } | null;
  if (typeof shard !== "object" || shard === null || shard.v !== VERSION || !Array.isArray(shard.entries)) throw new SyntaxError("not a shard of the record index");
  return shard.entries;
}

const isString = (x: unknown): x is string => typeof x === "string";

function parseRecordsShard(json: unknown): Parsed<RecordTuple> {
  if ((json as { v?: unknown } | null)?.v === 1) {
    const v1 = RecordsShardV1.parse(json);
    return { entries: Object.entries(v1.entries).map(([key, e]) => [key, e.etag, e.bytes, e.record]), old: true };
  }
  const all = entriesOf(json);
  const entries = all.filter(
    (e): e is RecordTuple => Array.isArray(e) && e.length === 4 && isString(e[0]) && isString(e[1]) && Number.isSafeInteger(e[2]) && e[2] >= 0,
  );
  return { entries, dropped: all.length - entries.length };
}

function parseFramesShard(json: unknown): Parsed<FramesTuple> {
  if ((json as { v?: unknown } | null)?.v === 1) {
    const v1 = FramesShardV1.parse(json);
    return { entries: Object.entries(v1.entries).map(([key, e]) => [key, e.etag, packFrames(e.fingerprints).toString("base64")]), old: true };
  }
  return { entries: entriesOf(json).filter((e): e is FramesTuple => Array.isArray(e) && e.length === 3 && isString(e[0]) && isString(e[1])) };
}

/**
 * The entry of `key` in `entries`, which is expected at `at` (a shard lists its keys in the listing's
 * order, so until a record is added or removed each key is where the listing puts it); by key otherwise.
 */
function finder<T extends [string, ...unknown[]]>(entries: readonly T[]): (key: string, at: number) => T | undefined {
  let byKey: Map<string, T> | undefined;
  return (key, at) => {
    const e = entries[at];
    if (e !== undefined && e[0] === key) return e;
    byKey ??= new Map(entries.map((x) => [x[0], x]));
    return byKey.get(key);
  };
}

/** Writes a shard only over the version read; a lost race leaves the other writer's, which is as good. */
async function writeShard(clients: Clients, key: string, value: unknown, read: Shard<unknown>): Promise<boolean> {
  if (read.unreadable) return putJson(clients, key, value).then(() => true);
  return read.etag ? replaceJson(clients, key, value, read.etag) : createJson(clients, key, value);
}

/** The pass's view of one shard's records: their keys in listed order, and the ETag each entry must carry to be kept ("" to be read again). */
type Listed = { keys: string[]; etags: string[] };

/** The manifest's record objects by index shard. */
async function listManifest(clients: Clients): Promise<Listed[]> {
  const byShard = Array.from({ length: INDEX_SHARDS }, (): Listed => ({ keys: [], etags: [] }));
  for await (const objects of listEtagPages(clients, MANIFEST_PREFIX)) {
    for (const o of objects) {
      const key = keyFromManifestKey(o.key);
      if (key === undefined) continue;
      const shard = byShard[shardOf(key, INDEX_SHARDS)];
      shard.keys.push(key);
      shard.etags.push(unquote(o.etag));
    }
  }
  return byShard;
}

/** S3's listing order (UTF-8 bytes of the record objects' names). */
const listingOrder = (a: string, b: string) => Buffer.compare(Buffer.from(`${a}.json`), Buffer.from(`${b}.json`));

/**
 * Shard `i`'s records as its own entries list them, with the marked keys to be read again (those it does
 * not hold yet merged in, in listing order); undefined when the shard cannot vouch for its keys (absent,
 * unreadable, of version 1, with entries out of shape, twice or of another shard): the manifest is listed then.
 */
function fromEntries(i: number, records: Shard<RecordTuple>, marked: readonly string[]): Listed | undefined {
  if (records.etag === undefined || records.old || records.dropped) return undefined;
  const keys = records.entries.map((e) => e[0]);
  const etags = records.entries.map((e) => unquote(e[1]));
  const at = new Map<string, number>();
  for (let n = 0; n < keys.length; n++) {
    if (at.has(keys[n]) || shardOf(keys[n], INDEX_SHARDS) !== i) return undefined;
    at.set(keys[n], n);
  }
  const added = marked.filter((key) => {
    const n = at.get(key);
    if (n !== undefined) etags[n] = "";
    return n === undefined;
  });
  if (added.length === 0) return { keys, etags };
  added.sort(listingOrder);
  const merged: Listed = { keys: [], etags: [] };
  for (let n = 0, a = 0; n < keys.length || a < added.length; ) {
    const takeAdded = a < added.length && (n === keys.length || listingOrder(added[a], keys[n]) < 0);
    merged.keys.push(takeAdded ? added[a] : keys[n]);
    merged.etags.push(takeAdded ? "" : etags[n]);
    if (takeAdded) a++;
    else n++;
  }
  return merged;
}

/** Written after a pass that listed the whole manifest: from then on the change marks say what moved. */
export const INDEX_META_KEY = `${INDEX_PREFIX}meta.json`;
const IndexMeta = z.object({ v: z.literal(1), listed_at: z.string() });
/** Even with marks, the manifest is listed this often: what a writer that marks nothing changed (an older version, a hand edit) shows within a week. */
export const LIST_EVERY_MS = 7 * 24 * 3600_000;

async function listedRecently(clients: Clients, now: number): Promise<boolean> {
  try {
    const meta = await readJsonVersion(clients, INDEX_META_KEY, IndexMeta);
    return meta !== undefined && now - Date.parse(meta.value.listed_at) < LIST_EVERY_MS;
  } catch (err) {
    if (err instanceof SyntaxError || err instanceof z.ZodError) return false;
    throw err;
  }
}

/** What the index keeps of one record as it goes through a shard. */
type Kept = { etag: string; bytes: number; record: SlimRecord; frames: string; packed: Buffer };

export type IndexOptions = {
  /** Only records under it go to `each`; every shard is kept current all the same. */
  prefix?: string;
  /** List the whole manifest and compare ETags, whatever the marks say (reindex, the drift check). */
  list?: boolean;
};

/**
 * Brings the index up to date with the manifest and calls `each` with every record in it, shard by
 * shard (so only a few shards' frames are in memory at a time). Reads only records marked changed, or
 * whose entry is not in the index's shape; with `list` (or a week after the last listing, or for a shard
 * that cannot vouch for its keys) it lists the manifest and also reads those whose ETag moved.
 */
export async function forEachIndexed(clients: Clients, each: (r: IndexedRecord) => void, opts: IndexOptions = {}): Promise<IndexStats> {
  const prefix = opts.prefix ?? "";
  const startedAt = Date.now();
  // Marks first: a change marked after this is still marked after the pass.
  const marks = await listChangeMarks(clients);
  const byMarks = !opts.list && (await listedRecently(clients, startedAt));
  const markedIn = Array.from({ length: INDEX_SHARDS }, () => [] as string[]);
  for (const m of marks) markedIn[shardOf(m.key, INDEX_SHARDS)].push(m.key);
  let listing: Promise<Listed[]> | undefined;
  const listed = () => {
    if (!listing) {
      listing = listManifest(clients);
      // Read or not, the listing's failure is this call's: never an unhandled rejection meanwhile.
      listing.catch(() => undefined);
    }
    return listing;
  };
  if (!byMarks) listed();
  const stats: IndexStats = { records: 0, read: 0, shardsWritten: 0, listed: false, marks: marks.length };
  /** Per shard, whether what it holds now is stored: its marks may go. */
  const stored = new Array<boolean>(INDEX_SHARDS).fill(false);
  await mapLimit(Array.from({ length: INDEX_SHARDS }, (_, i) => i), 4, async (i) => {
    const [records, fingerprints] = await Promise.all([
      readShard(clients, recordsShardKey(i), parseRecordsShard),
      readShard(clients, fingerprintsShardKey(i), parseFramesShard),
    ]);
    const { keys, etags } = (byMarks && fromEntries(i, records, markedIn[i])) || (await listed())[i];
    const recordOf = finder(records.entries);
    const framesOf = finder(fingerprints.entries);
    // Position by position with the listing: an entry kept, or undefined for a record read again.
    const kept: Array<Kept | undefined> = new Array(keys.length);
    const stale: number[] = [];
    for (let n = 0; n < keys.length; n++) {
      const r = recordOf(keys[n], n);
      const f = r && unquote(r[1]) === etags[n] ? framesOf(keys[n], n) : undefined;
      const packed = f && unquote(f[1]) === etags[n] ? framesFromBase64(f[2]) : undefined;
      const slim = packed && SlimRecord.safeParse(r![3]);
      // An entry whose record names another key than it is listed under is read again (and then speaks for its own key).
      if (slim?.success && slim.data.key === keys[n]) kept[n] = { etag: r![1], bytes: r![2], record: slim.data, frames: f![2] as string, packed: packed! };
      else stale.push(n);
    }
    // A shard absent, of version 1, unreadable, or with entries of deleted records or not in shape, is written again.
    const used = keys.length - stale.length;
    const absent = (s: Shard<unknown>) => s.etag === undefined && !s.unreadable;
    const changed = stale.length > 0 || records.entries.length !== used || absent(records) || records.unreadable === true || records.old === true;
    const framesChanged = stale.length > 0 || fingerprints.entries.length !== used || absent(fingerprints) || fingerprints.unreadable === true || fingerprints.old === true;
    await mapLimit(stale, 8, async (n) => {
      const read = await readRecord(clients, keys[n]);
      stats.read++;
      // Deleted since the listing: it is gone from the index too.
      if (!read) return;
      // A record speaks for the key it is stored under, whatever key it names.
      const packed = packFrames(read.record.fingerprints ?? []);
      kept[n] = { etag: read.etag, bytes: read.bytes, record: { ...slimOf(read.record), key: keys[n] }, frames: packed.toString("base64"), packed };
    });
    // In key order, as listed: the same index gives the same report.
    const entries: ShardEntry[] = [];
    for (let n = 0; n < keys.length; n++) {
      const e = kept[n];
      if (!e) continue;
      if (changed || framesChanged) entries.push({ key: keys[n], etag: e.etag, bytes: e.bytes, record: e.record, frames: e.frames });
      if (!keys[n].startsWith(prefix)) continue;
      stats.records++;
      each({ record: e.record, bytes: e.bytes, frames: e.packed });
    }
    const contents = changed || framesChanged ? shardContents(entries) : undefined;
    const recordsStored = !changed || (await writeShard(clients, recordsShardKey(i), contents!.records, records));
    const framesStored = !framesChanged || (await writeShard(clients, fingerprintsShardKey(i), contents!.frames, fingerprints));
    stats.shardsWritten += (changed && recordsStored ? 1 : 0) + (framesChanged && framesStored ? 1 : 0);
    stored[i] = recordsStored && framesStored;
  });
  stats.listed = listing !== undefined;
  // A pass that listed every shard's records makes the marks the record of what moves from now on.
  if (!byMarks) await putJson(clients, INDEX_META_KEY, { v: 1, listed_at: new Date(startedAt).toISOString() });
  await settleMarks(clients, marks.filter((m: ChangeMark) => stored[shardOf(m.key, INDEX_SHARDS)]));
  return stats;
}
