// REELPRESS_NOTIFY_URL against a real local HTTP receiver: retries with back-off, gives up quietly,
// never holds up the work, and the probe, runner and dedup send what a person needs to read.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { objectCreatedRecord } from "../../shared/io/event-records.ts";
import { makeDedupHandler } from "../../functions/dedup/handler.ts";
import { makeProbeHandler } from "../../functions/probe/handler.ts";
import { RECLAIMABLE_KEY, claimLibraryDone, clearLibraryDone, runnerSettings, startRunner } from "../../gpu-runner/runner.ts";
import { RETENTION_MARKER_KEY } from "../../shared/io/backups.ts";
import { deleteRecord, patchRecord } from "../../shared/io/manifest.ts";
import { makeNotifier, notifierFromEnv, settlingDeliveries } from "../../shared/io/notify.ts";
import { headObject } from "../../shared/io/objects.ts";
import { brokenFixture } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { until } from "../kit/wait.ts";
import { publishedOutput } from "../kit/published.ts";

type Mode = "ok" | "hang" | { fail: number; status: number };

/** A webhook receiver: answers per `mode` and keeps every body it was sent. */
async function startReceiver() {
  const bodies: Array<Record<string, unknown>> = [];
  let mode: Mode = "ok";
  let failed = 0;
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    bodies.push({ ...JSON.parse(Buffer.concat(chunks).toString()), _contentType: req.headers["content-type"] });
    if (mode === "hang") return;
    if (mode !== "ok" && failed < mode.fail) {
      failed++;
      return res.writeHead(mode.status).end("nope");
    }
    res.writeHead(200).end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`,
    bodies,
    set(m: Mode) {
      mode = m;
      failed = 0;
      bodies.length = 0;
    },
    stop: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

const lambdaEvent = (body: unknown) => ({
  Records: [{ messageId: "m1", receiptHandle: "r1", body: JSON.stringify(body), attributes: {}, messageAttributes: {}, md5OfBody: "", eventSource: "aws:sqs" as const, eventSourceARN: "arn", awsRegion: "us-east-1" }],
});

describe("notifications", () => {
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let stack: TestStack;
  const logs: Array<Record<string, unknown>> = [];
  const log = (event: string, fields: Record<string, unknown>) => void logs.push({ event, ...fields });
  beforeAll(async () => {
    [receiver, stack] = await Promise.all([startReceiver(), startTestStack({ REELPRESS_FINGERPRINTS: "4" })]);
  });
  afterAll(async () => {
    await receiver?.stop();
    await stack?.stop();
  });
  beforeEach(() => {
    receiver.set("ok");
    logs.length = 0;
  });

  const failedEvent = { event: "file_failed", bucket: "reelpress", key: "a.mkv", reason: "not a video file (damaged or not Matroska)", stage: "probe" } as const;

  it("posts JSON with a Slack text and Discord content field plus the structured fields", async () => {
    await makeNotifier(receiver.url, { log }).send(failedEvent);
    expect(receiver.bodies).toEqual([expect.objectContaining({
      _contentType: "application/json",
      text: "reelpress: s3://reelpress/a.mkv failed: not a video file (damaged or not Matroska)",
      content: "reelpress: s3://reelpress/a.mkv failed: not a video file (damaged or not Matroska)",
      ...failedEvent,
    })]);
  });

  it("retries a failing receiver with growing waits, and stops at once on a 4xx other than 408/429", async () => {
    receiver.set({ fail: 2, status: 503 });
    const started = Date.now();
    await makeNotifier(receiver.url, { log, baseDelayMs: 100 }).send(failedEvent);
    expect(receiver.bodies).toHaveLength(3);
    // ~100 ms then ~200 ms (±25 %): back-off, not a tight loop.
    expect(Date.now() - started).toBeGreaterThanOrEqual(220);
    expect(logs).toEqual([]);
    receiver.set({ fail: 9, status: 404 });
    await makeNotifier(receiver.url, { log, baseDelayMs: 100 }).send(failedEvent);
    expect(receiver.bodies).toHaveLength(1);
    expect(logs).toEqual([expect.objectContaining({ event: "notify.failed", attempts: 1, error: "HTTP 404" })]);
  });

  it("gives up after its attempts on a dead receiver, without throwing", async () => {
    const dead = makeNotifier("http://127.0.0.1:9/hook", { log, attempts: 3, baseDelayMs: 10 });
    await expect(dead.send(failedEvent)).resolves.toBeUndefined();
    expect(logs).toEqual([expect.objectContaining({ event: "notify.failed", attempts: 3 })]);
  });

  it("refuses a bad REELPRESS_NOTIFY_URL with one sentence", () => {
    expect(() => notifierFromEnv({ REELPRESS_NOTIFY_URL: "slack" }, log)).toThrow(/^Bad setting REELPRESS_NOTIFY_URL = "slack": must be an http\(s\) URL/);
  });

  it("the probe reports an unreadable file with its readable reason, and a hanging receiver does not hold it up", async () => {
    receiver.set("hang");
    const key = "home/list.mkv";
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: await readFile(await brokenFixture("text.mkv")) }));
    const notifier = makeNotifier(receiver.url, { log, timeoutMs: 5000, attempts: 1 });
    const handler = makeProbeHandler(() => stack, () => undefined, notifier);
    const started = Date.now();
    const result = await handler(lambdaEvent({ Records: [objectCreatedRecord("reelpress", { key })] }));
    expect(result.batchItemFailures).toEqual([]);
    expect(Date.now() - started).toBeLessThan(4000);
    await until("the receiver to get the message", () => receiver.bodies.length === 1, 5000);
    expect(receiver.bodies[0]).toMatchObject({ event: "file_failed", key, stage: "probe", reason: "not a video file (damaged or not Matroska)", text: `reelpress: s3://reelpress/${key} failed: not a video file (damaged or not Matroska)` });
    expect(receiver.bodies[0].error).toMatch(/EBML|Invalid data/);
  });

  it("a Lambda's probe returns only once its deliveries have settled (the instance freezes after it returns)", async () => {
    receiver.set({ fail: 2, status: 503 });
    const key = "home/frozen.mkv";
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: await readFile(await brokenFixture("text.mkv")) }));
    const notifier = makeNotifier(receiver.url, { log, baseDelayMs: 20 });
    const handler = settlingDeliveries(notifier, makeProbeHandler(() => stack, () => undefined, notifier));
    const result = await handler(lambdaEvent({ Records: [objectCreatedRecord("reelpress", { key })] }));
    expect(result.batchItemFailures).toEqual([]);
    expect(receiver.bodies.map((b) => [b.event, b.key])).toEqual([["file_failed", key], ["file_failed", key], ["file_failed", key]]);
    // The runner's test below counts the library's failures: gone with its record, as `apply` removes a file
    // (a file removed behind reelpress's back stays counted until `reelpress reindex`).
    await stack.s3.send(new DeleteObjectCommand({ Bucket: "reelpress", Key: key }));
    await deleteRecord(stack, key);
  });

  it("a new report with bytes to reclaim is announced once, not on every rebuild of the same findings", async () => {
    const body = Buffer.alloc(200_000, 3);
    for (const key of ["dupes/a.mp4", "dupes/b.mp4"]) {
      await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: body }));
      const head = (await headObject(stack, key))!;
      await patchRecord(stack, key, { size: head.size, etag: head.etag, state: "probed" });
    }
    const notifier = makeNotifier(receiver.url, { log });
    const handler = makeDedupHandler(() => stack, { REELPRESS_DEDUP_QUALITY: "2" }, () => undefined, notifier);
    const scheduled = { "detail-type": "Scheduled Event" };
    await handler(scheduled);
    await notifier.idle();
    expect(receiver.bodies).toEqual([expect.objectContaining({ event: "report_ready", groups: 1, losers: 1, bytes_reclaimable: 200_000, report_key: expect.stringMatching(/^\.reelpress\/reports\//) })]);
    expect(receiver.bodies[0].text).toMatch(/1 group\(s\), 1 file\(s\) to remove, 195\.3 KiB to reclaim/);
    await handler(scheduled);
    await notifier.idle();
    expect(receiver.bodies).toHaveLength(1);
  });

  it("one claim per idle period: of runners finishing together, one announces; new work opens the next period", async () => {
    const claims = await Promise.all([claimLibraryDone(stack), claimLibraryDone(stack), claimLibraryDone(stack)]);
    expect(claims.filter(Boolean)).toHaveLength(1);
    expect(await claimLibraryDone(stack)).toBe(false);
    await clearLibraryDone(stack);
    expect(await claimLibraryDone(stack)).toBe(true);
    await clearLibraryDone(stack);
  });

  it("a runner says when the library has nothing left to do, once per idle period", async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), "reelpress-notify-"));
    const notifier = makeNotifier(receiver.url, { log });
    const runner = await startRunner(stack, { encoder: "x264", concurrency: 1, settings: runnerSettings({ REELPRESS_RUNNER_VISIBILITY: "3", REELPRESS_X264_PRESET: "ultrafast" }), log: () => undefined, workBase: tmp, notifier });
    try {
      // A job whose source is gone: dropped at once, after which every queue is empty.
      const job = { bucket: "reelpress", key: "gone.avi", size: 10, etag: "\"x\"", jobId: "j-gone", outputKey: "gone.mp4", downscale: false, mustSave: 0, reason: "test", durationSec: 1, fingerprints: [], plannedAt: new Date().toISOString() };
      await stack.sqs.send(new SendMessageCommand({ QueueUrl: await stack.queueUrl("reelpress-encode"), MessageBody: JSON.stringify(job) }));
      const done = () => receiver.bodies.filter((b) => b.event === "library_done");
      await until("the done message", () => done().length === 1, 20_000);
      expect(done()[0]).toMatchObject({ bucket: "reelpress", failed: 1, text: expect.stringMatching(/^reelpress: s3:\/\/reelpress\/ has nothing left to do: \d+ compressed, \d+ skipped, 1 failed; 0 B saved; [\d.]+ \w*B on disk, 0 B of it in backups \(0 B a purge would free\)$/) });
      // A job after the announcement is new work: its end is the end of another idle period.
      await stack.sqs.send(new SendMessageCommand({ QueueUrl: await stack.queueUrl("reelpress-encode"), MessageBody: JSON.stringify({ ...job, jobId: "j-gone-2" }) }));
      await until("the second done message", () => done().length === 2, 20_000);
    } finally {
      await runner.stop();
      await rm(tmp, { recursive: true, force: true });
    }
  });

  it("says once per crossing when purgeable backups pass the threshold, and purges by retention once a day", async () => {
    const tmp = await mkdtemp(path.join(os.tmpdir(), "reelpress-retention-"));
    const backupKey = await publishedOutput(stack, "kept/a.avi", "kept/a.mp4", 3000, 1000);
    const job = { bucket: "reelpress", key: "gone.avi", size: 10, etag: "\"x\"", jobId: "j-r", outputKey: "gone.mp4", downscale: false, mustSave: 0, reason: "test", durationSec: 1, fingerprints: [], plannedAt: new Date().toISOString() };
    const idle = async (env: Record<string, string>, n: number) => {
      const notifier = makeNotifier(receiver.url, { log });
      const settings = runnerSettings({ REELPRESS_RUNNER_VISIBILITY: "3", REELPRESS_X264_PRESET: "ultrafast", ...env });
      const runner = await startRunner(stack, { encoder: "x264", concurrency: 1, settings, log: () => undefined, workBase: tmp, notifier });
      try {
        await stack.sqs.send(new SendMessageCommand({ QueueUrl: await stack.queueUrl("reelpress-encode"), MessageBody: JSON.stringify({ ...job, jobId: `j-r-${n}` }) }));
        await until("the done message", () => receiver.bodies.filter((b) => b.event === "library_done").length === n, 20_000);
        await notifier.idle();
      } finally {
        await runner.stop();
      }
    };
    const reclaimable = () => receiver.bodies.filter((b) => b.event === "backups_reclaimable");
    try {
      // 3000 bytes of backup a purge may remove, over a threshold of about 1 KiB: said once over two idle periods.
      const threshold = { REELPRESS_NOTIFY_RECLAIMABLE_GB: String(1 / 1024 ** 2) };
      await idle(threshold, 1);
      await idle(threshold, 2);
      expect(reclaimable()).toEqual([expect.objectContaining({ reclaimable_bytes: 3000, backup_bytes: 3000, threshold_bytes: 1024, backup_prefix: "orig_video_to_delete/" })]);
      expect(reclaimable()[0].text).toMatch(/hold 2\.9 KiB that a purge would free \(over 1\.0 KiB\); 'reelpress purge --older-than DAYS --dry-run' lists them$/);
      expect(await headObject(stack, backupKey)).toBeDefined();
      // A retention of about a millisecond: the backup goes when the library goes idle, and the threshold re-arms.
      await new Promise((r) => setTimeout(r, 50));
      await idle({ ...threshold, REELPRESS_BACKUP_RETENTION_DAYS: String(1 / 86_400_000) }, 3);
      expect(await headObject(stack, backupKey)).toBeUndefined();
      expect(await headObject(stack, "kept/a.mp4")).toBeDefined();
      expect(await headObject(stack, RECLAIMABLE_KEY)).toBeUndefined();
      expect(await headObject(stack, RETENTION_MARKER_KEY)).toBeDefined();
      expect(receiver.bodies.filter((b) => b.event === "library_done").at(-1)).toMatchObject({ reclaimable_bytes: 0, backup_bytes: 0 });
    } finally {
      await rm(tmp, { recursive: true, force: true });
    }
  });
});
