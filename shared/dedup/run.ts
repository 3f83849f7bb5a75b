// The effects around the pure stages: read the manifest, hash objects with range GETs (only the
// version the record describes, by If-Match), write computed hashes back, store the report.
import { createHash } from "node:crypto";
import { buffer } from "node:stream/consumers";
import type { Clients } from "../io/clients.ts";
import { updateRecord } from "../io/manifest.ts";
import { forEachIndexed } from "../io/record-index.ts";
import { REPORTS_PREFIX } from "../rules/naming.ts";
import { DedupReport, type ManifestRecord } from "../schemas.ts";
import { getObject, headObject, presignedGetUrl, putJson, readJson } from "../io/objects.ts";
import { FrameStore, entryFrom, isCandidate, type Entry } from "./entry.ts";
import type { DedupOptions } from "./options.ts";
import { findDuplicates, type CountingHasher } from "./pipeline.ts";
import { buildReport } from "./report.ts";

/** Head, middle and tail pieces of this size make the partial hash (vdedup's 4 MiB). */
export const PARTIAL_CHUNK = 4 * 1024 ** 2;
export const LATEST_REPORT_KEY = `${REPORTS_PREFIX}latest.json`;

/** Byte ranges (inclusive) of the partial hash: the whole object when the pieces would overlap. */
export function partialRanges(size: number, chunk = PARTIAL_CHUNK): Array<[number, number]> {
  if (size <= 3 * chunk) return [[0, size - 1]];
  const mid = Math.floor(size / 2 - chunk / 2);
  return [[0, chunk - 1], [mid, mid + chunk - 1], [size - chunk, size - 1]];
}

type Hash = ReturnType<typeof createHash>;

/** Streams one range (or the whole object) of exactly this version into `hashes`; returns bytes read. */
async function readInto(clients: Clients, e: Entry, hashes: Hash[], range?: [number, number]): Promise<number> {
  const { body } = await getObject(clients, e.key, { ifMatch: e.etag, range });
  let n = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    for (const h of hashes) h.update(chunk);
    n += chunk.length;
  }
  return n;
}

/** Records a computed hash on the record of this very version; a record that moved on is left alone. */
async function remember(clients: Clients, e: Entry, patch: Partial<Pick<ManifestRecord, "partialHash" | "sha256">>): Promise<void> {
  await updateRecord(clients, e.key, (cur) => (cur && cur.size === e.size && cur.etag === e.etag ? { ...cur, ...patch } : undefined));
}

export function s3Hasher(clients: Clients): CountingHasher {
  const bytesRead = { partial: 0, full: 0 };
  // A small object's partial read is the whole object: its SHA-256 comes from the same read.
  const readWhole = new Map<number, string>();
  return {
    bytesRead,
    async partial(e) {
      const hash = createHash("sha256").update(`${e.size}\n`);
      const ranges = partialRanges(e.size);
      const whole = ranges.length === 1 ? createHash("sha256") : undefined;
      for (const r of ranges) {
        const n = await readInto(clients, e, whole ? [hash, whole] : [hash], r);
        bytesRead.partial += n;
      }
      const value = `p4m:${hash.digest("hex")}`;
      const sha256 = whole?.digest("hex");
      if (sha256) readWhole.set(e.id, sha256);
      await remember(clients, e, sha256 ? { partialHash: value, sha256 } : { partialHash: value });
      return value;
    },
    async full(e) {
      const known = readWhole.get(e.id);
      if (known) return known;
      const hash = createHash("sha256");
      const n = await readInto(clients, e, [hash]);
      bytesRead.full += n;
      const value = hash.digest("hex");
      await remember(clients, e, { sha256: value });
      return value;
    },
  };
}

/**
 * Every candidate record under the library prefix, kept compact as it streams in from the index
 * (which reads only the records changed since it was written); `read` counts those record GETs.
 */
export async function readEntries(clients: Clients): Promise<{ entries: Entry[]; records: number; read: number; listed: boolean }> {
  const entries: Entry[] = [];
  const store = new FrameStore();
  const stats = await forEachIndexed(clients, ({ record, frames }) => {
    if (isCandidate(record, clients.config.backupPrefix)) entries.push(entryFrom(record, entries.length, store, frames));
  }, { prefix: clients.config.prefix });
  // The index's shards come in any order; the stages see the entries in key order, as listed.
  entries.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)).forEach((e, i) => (e.id = i));
  return { entries, records: stats.records, read: stats.read, listed: stats.listed };
}

/** Builds a report from the manifest and stores it as <ISO time>.json and latest.json. */
export async function buildAndStoreReport(clients: Clients, options: DedupOptions): Promise<{ report: DedupReport; key: string }> {
  const startedAt = new Date();
  const t0 = performance.now();
  const { entries, records, read, listed } = await readEntries(clients);
  const readMs = Math.round(performance.now() - t0);
  const { groups, stages } = await findDuplicates(entries, options, s3Hasher(clients));
  stages.unshift({ stage: "manifest", input: records, output: entries.length, bytes_read: 0, time_ms: readMs, note: `records from the index, ${read} read again as changed (${listed ? "the manifest listed" : "the writers' change marks"}); in-progress, failed and system objects left out` });
  const report = buildReport(groups, { bucket: clients.config.bucket, options, stages, records, startedAt, elapsedMs: performance.now() - t0 });
  const key = `${REPORTS_PREFIX}${startedAt.toISOString()}.json`;
  await putJson(clients, key, report);
  await putJson(clients, LATEST_REPORT_KEY, report);
  return { report, key };
}

/** The latest stored report, or undefined when none was built yet. */
export function readLatestReport(clients: Clients): Promise<DedupReport | undefined> {
  return readJson(clients, LATEST_REPORT_KEY, DedupReport);
}

/** Montages up to this size go into the page itself; larger ones by presigned URL. */
const INLINE_MONTAGE_LIMIT = 2 * 1024 ** 2;
/** Previews are many and larger: only short ones go into the page, so a page of a hundred groups stays small. */
const INLINE_PREVIEW_LIMIT = 256 * 1024;

/** URLs for the montages, thumbnails and previews a report mentions: data: URLs (the page stands alone) or presigned GETs. */
export async function montageImages(clients: Clients, report: DedupReport): Promise<Record<string, string>> {
  const keys = new Set<string>();
  const previews = new Set<string>();
  for (const g of report.groups)
    for (const m of Object.values((g.metadata.media ?? {}) as Record<string, { montage_key?: string; thumbnail_key?: string; preview_key?: string }>)) {
      // The montage where the runner made one; the probe's still for every other file.
      const key = m.montage_key ?? m.thumbnail_key;
      if (key) keys.add(key);
      if (m.preview_key) previews.add(m.preview_key);
    }
  const images: Record<string, string> = {};
  await Promise.all(
    [...keys, ...previews].map(async (key) => {
      const head = await headObject(clients, key);
      if (!head) return;
      const preview = previews.has(key);
      if (head.size > (preview ? INLINE_PREVIEW_LIMIT : INLINE_MONTAGE_LIMIT)) {
        images[key] = await presignedGetUrl(clients, key, 7 * 24 * 3600);
        return;
      }
      const res = await getObject(clients, key);
      const type = preview ? "video/webm" : (res.contentType ?? "image/jpeg");
      images[key] = `data:${type};base64,${(await buffer(res.body)).toString("base64")}`;
    }),
  );
  return images;
}
