// Files that arrive in the library folder behind the store's back become one ingest event each, only once
// complete; files removed behind its back take their records along.
import { randomBytes } from "node:crypto";
import { mkdir, open, rename, rm, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedEvents, type EventSource } from "../../cli/events/embedded.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { takeIngestKeys } from "../kit/ingest-queue.ts";
import { until } from "../kit/wait.ts";
import { gatherStatus } from "../../shared/io/library.ts";
import { patchRecord, readRecord } from "../../shared/io/manifest.ts";
import { headObject } from "../../shared/io/objects.ts";
import { findOrphanRecords, pruneOrphanRecords } from "../../shared/io/orphans.ts";
import { reindex } from "../../shared/io/reindex.ts";

const SETTLE_MS = 600;

describe("files added to the library folder behind the store's back", () => {
  let stack: TestStack;
  let events: EventSource;
  const lib = (key: string) => path.join(stack.embedded.library, ...key.split("/"));

  const ingestKeys = () => takeIngestKeys(stack);
  /** Every ingest event from the first one on, taken again after a few more watcher passes: repeats show. */
  async function eventsAfter(what: string): Promise<string[]> {
    const got: string[] = [];
    await until(what, async () => (got.push(...(await ingestKeys())), got.length > 0), 10_000, 100);
    await new Promise((r) => setTimeout(r, SETTLE_MS * 3));
    got.push(...(await ingestKeys()));
    return got;
  }

  beforeAll(async () => {
    stack = await startTestStack();
    // Present before start, complete: reconciled at start.
    await mkdir(lib("old"), { recursive: true });
    await writeFile(lib("old/there.mkv"), randomBytes(1000));
    const past = new Date(Date.now() - 60_000);
    await utimes(lib("old/there.mkv"), past, past);
    events = await startEmbeddedEvents(stack, stack.embedded, undefined, { settleMs: SETTLE_MS, scanIntervalMs: 60_000 });
  });
  afterAll(async () => {
    await events.stop();
    await stack.stop();
  });

  it("announces a file present before start once", async () => {
    // The listing at start runs in the background.
    expect(await eventsAfter("the listing's event")).toEqual(["old/there.mkv"]);
  });

  it("announces a slowly copied file once, only after it stopped changing", async () => {
    await mkdir(lib("share"), { recursive: true });
    const handle = await open(lib("share/slow copy.mp4"), "w");
    // Written in pieces, each sooner than the settle time: no event while it grows.
    for (let i = 0; i < 5; i++) {
      await handle.write(randomBytes(64 * 1024));
      await handle.datasync();
      await new Promise((r) => setTimeout(r, SETTLE_MS / 3));
      expect(await ingestKeys(), `while copying, piece ${i}`).toEqual([]);
    }
    await handle.close();
    // Several watcher notifications and passes later, still one event.
    expect(await eventsAfter("the copied file's event")).toEqual(["share/slow copy.mp4"]);
  });

  it("announces a file moved in with mv, and none for system folders or other extensions", async () => {
    const outside = path.join(stack.dataDir, "moved.avi");
    await writeFile(outside, randomBytes(2000));
    await rename(outside, lib("share/moved.avi"));
    await mkdir(lib("orig_video_to_delete"), { recursive: true });
    await writeFile(lib("orig_video_to_delete/backup.mp4"), "b");
    await writeFile(lib("share/notes.txt"), "n");
    expect(await eventsAfter("the moved file's event")).toEqual(["share/moved.avi"]);
  });

  it("an uploaded file is announced by the upload alone, not again by the watcher", async () => {
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: "share/uploaded.mov", Body: randomBytes(3000) }));
    expect(await eventsAfter("the upload's event")).toEqual(["share/uploaded.mov"]);
  });

  it("a file removed behind the store's back takes its record along; a record with no file is the drift check's", async () => {
    const count = async () => {
      const { summary: s } = await gatherStatus(stack);
      return s.remaining.count + s.failed.count + s.in_progress.count + s.compressed.count + s.skipped.count;
    };
    // Status counts what the records say: as the probe would, record the file first.
    const head = (await headObject(stack, "share/moved.avi"))!;
    await patchRecord(stack, "share/moved.avi", { size: head.size, etag: head.etag, state: "probed" });
    const before = await count();
    await rm(lib("share/moved.avi"));
    // The record goes first, then the summary's count of it.
    await until("the watcher to drop the removed file's record", async () => (await count()) === before - 1, 20_000);
    expect(await readRecord(stack, "share/moved.avi")).toBeUndefined();
    // A record no event will ever clear (written for a file that is not there): found, then pruned.
    await patchRecord(stack, "share/never.avi", { size: 10, etag: '"x"', state: "probed" });
    const orphans = await findOrphanRecords(stack);
    expect(orphans.map((o) => o.key)).toEqual(["share/never.avi"]);
    expect(await pruneOrphanRecords(stack, orphans)).toEqual(["share/never.avi"]);
    await reindex(stack);
    expect(await count()).toBe(before - 1);
  });
});
