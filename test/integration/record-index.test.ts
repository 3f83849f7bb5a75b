// The record index against the real folder store: the manifest listing read without the SDK gives what
// the SDK gives, and shards that are damaged, forged or of the old version never crash a reader nor
// stand for records: what cannot be trusted is read again from the records, and only that.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClients } from "../../shared/io/clients.ts";
import { deleteRecord, patchRecord, readRecord } from "../../shared/io/manifest.ts";
import { deleteObject, listEtagPages, listKeys, listPages, putBytes, putJson, readBytesVersion } from "../../shared/io/objects.ts";
import {
  INDEX_META_KEY, INDEX_SHARDS, LIST_EVERY_MS, type IndexedRecord, type ShardEntry, type StoredEntry, decodeShard, encodeShard, forEachIndexed, shardKey, slimOf,
} from "../../shared/io/record-index.ts";
import { mapLimit } from "../../shared/pool.ts";
import { unpackFrames } from "../../shared/rules/frame-codec.ts";
import { INDEX_CHANGED_PREFIX, INDEX_PREFIX, MANIFEST_PREFIX, manifestKeyFor } from "../../shared/rules/naming.ts";
import { shardOf } from "../../shared/rules/summary.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

const hash = (n: number) => n.toString(16).padStart(16, "0");

describe("the record index", () => {
  let stack: TestStack;
  const keys = Array.from({ length: 40 }, (_, i) => `idx/f${i % 4}/v${i}.mp4`);
  /** Every record as forEachIndexed gives it, frames unpacked, by key; and its stats. */
  const indexed = async () => {
    const seen = new Map<string, { record: IndexedRecord["record"]; bytes: number; frames: unknown }>();
    const stats = await forEachIndexed(stack, (r) => seen.set(r.record.key, { record: r.record, bytes: r.bytes, frames: unpackFrames(r.frames) }));
    return { seen, stats };
  };
  const truth = async () =>
    new Map(await Promise.all(keys.map(async (key) => {
      const r = (await readRecord(stack, key))!;
      return [key, { record: slimOf(r.record), bytes: r.bytes, frames: r.record.fingerprints }] as const;
    })));
  const storedShard = async (i: number) => decodeShard((await readBytesVersion(stack, shardKey(i)))!.body);
  const storeShard = (i: number, entries: StoredEntry[]) => putBytes(stack, shardKey(i), encodeShard(entries as ShardEntry[]), undefined);
  /** A shard index that holds at least two of the records. */
  const shard = () => [...Array(INDEX_SHARDS).keys()].find((i) => keys.filter((k) => shardOf(k, INDEX_SHARDS) === i).length >= 2)!;

  beforeAll(async () => {
    stack = await startTestStack();
    await mapLimit(keys, 8, (key, i) =>
      patchRecord(stack, key, {
        size: 1000 + i, etag: `"${hash(i)}"`, state: "probed",
        fingerprints: Array.from({ length: 4 }, (_, k) => ({ t: k * 1.5, hash: hash(i * 7 + k), flip: k % 2 ? hash(k) : undefined, dark: k === 3 })),
      }),
    );
  });
  afterAll(() => stack?.stop());

  it("lists the manifest, without the SDK's parser, as the SDK lists it, over several pages and odd keys", async () => {
    const odd = ["list/a & b <c> \"d\" 'e'.json", "list/\u{1F600}/é.json", "list/empty.json"];
    await Promise.all(odd.map((key, i) => stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: Buffer.alloc(i) }))));
    // Put on the share, behind the store's back: more than a page, quickly.
    const many = path.join(stack.dataDir, "library", "list", "many");
    await mkdir(many, { recursive: true });
    await Promise.all(Array.from({ length: 1001 }, (_, i) => writeFile(path.join(many, `k${i}.json`), "x".repeat(i % 7))));
    // A client that counts the answers the SDK parsed: a presigned URL never reaches that step.
    const clients = makeClients(stack.config);
    let parsed = 0;
    clients.s3.middlewareStack.add((next) => (args) => (parsed++, next(args)), { step: "deserialize" });
    const fast = [];
    for await (const objects of listEtagPages(clients, "list/")) fast.push(...objects);
    expect(parsed).toBe(0);
    const sdk = [];
    for await (const page of listPages(clients, "list/")) sdk.push(...page.objects.map((o) => ({ key: o.key, etag: o.etag, size: o.size })));
    expect(parsed).toBe(2);
    expect(fast).toHaveLength(odd.length + 1001);
    expect(fast).toEqual(sdk);
  });

  it("gives each record as the record itself says, and reads none again while none changed", async () => {
    const first = await indexed();
    expect(first.seen).toEqual(await truth());
    const again = await indexed();
    expect(again.stats).toEqual({ records: keys.length, read: 0, shardsWritten: 0, listed: false, marks: 0 });
    expect(again.seen).toEqual(first.seen);
  });

  it("reads again only the records whose entries are forged or damaged, and rewrites their shard", async () => {
    await indexed();
    const i = shard();
    const inShard = keys.filter((k) => shardOf(k, INDEX_SHARDS) === i);
    const entries = await storedShard(i);
    // A slim record not in the schema's shape (a state that does not exist).
    (entries[0].record as { state: string }).state = "gone";
    // A frame's flag byte out of range.
    entries[1].frames![24] = 9;
    await storeShard(i, entries);
    const { seen, stats } = await indexed();
    expect(stats).toMatchObject({ read: 2, shardsWritten: 1, listed: false });
    expect(seen).toEqual(await truth());
    expect((await indexed()).stats.read).toBe(0);
    expect(inShard.length).toBeGreaterThanOrEqual(2);
  });

  it("reads again an entry whose record names another video than the key it is listed under", async () => {
    await indexed();
    const i = shard();
    const entries = await storedShard(i);
    (entries[0].record as { key: string }).key = "elsewhere/other.mp4";
    await storeShard(i, entries);
    const { seen, stats } = await indexed();
    expect(stats.read).toBe(1);
    expect(seen).toEqual(await truth());
  });

  it("rebuilds a shard that is not a shard, or holds a key of another, listing the manifest and reading only its records", async () => {
    await indexed();
    const i = shard();
    const inShard = keys.filter((k) => shardOf(k, INDEX_SHARDS) === i);
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: shardKey(i), Body: "{not a shard" }));
    const broken = await indexed();
    expect(broken.stats).toMatchObject({ read: inShard.length, listed: true });
    expect(broken.seen).toEqual(await truth());
    // An entry moved to another shard: that shard can no longer vouch for its keys.
    const other = (i + 1) % INDEX_SHARDS;
    await storeShard(other, [...(await storedShard(other)), (await storedShard(i))[0]]);
    const moved = await indexed();
    expect(moved.stats).toMatchObject({ read: 0, listed: true });
    expect(moved.seen).toEqual(await truth());
    expect((await indexed()).stats).toMatchObject({ read: 0, listed: false });
  });

  it("takes a shard of version 2 (two JSON objects) as it is, reading no record, writes it in version 3 and removes the old pair", async () => {
    await indexed();
    const i = shard();
    const entries = await storedShard(i);
    const [recordsKey, framesKey] = ["records", "fingerprints"].map((kind) => `${INDEX_PREFIX}${kind}-${String(i).padStart(2, "0")}.json`);
    await putJson(stack, recordsKey, { v: 2, entries: entries.map((e) => [e.key, e.etag, e.bytes, e.record]) });
    await putJson(stack, framesKey, { v: 2, entries: entries.map((e) => [e.key, e.etag, e.frames!.toString("base64")]) });
    await deleteObject(stack, shardKey(i));
    const now = await truth();
    // Where version 3 is missing, the manifest is listed for that shard: its keys are not vouched for.
    const { seen, stats } = await indexed();
    expect(stats).toEqual({ records: keys.length, read: 0, shardsWritten: 1, listed: true, marks: 0 });
    expect(seen).toEqual(now);
    expect(await storedShard(i)).toEqual(entries);
    expect(await listKeys(stack, `${INDEX_PREFIX}records-`)).toEqual([]);
    expect(await listKeys(stack, `${INDEX_PREFIX}fingerprints-`)).toEqual([]);
  });

  it("learns what writers changed from their marks alone: no listing, a read per change", async () => {
    await indexed();
    const [changed, gone] = [keys[3], keys[7]];
    const added = "idx/new/added.mp4";
    await patchRecord(stack, changed, { size: 1003, etag: `"${hash(3)}"`, state: "probed", fingerprints: [{ t: 0, hash: hash(999), dark: false }] });
    await deleteRecord(stack, gone);
    await patchRecord(stack, added, { size: 5, etag: `"${hash(5000)}"`, state: "probed", fingerprints: [{ t: 0, hash: hash(5000), dark: false }] });
    keys.splice(keys.indexOf(gone), 1, added);
    const { seen, stats } = await indexed();
    expect(stats).toMatchObject({ read: 3, listed: false, marks: 3 });
    expect(seen).toEqual(await truth());
    // The marks are gone once their changes are stored; a pass after reads nothing.
    expect(await listKeys(stack, INDEX_CHANGED_PREFIX)).toEqual([]);
    expect((await indexed()).stats).toMatchObject({ read: 0, listed: false, marks: 0 });
  });

  it("lists the manifest for a record written behind the writers' back: with `list`, or a week after the last listing", async () => {
    await indexed();
    const key = keys[5];
    const record = { ...(await readRecord(stack, key))!.record, state: "skipped" as const, reason: "written by hand" };
    await putJson(stack, manifestKeyFor(key), record);
    // Nobody marked it: the marks alone do not show it.
    expect((await indexed()).seen.get(key)!.record.state).toBe("probed");
    const listed = await forEachIndexed(stack, () => undefined, { list: true });
    expect(listed).toMatchObject({ read: 1, listed: true });
    expect((await indexed()).seen).toEqual(await truth());
    await putJson(stack, INDEX_META_KEY, { v: 1, listed_at: new Date(Date.now() - LIST_EVERY_MS - 60_000).toISOString() });
    expect((await indexed()).stats).toMatchObject({ listed: true, read: 0 });
    expect((await indexed()).stats).toMatchObject({ listed: false });
  });

  it("lists the manifest for a shard that went missing, and stores it again", async () => {
    await indexed();
    const i = shard();
    await deleteObject(stack, shardKey(i));
    const { seen, stats } = await indexed();
    // Its records' slim fields and frames went with it: those are read again.
    expect(stats).toMatchObject({ listed: true, read: keys.filter((k) => shardOf(k, INDEX_SHARDS) === i).length });
    expect(seen).toEqual(await truth());
    expect((await indexed()).stats).toMatchObject({ listed: false });
  });

  it("loses no change while writers and readers run at once, however slow a write", async () => {
    await indexed();
    /** A writer whose record writes take a while to land: readers read the record before them, after the mark. */
    const slowWriter = () => {
      const clients = makeClients(stack.config);
      clients.s3.middlewareStack.add(
        (next, context) => async (args) => {
          const input = args.input as { Key?: string };
          if (context.commandName === "PutObjectCommand" && input.Key?.startsWith(MANIFEST_PREFIX)) await new Promise((r) => setTimeout(r, 300 + Math.random() * 900));
          return next(args);
        },
        { step: "initialize" },
      );
      return clients;
    };
    let writing = true;
    const readers = Array.from({ length: 2 }, async () => {
      while (writing) await forEachIndexed(makeClients(stack.config), () => undefined);
    });
    // Each writer its own client, as separate processes would be; several writers per key.
    await mapLimit(Array.from({ length: 30 }, (_, n) => n), 10, async (n) => {
      const i = n % 10;
      await patchRecord(slowWriter(), keys[i], { size: 1000 + i, etag: `"${hash(i)}"`, state: "probed", fingerprints: [{ t: n, hash: hash(n), dark: false }] });
    });
    writing = false;
    await Promise.all(readers);
    expect((await indexed()).seen).toEqual(await truth());
  });
});
