// The index: a compacted snapshot of the manifest, in shards under .reelpress/index/, holding each
// record's slim fields (what status and report read) and its fingerprints, stamped with the ETag of the
// record object they were read from. Writers mark each key whose record they change
// (shared/io/index-changes.ts), so a reader lists only the marks, reads those records and writes back the
// shards that changed: O(changed) requests, where listing the manifest is a request per thousand records.
// Once a week, and whenever a shard is missing or out of shape, the reader lists the manifest too and
// compares ETags. It is a cache: the records stay the truth, a lost write costs a re-read.
import { z } from "zod";
import type { Clients } from "./clients.ts";
import { readRecord } from "./manifest.ts";
import { listChangeMarks, settleMarks } from "./index-changes.ts";
import { deleteObjects, listEtagPages, putBytes, putJson, readBytesVersion, readJsonVersion } from "./objects.ts";
import { mapLimit } from "../pool.ts";
import { INDEX_PREFIX, MANIFEST_PREFIX, keyFromManifestKey } from "../rules/naming.ts";
import { shardOf } from "../rules/summary.ts";
import { checkedFrames, framesFromBase64, packFrames, packedFrameBytes, packedFrameCount } from "../rules/frame-codec.ts";
import { ManifestRecord } from "../schemas.ts";

/** 64 shards: at 10⁶ records about 16k each, so one new record rewrites a sixty-fourth of the index. */
export const INDEX_SHARDS = 64;

/** A record without what neither status nor report reads (frames, plan, claim, media tags and streams). */
export const SlimRecord = ManifestRecord.omit({ fingerprints: true, decision: true, plan: true, runner: true });
export type SlimRecord = z.infer<typeof SlimRecord>;

/**
 * Version 3: one object a shard, `shard-NN.bin`: "RPI3", the byte length of a JSON part (32-bit LE), the
 * JSON part {"v":3,"entries":[[key, record ETag, record size, slim record, frame count], …]} in listing
 * order, then each entry's frames packed (shared/rules/frame-codec.ts), in the same order. One object, so
 * slim fields and frames are always of one version; frames as bytes, not base64 in JSON. The envelope is
 * checked by hand (a schema would copy 10⁶ tuples; an envelope out of shape rebuilds the shard); each
 * entry on its own (a slim record by its schema, a few µs; frames by their values), and an entry that
 * fails is read again from its record, as a changed one is.
 */
const MAGIC = "RPI3";
const HEAD_BYTES = 8;
export const shardKey = (i: number) => `${INDEX_PREFIX}shard-${String(i).padStart(2, "0")}.bin`;
/** Version 2 kept a shard in two JSON objects: read where no version 3 is yet (an upgrade reads no record again), then removed. */
const v2Keys = (i: number) => ["records", "fingerprints"].map((kind) => `${INDEX_PREFIX}${kind}-${String(i).padStart(2, "0")}.json`);

/** One record's entry in the index: the record object's ETag and size, its slim fields, its frames packed. */
export type ShardEntry = { key: string; etag: string; bytes: number; record: SlimRecord; frames: Buffer };

export function encodeShard(entries: readonly ShardEntry[]): Buffer {
  const json = Buffer.from(JSON.stringify({ v: 3, entries: entries.map((e) => [e.key, e.etag, e.bytes, e.record, packedFrameCount(e.frames)]) }));
  const head = Buffer.alloc(HEAD_BYTES);
  head.write(MAGIC, 0, "latin1");
  head.writeUInt32LE(json.length, 4);
  return Buffer.concat([head, json, ...entries.map((e) => e.frames)]);
}

/** An entry as stored: its slim record not checked yet; frames undefined when not in range. */
export type StoredEntry = { key: string; etag: string; bytes: number; record: unknown; frames: Buffer | undefined };

const isString = (x: unknown): x is string => typeof x === "string";
const isCount = (x: unknown): x is number => Number.isSafeInteger(x) && (x as number) >= 0;

/** A shard's entries; throws a SyntaxError when the bytes are not a shard of version 3. */
export function decodeShard(body: Buffer): StoredEntry[] {
  const notShard = () => new SyntaxError("not a shard of the record index");
  if (body.length < HEAD_BYTES || body.toString("latin1", 0, 4) !== MAGIC) throw notShard();
  const jsonEnd = HEAD_BYTES + body.readUInt32LE(4);
  if (jsonEnd > body.length) throw notShard();
  const json = JSON.parse(body.toString("utf8", HEAD_BYTES, jsonEnd)) as { v?: unknown; entries?: unknown } | null;
  if (typeof json !== "object" || json === null || json.v !== 3 || !Array.isArray(json.entries)) throw notShard();
  const entries: StoredEntry[] = new Array(json.entries.length);
  let at = jsonEnd;
  for (let n = 0; n < entries.length; n++) {
    const e = json.entries[n] as unknown[];
    // Without its frame count no later entry's frames can be found: the whole shard is rebuilt.
    if (!Array.isArray(e) || e.length !== 5 || !isString(e[0]) || !isString(e[1]) || !isCount(e[2]) || !isCount(e[4])) throw notShard();
    const end = at + packedFrameBytes(e[4]);
    if (end > body.length) throw notShard();
    entries[n] = { key: e[0], etag: e[1], bytes: e[2], record: e[3], frames: checkedFrames(body.subarray(at, end)) };
    at = end;
  }
  if (at !== body.length) throw notShard();
  return entries;
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
 * A shard as stored: its entries in stored order, and its version's ETag (none: not there). `unreadable`:
 * there but not a shard; `v2`: read from version 2's objects, so written again as version 3 even where
 * no record changed.
 */
type Shard = { entries: StoredEntry[]; etag?: string; unreadable?: true; v2?: true };

async function readShard(clients: Clients, i: number): Promise<Shard> {
  try {
    const read = await readBytesVersion(clients, shardKey(i));
    if (read) return { entries: decodeShard(read.body), etag: read.etag };
  } catch (err) {
    if (err instanceof SyntaxError) return { entries: [], unreadable: true };
    throw err;
  }
  return readShardV2(clients, i);
}

/** Version 2's pair of objects as entries (frames only where both agree on the record's ETag); none where it is not there or not in shape. */
async function readShardV2(clients: Clients, i: number): Promise<Shard> {
  const [records, frames] = await Promise.all(
    v2Keys(i).map(async (key) => {
      try {
        const json = (await readJsonVersion(clients, key, z.unknown()))?.value as { v?: unknown; entries?: unknown } | undefined;
        return { there: json !== undefined, entries: json?.v === 2 && Array.isArray(json.entries) ? (json.entries as unknown[][]) : [] };
      } catch (err) {
        if (err instanceof SyntaxError) return { there: true, entries: [] };
        throw err;
      }
    }),
  );
  if (!records.there && !frames.there) return { entries: [] };
  const framesOf = new Map(frames.entries.filter((f) => Array.isArray(f) && isString(f[0]) && isString(f[1])).map((f) => [f[0] as string, f]));
  const entries = records.entries
    .filter((e) => Array.isArray(e) && e.length === 4 && isString(e[0]) && isString(e[1]) && isCount(e[2]))
    .map((e): StoredEntry => {
      const f = framesOf.get(e[0] as string);
      return { key: e[0] as string, etag: e[1] as string, bytes: e[2] as number, record: e[3], frames: f && f[1] === e[1] ? framesFromBase64(f[2]) : undefined };
    });
  return { entries, v2: true };
}

/**
 * The entry of `key` in `entries`, which is expected at `at` (a shard lists its keys in the listing's
 * order, so until a record is added or removed each key is where the listing puts it); by key otherwise.
 */
function finder(entries: readonly StoredEntry[]): (key: string, at: number) => StoredEntry | undefined {
  let byKey: Map<string, StoredEntry> | undefined;
  return (key, at) => {
    const e = entries[at];
    if (e !== undefined && e.key === key) return e;
    byKey ??= new Map(entries.map((x) => [x.key, x]));
    return byKey.get(key);
  };
}

/** Writes a shard only over the version read; a lost race leaves the other writer's, which is as good. */
async function writeShard(clients: Clients, i: number, body: Buffer, read: Shard): Promise<boolean> {
  // Not a shard: overwritten. Not there (or only in version 2): created only where nothing is.
  const written = await putBytes(clients, shardKey(i), body, read.unreadable ? undefined : (read.etag ?? null));
  if (written && read.v2) await deleteObjects(clients, v2Keys(i));
  return written;
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
 * unreadable, of version 2, with a key twice or of another shard): the manifest is listed then.
 */
function fromEntries(i: number, shard: Shard, marked: readonly string[]): Listed | undefined {
  if (shard.etag === undefined) return undefined;
  const keys = shard.entries.map((e) => e.key);
  const etags = shard.entries.map((e) => unquote(e.etag));
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
type Kept = { etag: string; bytes: number; record: SlimRecord; frames: Buffer };

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
    const shard = await readShard(clients, i);
    const { keys, etags } = (byMarks && fromEntries(i, shard, markedIn[i])) || (await listed())[i];
    const entryOf = finder(shard.entries);
    // Position by position with the listing: an entry kept, or undefined for a record read again.
    const kept: Array<Kept | undefined> = new Array(keys.length);
    const stale: number[] = [];
    for (let n = 0; n < keys.length; n++) {
      const e = entryOf(keys[n], n);
      const slim = e && e.frames && unquote(e.etag) === etags[n] ? SlimRecord.safeParse(e.record) : undefined;
      // An entry whose record names another key than it is listed under is read again (and then speaks for its own key).
      if (slim?.success && slim.data.key === keys[n]) kept[n] = { etag: e!.etag, bytes: e!.bytes, record: slim.data, frames: e!.frames! };
      else stale.push(n);
    }
    // A shard absent, of version 2, unreadable, or with entries of deleted records or not in shape, is written again.
    const changed = stale.length > 0 || shard.entries.length !== keys.length || shard.etag === undefined || shard.v2 === true;
    await mapLimit(stale, 8, async (n) => {
      const read = await readRecord(clients, keys[n]);
      stats.read++;
      // Deleted since the listing: it is gone from the index too.
      if (!read) return;
      // A record speaks for the key it is stored under, whatever key it names.
      kept[n] = { etag: read.etag, bytes: read.bytes, record: { ...slimOf(read.record), key: keys[n] }, frames: packFrames(read.record.fingerprints ?? []) };
    });
    // In key order, as listed: the same index gives the same report.
    const entries: ShardEntry[] = [];
    for (let n = 0; n < keys.length; n++) {
      const e = kept[n];
      if (!e) continue;
      if (changed) entries.push({ key: keys[n], etag: e.etag, bytes: e.bytes, record: e.record, frames: e.frames });
      if (!keys[n].startsWith(prefix)) continue;
      stats.records++;
      each({ record: e.record, bytes: e.bytes, frames: e.frames });
    }
    stored[i] = !changed || (await writeShard(clients, i, encodeShard(entries), shard));
    if (changed && stored[i]) stats.shardsWritten++;
  });
  stats.listed = listing !== undefined;
  // A pass that listed every shard's records makes the marks the record of what moves from now on.
  if (!byMarks) await putJson(clients, INDEX_META_KEY, { v: 1, listed_at: new Date(startedAt).toISOString() });
  await settleMarks(clients, marks.filter((m) => stored[shardOf(m.key, INDEX_SHARDS)]));
  return stats;
}
