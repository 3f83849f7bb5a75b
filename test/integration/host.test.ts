import { randomBytes } from "node:crypto";
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { CopyObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { CreateQueueCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startEmbeddedEvents } from "../../cli/events/embedded.ts";
import { startFunctionHost } from "../../cli/host.ts";
import { patchRecord } from "../../shared/io/manifest.ts";
import type { SQSBatchResponse, SQSEvent } from "../../shared/io/lambda-sqs.ts";
import { headObject, uploadFile } from "../../shared/io/objects.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { takeIngestKeys } from "../kit/ingest-queue.ts";
import { until } from "../kit/wait.ts";

describe("local function host and embedded event source (folder store as a real server)", () => {
  let stack: TestStack;
  beforeAll(async () => void (stack = await startTestStack()));
  afterAll(() => stack.stop());

  const ingestKeys = () => takeIngestKeys(stack);

  it("deletes what succeeded and leaves failures for redelivery, reading batch responses as Lambda does", async () => {
    const { QueueUrl } = await stack.sqs.send(new CreateQueueCommand({ QueueName: "host-test", Attributes: { VisibilityTimeout: "1" } }));
    for (const body of ["ok", "fail-once", "bogus-id-once", "throw-once"]) await stack.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
    const seen: string[] = [];
    const events: SQSEvent[] = [];
    const handler = async (event: SQSEvent): Promise<SQSBatchResponse> => {
      events.push(event);
      const failures = [];
      for (const r of event.Records) {
        const first = !seen.includes(r.body);
        seen.push(r.body);
        if (first && r.body === "throw-once") throw new Error("handler crashed");
        if (first && r.body === "fail-once") failures.push({ itemIdentifier: r.messageId });
        if (first && r.body === "bogus-id-once") failures.push({ itemIdentifier: "not-in-this-batch" });
      }
      return { batchItemFailures: failures };
    };
    const host = startFunctionHost(stack, [{ queue: "host-test", handler, batchSize: 1 }], { waitTimeSec: 1 });
    try {
      await until("every message to succeed", () => ["fail-once", "bogus-id-once", "throw-once"].every((b) => seen.filter((s) => s === b).length === 2), 20_000, 50);
      // Give a wrongly kept message time to come back (visibility is 1 s).
      await new Promise((r) => setTimeout(r, 1500));
    } finally {
      await host.stop();
    }
    expect(seen.filter((s) => s === "ok")).toHaveLength(1);
    for (const b of ["fail-once", "bogus-id-once", "throw-once"]) expect(seen.filter((s) => s === b), b).toHaveLength(2);
    expect(events[0].Records[0]).toMatchObject({ eventSource: "aws:sqs", eventSourceARN: expect.stringContaining("host-test"), awsRegion: "us-east-1" });
    expect(Number(events.at(-1)!.Records[0].attributes.ApproximateReceiveCount)).toBeGreaterThanOrEqual(1);
    const left = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 1 }));
    expect(left.Messages ?? []).toEqual([]);
  });

  it("turns writes by any S3 client into one ingest event each, never for system keys, and reconciles at start", async () => {
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: "before/while down.mkv", Body: "x" }));
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: "before/known.mkv", Body: "y" }));
    const known = (await headObject(stack, "before/known.mkv"))!;
    await patchRecord(stack, "before/known.mkv", { size: known.size, etag: known.etag, state: "planned" });
    await ingestKeys();

    const events = await startEmbeddedEvents(stack, stack.embedded, undefined, { settleMs: 0, scanIntervalMs: 60_000 });
    try {
      // Written within the last second: the watcher announces it, a moment after start.
      const first: string[] = [];
      await until("the event for what was written while down", async () => (first.push(...(await ingestKeys())), first.length > 0), 5000, 50);
      // Settle: a repeated event for the same write would arrive within 300 ms (settleMs is 0).
      await new Promise((r) => setTimeout(r, 300));
      first.push(...(await ingestKeys()));
      expect(first).toEqual(["before/while down.mkv"]);
      // The AWS SDK, a plain HTTP PUT to a presigned URL, a server-side copy and a multipart upload.
      await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: "new/sdk é+1.mp4", Body: "a" }));
      const url = await getSignedUrl(stack.s3, new PutObjectCommand({ Bucket: "reelpress", Key: "new/curl.MOV" }), { expiresIn: 60 });
      expect((await fetch(url, { method: "PUT", body: "b" })).ok).toBe(true);
      await stack.s3.send(new CopyObjectCommand({ Bucket: "reelpress", Key: "new/copy.avi", CopySource: "reelpress/new/curl.MOV" }));
      const big = path.join(stack.dataDir, "six-mib.bin");
      await writeFile(big, randomBytes(6 * 1024 * 1024));
      await uploadFile(stack, big, "new/multipart.mkv", { partSize: 5 * 1024 * 1024 });
      for (const key of [".reelpress/manifest/new/x.mp4.json", "orig_video_to_delete/new/a.mp4", "new/a_skip.mp4", "new/notes.txt"]) {
        await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: "s" }));
      }
      const got: string[] = [];
      await until("four ingest events", async () => (got.push(...(await ingestKeys())), got.length >= 4), 5000, 50);
      // Settle: events for the system keys or repeats, which must not come, would arrive within 500 ms.
      await new Promise((r) => setTimeout(r, 500));
      got.push(...(await ingestKeys()));
      expect(got.sort()).toEqual(["new/copy.avi", "new/curl.MOV", "new/multipart.mkv", "new/sdk é+1.mp4"]);
    } finally {
      await events.stop();
    }
    // Stopped: nothing more is emitted (a settle, since there is no event for "no event").
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: "after/stop.mp4", Body: "z" }));
    await new Promise((r) => setTimeout(r, 500));
    expect(await ingestKeys()).toEqual([]);
  });
});
