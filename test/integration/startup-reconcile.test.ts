// Start-up on a library that is already full: ready before the listing is done, and a restart mid-way
// queues each version once in total (counted on the ingest queue itself, with nothing consuming it).
import { mkdir, utimes, writeFile } from "node:fs/promises";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedEvents } from "../../cli/events/embedded.ts";
import { startFirstScan } from "../../cli/events/first-scan.ts";
import type { ReconcileTally } from "../../cli/events/reconcile.ts";
import { headObject } from "../../shared/io/objects.ts";
import { queueDepth } from "../../shared/io/queues.ts";
import { readRecord } from "../../shared/io/manifest.ts";
import { objectCreatedRecord } from "../../shared/io/event-records.ts";
import { queuedMarkKeyFor } from "../../shared/rules/naming.ts";
import { ingestEventRecord } from "../../shared/steps/probe.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { takeIngestKeys } from "../kit/ingest-queue.ts";
import { reelpress } from "../kit/cli.ts";
import { until } from "../kit/wait.ts";

/**
 * Three folders (a listing page each) of 20 placeholder files named like videos, more than the reconcile
 * checks at once: it counts and queues, nothing probes.
 */
const KEYS = ["a", "b", "c"].flatMap((folder) => Array.from({ length: 20 }, (_, i) => `${folder}/${String(i).padStart(3, "0")}.mp4`)).sort();
const QUIET = { settleMs: 0, scanIntervalMs: 60_000 };

describe("start-up reconcile on a full library", () => {
  let stack: TestStack;

  beforeAll(async () => {
    stack = await startTestStack();
    const past = new Date(Date.now() - 60_000);
    for (const key of KEYS) {
      const file = path.join(stack.embedded.library, ...key.split("/"));
      await mkdir(path.dirname(file), { recursive: true });
      await writeFile(file, `placeholder ${key}`);
      await utimes(file, past, past);
    }
  });
  afterAll(async () => stack?.stop());

  /** Starts the event source; `onWaiting` sees each video the reconcile finds unrecorded; `also` is told everything. */
  async function start(onWaiting: (source: { stop(): Promise<void> }) => void = () => undefined, also?: ReconcileTally) {
    let listed = false;
    let source: { stop(): Promise<void> } | undefined;
    const pending: Array<() => void> = [];
    const tally: ReconcileTally = {
      recorded: (key, state) => also?.recorded(key, state),
      waiting: (key, sent) => {
        also?.waiting(key, sent);
        if (source) onWaiting(source);
        else pending.push(() => onWaiting(source!));
      },
      listed: () => {
        also?.listed();
        listed = true;
      },
    };
    source = await startEmbeddedEvents(stack, stack.embedded, undefined, QUIET, tally);
    const listedAtReady = listed;
    for (const p of pending.splice(0)) p();
    return { source, listedAtReady, listed: () => listed };
  }

  it("is ready before the listing is done, and a restart mid-way queues each version once in total", async () => {
    // The first start is stopped as soon as the reconcile finds its first unqueued video: the page under way is finished.
    let stopping: Promise<void> | undefined;
    const first = await start((source) => void (stopping ??= source.stop()));
    expect(first.listedAtReady).toBe(false);
    await until("the first start to stop mid-way", () => stopping !== undefined, 60_000, 20);
    await stopping;
    expect(first.listed()).toBe(false);
    const queued = (await queueDepth(stack.sqs, await stack.queueUrl(stack.config.queues.ingest))).visible;
    expect(queued).toBeGreaterThan(0);
    expect(queued).toBeLessThan(KEYS.length);

    const second = await start();
    expect(second.listedAtReady).toBe(false);
    await until("the second start's listing", () => second.listed(), 60_000, 50);
    await second.source.stop();

    // Every version once: some from the first start, the rest from the second, none twice.
    expect(await takeIngestKeys(stack)).toEqual(KEYS);
  });

  it("a probed version is not queued again; a mark with no message behind it is, once the queue is empty", async () => {
    // Nothing is queued (the test took the messages) and nothing recorded: every mark stands for no message.
    const key = KEYS[0];
    const head = (await headObject(stack, key))!;
    expect(await headObject(stack, queuedMarkKeyFor(key))).toBeDefined();
    // The probe records it (a placeholder fails) and removes its mark.
    const outcome = await ingestEventRecord(stack, objectCreatedRecord("reelpress", { key, size: head.size, etag: head.etag }));
    expect(outcome.status).toBe("failed");
    expect((await readRecord(stack, key))?.record.state).toBe("failed");
    expect(await headObject(stack, queuedMarkKeyFor(key))).toBeUndefined();

    const third = await start();
    await until("the third start's listing", () => third.listed(), 60_000, 50);
    await third.source.stop();
    expect(await takeIngestKeys(stack)).toEqual(KEYS.slice(1));
  });

  it("shows the first scan's progress in status --json", async () => {
    // The queue was emptied again: every version but the recorded one is sent once more.
    const scan = startFirstScan(stack, () => undefined, { writeEveryMs: 100, logEveryMs: 60_000 });
    const { source, listed } = await start(undefined, scan);
    await until("the listing", () => listed(), 60_000, 50);
    await source.stop();
    await scan.stop();
    const r = await reelpress(["status", "--json"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).scan).toMatchObject({ listed: true, found: KEYS.length, queued: KEYS.length - 1, probed: 1, left: KEYS.length - 1, eta_sec: null });
    expect(await takeIngestKeys(stack)).toEqual(KEYS.slice(1));
  });
});
