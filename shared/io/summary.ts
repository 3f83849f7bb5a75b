// The library summary: counts and bytes per state and per folder, failures and set-aside names, kept
// in shards under .reelpress/summary/ by the writers of the manifest. Each record change adds its
// delta to the shard its key hashes to, by read, change and conditional write (If-Match / If-None-Match,
// retried like the manifest's), so concurrent writers lose no update; writers of one process merge their
// deltas while a write of that shard is in flight. `status` reads the few shards, never the records.
// A crash between a record's write and its delta leaves a drift: `reelpress reindex --check` finds it
// and `reelpress reindex` (shared/io/reindex.ts) rebuilds the shards from the records.
import type { S3Client } from "@aws-sdk/client-s3";
import { z } from "zod";
import type { Clients } from "./clients.ts";
import { createJson, createMarker, headObject, putJson, readJsonVersion, replaceJson } from "./objects.ts";
import { SUMMARY_PREFIX, SUMMARY_STALE_KEY } from "../rules/naming.ts";
import { type SummaryDelta, type SummaryRecord, type SummaryShard, applyDelta, deltaOf, emptyShard, isEmptyDelta, mergeDeltas, mergeShards, shardOf } from "../rules/summary.ts";

export const SUMMARY_SHARDS = 16;
/** Written by `reindex`: its presence says the shards were built from the records and are kept since. */
export const SUMMARY_META_KEY = `${SUMMARY_PREFIX}meta.json`;
/** A shard taken by other writers this many times in a row is given up on (and marked stale). */
const MAX_ATTEMPTS = 40;

const Tallies = z.record(z.string(), z.record(z.string(), z.number()));
const NoteSchema = z.object({
  failure: z.object({ reason: z.string(), error: z.string().optional(), at: z.string().optional() }).optional(),
  aside: z.array(z.object({ key: z.string(), note: z.string() })).optional(),
});
const ShardSchema = z.object({ v: z.literal(1), counters: Tallies, notes: z.record(z.string(), NoteSchema) });
export const SummaryMeta = z.object({ v: z.literal(1), shards: z.number().int().positive(), built_at: z.string() });
export type SummaryMeta = z.infer<typeof SummaryMeta>;

export const summaryShardKey = (i: number) => `${SUMMARY_PREFIX}shard-${String(i).padStart(2, "0")}.json`;

/** One version of a record, as the summary weighs it. */
export type RecordVersion = { record: SummaryRecord; bytes: number };

type Slot = { pending?: { delta: SummaryDelta; done: Array<() => void> }; running: boolean };
/** Per S3 client and bucket, per shard: the deltas waiting for the write in flight. */
const slots = new WeakMap<S3Client, Map<string, Slot>>();

const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Adds `delta` to one shard: read, apply, write over that version only; again when another writer won. */
async function applyToShard(clients: Clients, key: string, delta: SummaryDelta): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const read = await readJsonVersion(clients, key, ShardSchema);
    const next = { v: 1, ...applyDelta(read?.value ?? emptyShard(), delta) };
    if (read ? await replaceJson(clients, key, next, read.etag) : await createJson(clients, key, next)) return;
    if (attempt >= MAX_ATTEMPTS) throw new Error(`summary shard ${key}: ${MAX_ATTEMPTS} writes lost to other writers`);
    // Spread the writers that collided, so that one of them wins the next round.
    await pause(Math.random() * Math.min(200, 5 * attempt));
  }
}

async function drain(clients: Clients, key: string, slot: Slot): Promise<void> {
  while (slot.pending) {
    const { delta, done } = slot.pending;
    slot.pending = undefined;
    try {
      await applyToShard(clients, key, delta);
    } catch {
      // The record is written; its delta is not. Say so where status looks, so nobody trusts a drifted summary.
      await createMarker(clients, SUMMARY_STALE_KEY).catch(() => undefined);
    }
    for (const d of done) d();
  }
  slot.running = false;
}

/**
 * Adds the change of `key`'s record from `before` to `after` to the summary; resolves once it is stored
 * (or, if it could not be, once the summary is marked stale). Never throws: the record write stands.
 */
export function recordSummaryChange(clients: Clients, key: string, before: RecordVersion | undefined, after: RecordVersion | undefined): Promise<void> {
  const delta = deltaOf(key, before, after, clients.config.backupPrefix);
  if (isEmptyDelta(delta)) return Promise.resolve();
  const shardKey = summaryShardKey(shardOf(key, SUMMARY_SHARDS));
  let byShard = slots.get(clients.s3);
  if (!byShard) slots.set(clients.s3, (byShard = new Map()));
  const slotKey = `${clients.config.bucket}/${shardKey}`;
  let slot = byShard.get(slotKey);
  if (!slot) byShard.set(slotKey, (slot = { running: false }));
  return new Promise<void>((resolve) => {
    const s = slot!;
    s.pending = s.pending ? { delta: mergeDeltas(s.pending.delta, delta), done: [...s.pending.done, resolve] } : { delta, done: [resolve] };
    if (!s.running) {
      s.running = true;
      void drain(clients, shardKey, s).finally(() => byShard!.get(slotKey) === s && !s.running && byShard!.delete(slotKey));
    }
  });
}

/** What status reads: the shards added up, whether reindex ever built them, and whether a writer gave up. */
export type KeptSummary = { total: SummaryShard; meta?: SummaryMeta; stale: boolean };

/** Only whether reindex built the summary and whether a writer gave up since: two requests, for `doctor`. */
export async function readSummaryMarks(clients: Clients): Promise<{ meta?: SummaryMeta; stale: boolean }> {
  const [meta, marker] = await Promise.all([readMeta(clients), headObject(clients, SUMMARY_STALE_KEY)]);
  return { meta, stale: marker !== undefined };
}

async function readMeta(clients: Clients): Promise<SummaryMeta | undefined> {
  try {
    return (await readJsonVersion(clients, SUMMARY_META_KEY, SummaryMeta))?.value;
  } catch (err) {
    // Not in the meta's shape: as if never built, so the next status builds it again.
    if (err instanceof SyntaxError || err instanceof z.ZodError) return undefined;
    throw err;
  }
}

/** The shards added up; a shard not in the summary's shape counts as a drift (stale) and as empty. */
export async function readSummary(clients: Clients): Promise<KeptSummary> {
  let unreadable = false;
  const readOne = async (i: number) => {
    try {
      return (await readJsonVersion(clients, summaryShardKey(i), ShardSchema))?.value ?? emptyShard();
    } catch (err) {
      if (!(err instanceof SyntaxError || err instanceof z.ZodError)) throw err;
      unreadable = true;
      return emptyShard();
    }
  };
  const [marks, shards] = await Promise.all([readSummaryMarks(clients), Promise.all(Array.from({ length: SUMMARY_SHARDS }, (_, i) => readOne(i)))]);
  return { total: mergeShards(shards), meta: marks.meta, stale: unreadable || marks.stale };
}

/** Replaces shard `i` with what `reindex` computed, only while it is version `etag` (absent: none). */
export function replaceShard(clients: Clients, i: number, shard: SummaryShard, etag: string | undefined): Promise<boolean> {
  const value = { v: 1, ...shard };
  return etag ? replaceJson(clients, summaryShardKey(i), value, etag) : createJson(clients, summaryShardKey(i), value);
}

/** Says the shards were built from the records; only `reindex` writes it. */
export async function writeSummaryMeta(clients: Clients, builtAt: Date): Promise<void> {
  await putJson(clients, SUMMARY_META_KEY, { v: 1, shards: SUMMARY_SHARDS, built_at: builtAt.toISOString() } satisfies SummaryMeta);
}
