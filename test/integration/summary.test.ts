// The library summary and the index against the real folder store, which honours conditional writes:
// concurrent writers lose no update, status reads a few shards, report re-reads only changed records,
// and a drift is found by the check and repaired by reindex.
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { z } from "zod";
import { makeClients, type Clients } from "../../shared/io/clients.ts";
import { gatherStatus, gatherStatusFromListing } from "../../shared/io/library.ts";
import { deleteRecord, patchRecord } from "../../shared/io/manifest.ts";
import { putJson, readJson } from "../../shared/io/objects.ts";
import { forEachIndexed } from "../../shared/io/record-index.ts";
import { checkSummary, reindex } from "../../shared/io/reindex.ts";
import { SUMMARY_META_KEY, SUMMARY_SHARDS, summaryShardKey } from "../../shared/io/summary.ts";
import { MANIFEST_PREFIX, manifestKeyFor } from "../../shared/rules/naming.ts";
import { shardOf } from "../../shared/rules/summary.ts";
import type { ManifestState } from "../../shared/schemas.ts";
import { reelpress } from "../kit/cli.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

/** A client of its own (as another process would have), with every S3 request and every 412 counted. */
function countingClients(stack: TestStack): Clients & { requests: string[]; refused: () => number } {
  const clients = makeClients(stack.config);
  const requests: string[] = [];
  let refused = 0;
  clients.s3.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { Key?: string; Prefix?: string };
      requests.push(`${context.commandName} ${input.Key ?? input.Prefix ?? ""}`);
      try {
        return await next(args);
      } catch (err) {
        if ((err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 412) refused++;
        throw err;
      }
    },
    { step: "initialize" },
  );
  return Object.assign(clients, { requests, refused: () => refused });
}

describe("the library summary", () => {
  let stack: TestStack;
  const put = async (key: string, size: number) => {
    const r = await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: Buffer.alloc(size, 7) }));
    return { key, size, etag: r.ETag! };
  };
  /** Keys of library videos whose summary changes all go to summary shard 0. */
  const sameShard = (n: number) => Array.from({ length: 400 }, (_, i) => `w/f${i % 3}/v${i}.mp4`).filter((k) => shardOf(k, SUMMARY_SHARDS) === 0).slice(0, n);

  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  it("loses no update under concurrent writers in several processes: it equals a reindex", async () => {
    const objects = await Promise.all(sameShard(8).map((k, i) => put(k, 100 + i)));
    const writers = Array.from({ length: 4 }, () => countingClients(stack));
    const states: ManifestState[] = ["probed", "planned", "encoding", "failed", "compressed"];
    // 20 writes at once on 8 keys of one shard, from 4 writers: the same keys and different ones.
    await Promise.all(Array.from({ length: 20 }, (_, i) => {
      const o = objects[i % objects.length];
      return patchRecord(writers[i % 4], o.key, { size: o.size, etag: o.etag, state: states[i % 5], error: i % 5 === 3 ? "moov atom not found" : undefined, savedBytes: i });
    }));
    await Promise.all([deleteRecord(writers[0], objects[0].key), deleteRecord(writers[1], objects[1].key)]);
    for (const o of objects.slice(0, 2)) await stack.s3.send(new DeleteObjectCommand({ Bucket: "reelpress", Key: o.key }));
    // The writers did collide on the shard, and retried.
    expect(writers.reduce((n, w) => n + w.refused(), 0)).toBeGreaterThan(0);
    const drift = await checkSummary(stack);
    expect(drift.differences).toEqual([]);
    expect(drift.stale).toBe(false);
    expect(drift.stats.records).toBe(6);
  });

  it("agrees with the status counted from a listing and every record", async () => {
    await reindex(stack);
    const fromSummary = await gatherStatus(stack);
    const fromListing = await gatherStatusFromListing(stack);
    const { disk: _a, ...summary } = fromSummary.summary;
    const { disk: _b, ...listed } = fromListing.summary;
    expect(summary).toEqual(listed);
    expect(fromSummary.failures).toEqual(fromListing.failures);
    expect(fromSummary.folders).toEqual(fromListing.folders);
    expect(fromSummary.summary.compressed.count + fromSummary.summary.failed.count).toBeGreaterThan(0);
  });

  it("status makes a few requests whatever the number of records, and reads none of them", async () => {
    const more = await Promise.all(Array.from({ length: 60 }, (_, i) => put(`many/v${i}.mp4`, 10)));
    await Promise.all(more.map((o) => patchRecord(stack, o.key, { size: o.size, etag: o.etag, state: "probed" })));
    const reader = countingClients(stack);
    const { summary } = await gatherStatus(reader);
    expect(summary.remaining.count).toBeGreaterThanOrEqual(60);
    expect(reader.requests.filter((r) => r.includes(MANIFEST_PREFIX))).toEqual([]);
    // The shards, the meta object and the stale mark, the runners' folder: nothing that grows with the library.
    expect(reader.requests.length).toBeLessThanOrEqual(SUMMARY_SHARDS + 4);
  });

  it("report's index re-reads only the records that changed", async () => {
    const reader = countingClients(stack);
    await forEachIndexed(reader, () => undefined);
    reader.requests.length = 0;
    const before = await forEachIndexed(reader, () => undefined);
    expect(before.read).toBe(0);
    const o = await put("many/new.mp4", 12);
    await patchRecord(stack, o.key, { size: o.size, etag: o.etag, state: "probed" });
    const after = await forEachIndexed(reader, () => undefined);
    expect(after).toMatchObject({ read: 1, listed: false, marks: 1 });
    expect(reader.requests.filter((r) => r.startsWith("GetObjectCommand .reelpress/manifest/"))).toEqual([`GetObjectCommand ${manifestKeyFor(o.key)}`]);
  });

  it("finds a drift (a counter edited, a shard removed, a record written behind its back) and reindex repairs it", async () => {
    const shard = (await readJson(stack, summaryShardKey(0), z.any())) as { counters: Record<string, Record<string, number>> };
    shard.counters["*"]["remaining.count"] = (shard.counters["*"]["remaining.count"] ?? 0) + 5;
    await putJson(stack, summaryShardKey(0), shard);
    const gone = shardOf("many/v0.mp4", SUMMARY_SHARDS);
    await stack.s3.send(new DeleteObjectCommand({ Bucket: "reelpress", Key: summaryShardKey(gone) }));
    const o = await put("behind/back.mp4", 33);
    await putJson(stack, manifestKeyFor(o.key), { key: o.key, size: o.size, etag: o.etag, state: "compressed", savedBytes: 1, updatedAt: new Date().toISOString() });
    const check = await reelpress(["reindex", "--check"], { env: stack.env });
    expect(check.exitCode, check.stderr).toBe(1);
    expect(check.stdout).toMatch(/^The summary and the records disagree:\n/);
    expect(check.stdout).toContain("library compressed.count: summary ");
    expect(check.stdout).toContain("behind/ compressed.bytes: summary 0, records 33");
    await reindex(stack);
    expect((await checkSummary(stack)).differences).toEqual([]);
    expect((await gatherStatus(stack)).folders).toContainEqual({ folder: "behind/", count: 1, bytes: 33, saved_bytes: 1 });
  });

  it("is built once, saying so, for a library that has none", async () => {
    await stack.s3.send(new DeleteObjectCommand({ Bucket: "reelpress", Key: SUMMARY_META_KEY }));
    const reader = countingClients(stack);
    let told = 0;
    const onBuild = () => told++;
    // Two requests at once (two dashboard tabs): both are told, one build runs.
    const [a, b] = await Promise.all([gatherStatus(reader, new Date(), { onBuild }), gatherStatus(reader, new Date(), { onBuild })]);
    expect(a.summary).toEqual(b.summary);
    expect(told).toBe(2);
    expect(reader.requests.filter((r) => r === `PutObjectCommand ${SUMMARY_META_KEY}`)).toHaveLength(1);
    expect(await readJson(stack, SUMMARY_META_KEY, z.any())).toMatchObject({ v: 1, shards: SUMMARY_SHARDS });
    await gatherStatus(reader, new Date(), { onBuild });
    expect(told).toBe(2);
  });
});
