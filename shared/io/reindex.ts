// Rebuilding the summary from the records, and the drift check that compares the two. Both read the
// records through the index (shared/io/record-index.ts), listing the manifest: a GET only for records
// whose ETag moved since the index was written.
import type { Clients } from "./clients.ts";
import { deleteObject, headObject } from "./objects.ts";
import { type IndexStats, forEachIndexed } from "./record-index.ts";
import { SUMMARY_SHARDS, readSummary, replaceShard, summaryShardKey, writeSummaryMeta } from "./summary.ts";
import { SUMMARY_STALE_KEY } from "../rules/naming.ts";
import { type SummaryShard, addRecord, emptyShard, mergeShards, shardOf, summaryDifferences } from "../rules/summary.ts";

/** Rounds of rebuilding the shards that writers changed while a reindex computed them. */
const MAX_ROUNDS = 5;

/** The summary shards as the records say, computed from the index (brought up to date on the way). */
export async function summaryFromRecords(clients: Clients): Promise<{ shards: SummaryShard[]; stats: IndexStats }> {
  const shards = Array.from({ length: SUMMARY_SHARDS }, emptyShard);
  const stats = await forEachIndexed(clients, ({ record, bytes }) => {
    addRecord(shards[shardOf(record.key, SUMMARY_SHARDS)], { record, bytes }, clients.config.backupPrefix);
  }, { list: true });
  return { shards, stats };
}

export type ReindexResult = IndexStats & { rounds: number };

/**
 * Rebuilds the summary from the records. Each shard is replaced only while it is the version seen before
 * the records were read: a writer that changed it meanwhile sends that shard round again (the index makes
 * the next round read only the records changed since). Exact unless a writer's delta is still on its way
 * when the last round writes (a crash, or a write slower than the round): the next check shows that.
 */
export async function reindex(clients: Clients, now = new Date()): Promise<ReindexResult> {
  // A writer that gives up from here on marks the summary stale again.
  await deleteObject(clients, SUMMARY_STALE_KEY);
  let todo = Array.from({ length: SUMMARY_SHARDS }, (_, i) => i);
  const total: IndexStats = { records: 0, read: 0, shardsWritten: 0, listed: true, marks: 0 };
  for (let round = 1; round <= MAX_ROUNDS; round++) {
    const seen = await Promise.all(todo.map(async (i) => (await headObject(clients, summaryShardKey(i)))?.etag));
    const { shards, stats } = await summaryFromRecords(clients);
    total.records = stats.records;
    total.read += stats.read;
    total.shardsWritten += stats.shardsWritten;
    total.marks = stats.marks;
    const written = await Promise.all(todo.map((i, n) => replaceShard(clients, i, shards[i], seen[n])));
    todo = todo.filter((_, n) => !written[n]);
    if (todo.length === 0) {
      await writeSummaryMeta(clients, now);
      return { ...total, rounds: round };
    }
  }
  throw new Error(`writers kept changing ${todo.length} summary shard(s) during ${MAX_ROUNDS} rounds; run 'reelpress reindex' again when the library is quieter`);
}

export type DriftReport = { differences: string[]; stale: boolean; built: boolean; stats: IndexStats };

/** Compares the kept summary with the records: one line per figure that differs. */
export async function checkSummary(clients: Clients): Promise<DriftReport> {
  const { shards, stats } = await summaryFromRecords(clients);
  const kept = await readSummary(clients);
  return { differences: summaryDifferences(kept.total, mergeShards(shards)), stale: kept.stale, built: kept.meta !== undefined, stats };
}
