import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { DeleteObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { DeleteMessageBatchCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeProbeHandler } from "../../functions/probe/handler.ts";
import { makeStrategyHandler } from "../../functions/strategy/handler.ts";
import { encodeEventKey, objectCreatedRecord } from "../../shared/io/event-records.ts";
import { toSqsEvent } from "../../cli/host.ts";
import { ingestEventRecord, probeObject } from "../../shared/steps/probe.ts";
import { patchRecord, readRecord } from "../../shared/io/manifest.ts";
import { planProbed } from "../../shared/steps/strategy.ts";
import { thumbnailKeyFor } from "../../shared/rules/naming.ts";
import { EncodeJob, ProbeResult } from "../../shared/schemas.ts";
import { headObject } from "../../shared/io/objects.ts";
import { BROKEN_FIXTURES, brokenFixture, makeVideo, videoFixture } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

describe("probe and strategy (folder store as a real server, real ffprobe)", () => {
  let stack: TestStack;
  beforeAll(async () => void (stack = await startTestStack({ REELPRESS_FINGERPRINTS: "4" })));
  afterAll(() => stack.stop());

  const put = async (key: string, file: string, extra: { Metadata?: Record<string, string>; ChecksumAlgorithm?: "CRC32" } = {}) =>
    stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: createReadStream(file), ContentLength: (await stat(file)).size, ...extra }));
  const record = async (key: string) => (await readRecord(stack, key))?.record;
  /** Takes every message off a queue (deleting them) and returns the parsed bodies. */
  const receiveAll = async (queue: string) => {
    const url = await stack.queueUrl(queue);
    const bodies = [];
    for (;;) {
      const r = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 0 }));
      if (!r.Messages?.length) return bodies;
      bodies.push(...r.Messages.map((m) => JSON.parse(m.Body!)));
      await stack.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: r.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    }
  };

  it("decodes keys as S3 sends them, probes a moov-at-end MP4 (small: read once, whole) and hands the result to the plan queue", async () => {
    const key = "holiday 2019/été + #1.mp4";
    await put(key, await videoFixture("mp4_h264_3m"), { ChecksumAlgorithm: "CRC32" });
    const event = objectCreatedRecord("reelpress", { key });
    expect(event.s3.object.key).toBe("holiday+2019/%C3%A9t%C3%A9+%2B+%231.mp4");
    const outcome = await ingestEventRecord(stack, event);
    expect(outcome.status).toBe("probed");
    const rec = await record(key);
    expect(rec).toMatchObject({ state: "probed", size: (await headObject(stack, key))!.size, media: { video: { codec: "h264", width: 640, height: 360 } } });
    expect(rec!.checksum).toMatchObject({ algorithm: "CRC32", type: "FULL_OBJECT" });
    expect(rec!.fingerprints).toHaveLength(4);
    expect(rec!.fingerprints!.every((f) => /^[0-9a-f]{16}$/.test(f.hash))).toBe(true);
    // Picture stats and a still for the report come from the same frames.
    expect(rec!.picture).toMatchObject({ detail: expect.any(Number), chroma: expect.any(Number), staticEdges: expect.any(Number) });
    expect(rec!.thumbnailKey).toBe(thumbnailKeyFor(key));
    expect((await headObject(stack, rec!.thumbnailKey!))!.size).toBeGreaterThan(1000);
    const [planned] = await receiveAll("reelpress-plan");
    expect(ProbeResult.parse(planned)).toMatchObject({ key, etag: rec!.etag, dryRun: false });
  });

  it("reads MKV, WebM and AVI too", async () => {
    for (const [key, fixture, codec] of [["m.mkv", "mkv_h264", "h264"], ["w.webm", "webm_vp9", "vp9"], ["a.avi", "avi_mpeg4", "mpeg4"]] as const) {
      await put(key, await videoFixture(fixture));
      const outcome = await probeObject(stack, key);
      expect(outcome.status, key).toBe("probed");
      expect((await record(key))!.media!.video.codec).toBe(codec);
    }
  });

  it.each(BROKEN_FIXTURES)("records %s as failed with a one-line reason and leaves the object untouched", async (name) => {
    const key = `broken/${name}`;
    await put(key, await brokenFixture(name));
    const before = await headObject(stack, key);
    const outcome = await probeObject(stack, key);
    expect(outcome.status).toBe("failed");
    const rec = await record(key);
    expect(rec).toMatchObject({ state: "failed", etag: before!.etag });
    expect(rec!.reason).toBeTruthy();
    expect(rec!.reason).not.toContain("\n");
    expect(rec!.reason).not.toContain("X-Amz-Signature");
    expect(await headObject(stack, key)).toMatchObject({ etag: before!.etag, size: before!.size });
  });

  it("ignores system keys, backups, _skip names, other extensions and compressed outputs without reading them", async () => {
    const file = await videoFixture("mp4_h264_noaudio");
    const keys = [".reelpress/previews/x.mp4", "orig_video_to_delete/a.mp4", "a_skip.mp4", "notes.txt", "done.mp4"];
    for (const key of keys) await put(key, file, key === "done.mp4" ? { Metadata: { "reelpress-state": "compressed_h264_v4" } } : {});
    for (const key of keys) {
      const outcome = await probeObject(stack, key);
      expect(outcome.status, key).toBe("ignored");
      expect(await record(key), key).toBeUndefined();
    }
  });

  it("recognises the compressed mark in the container tags", async () => {
    const tagged = await makeVideo({ ext: "mp4", vcodec: "libx264", durationSec: 2, extra: ["-metadata", "comment=compressed_h264_v4"] });
    await put("tagged.mp4", tagged);
    const outcome = await probeObject(stack, "tagged.mp4");
    expect(outcome).toMatchObject({ status: "compressed", reason: expect.stringContaining("container tag") });
    expect(await record("tagged.mp4")).toMatchObject({ state: "compressed" });
  });

  it("strategy: skip renames to _skip and moves the record; encode records `planned`, then queues the job", async () => {
    await put("low/clip.mp4", await videoFixture("mp4_h264_300k"));
    const low = await probeObject(stack, "low/clip.mp4");
    if (low.status !== "probed") throw new Error(low.reason);
    const skipped = await planProbed(stack, low.result);
    expect(skipped).toMatchObject({ status: "skipped", skipKey: "low/clip_skip.mp4", decision: { action: "skip" } });
    expect(await headObject(stack, "low/clip.mp4")).toBeUndefined();
    expect(await record("low/clip.mp4")).toBeUndefined();
    expect(await record("low/clip_skip.mp4")).toMatchObject({ state: "skipped", reason: expect.stringMatching(/below 0\.50 Mbit\/s/) });
    // The probe's still and picture stats follow the rename, so the report still shows the file.
    expect(await record("low/clip_skip.mp4")).toMatchObject({ thumbnailKey: thumbnailKeyFor("low/clip_skip.mp4"), picture: expect.any(Object) });
    expect((await headObject(stack, thumbnailKeyFor("low/clip_skip.mp4")))?.size).toBeGreaterThan(1000);
    expect(await headObject(stack, thumbnailKeyFor("low/clip.mp4"))).toBeUndefined();
    // A redelivered message after the rename finds the work done.
    expect((await planProbed(stack, low.result)).status).toBe("skipped");

    await receiveAll("reelpress-encode");
    await put("dir/movie.avi", await videoFixture("avi_mpeg4"));
    const avi = await probeObject(stack, "dir/movie.avi");
    if (avi.status !== "probed") throw new Error(avi.reason);
    const planned = await planProbed(stack, avi.result);
    expect(planned.status).toBe("planned");
    // The plan says how a runner skips it if the encode cannot save enough: renamed, on a bucket.
    expect(await record("dir/movie.avi")).toMatchObject({ state: "planned", decision: { action: "encode" }, plan: { skipRename: true } });
    const jobs = (await receiveAll("reelpress-encode")).map((j) => EncodeJob.parse(j));
    expect(jobs).toHaveLength(1);
    // A redelivered plan message (say the send failed) sends the same job again...
    const again = await planProbed(stack, avi.result);
    expect(again).toMatchObject({ status: "planned", job: { jobId: jobs[0].jobId } });
    // ...but once a runner has taken it, nothing is sent and the runner's state stays.
    await patchRecord(stack, "dir/movie.avi", { size: avi.result.size, etag: avi.result.etag, state: "encoding", runner: { id: "r1", jobId: "j1", claim: "c1", leaseUntil: new Date(Date.now() + 60_000).toISOString() } });
    expect((await planProbed(stack, avi.result)).status).toBe("pending");
    expect(await record("dir/movie.avi")).toMatchObject({ state: "encoding", runner: { id: "r1" } });
    expect((await receiveAll("reelpress-encode")).map((j) => j.jobId)).toEqual([jobs[0].jobId]);
    expect(jobs[0]).toMatchObject({ key: "dir/movie.avi", outputKey: "dir/movie.mp4", etag: avi.result.etag, size: avi.result.size, mustSave: 0, downscale: false });
    expect(jobs[0].fingerprints).toEqual(avi.result.fingerprints);
    // A version in the hands of a runner is not probed again either.
    expect(await probeObject(stack, "dir/movie.avi")).toMatchObject({ status: "ignored", reason: "already encoding" });
  });

  it("strategy on a folder library: a skip keeps its name and still, is not probed again, and a new version is", async () => {
    const folder = { ...stack, config: { ...stack.config, skipRename: false } };
    const key = "nas/Holiday 2019 - Beach.mp4";
    await put(key, await videoFixture("mp4_h264_300k"));
    const low = await probeObject(folder, key);
    if (low.status !== "probed") throw new Error(low.reason);
    expect(await planProbed(folder, low.result)).toMatchObject({ status: "skipped", skipKey: key });
    expect(await headObject(stack, "nas/Holiday 2019 - Beach_skip.mp4")).toBeUndefined();
    const head = (await headObject(stack, key))!;
    expect(await record(key)).toMatchObject({ state: "skipped", size: head.size, etag: head.etag, thumbnailKey: thumbnailKeyFor(key), reason: expect.stringMatching(/below 0\.50 Mbit\/s/) });
    expect(await probeObject(folder, key)).toMatchObject({ status: "ignored", reason: "already skipped" });
    expect((await planProbed(folder, low.result)).status).toBe("pending");
    // Other bytes at the name: a new version, read and decided again.
    await put(key, await videoFixture("mp4_h264_3m"));
    expect(await probeObject(folder, key)).toMatchObject({ status: "probed" });
  });

  it("dry-run records the decision and touches nothing; a changed object is not planned from an old probe", async () => {
    await receiveAll("reelpress-encode");
    await put("dry/low.mp4", await videoFixture("mp4_h264_300k"));
    const low = await probeObject(stack, "dry/low.mp4", { dryRun: true });
    if (low.status !== "probed") throw new Error(low.reason);
    expect(await planProbed(stack, low.result)).toMatchObject({ status: "dry-run", decision: { action: "skip" } });
    expect(await headObject(stack, "dry/low.mp4")).toBeDefined();
    expect(await headObject(stack, "dry/low_skip.mp4")).toBeUndefined();
    expect(await record("dry/low.mp4")).toMatchObject({ state: "probed", decision: { action: "skip" } });

    await put("dry/changing.mkv", await videoFixture("mkv_h264"));
    const old = await probeObject(stack, "dry/changing.mkv");
    if (old.status !== "probed") throw new Error(old.reason);
    await put("dry/changing.mkv", await videoFixture("webm_vp9"));
    expect((await planProbed(stack, old.result)).status).toBe("stale");
    expect(await receiveAll("reelpress-encode")).toEqual([]);
  });

  it("handlers dead-letter a body that can never parse at once, with the reason, and carry on with the rest", async () => {
    await put("h/ok.mov", await videoFixture("mov_h264"));
    const arnOf = async (queue: string) =>
      (await stack.sqs.send(new GetQueueAttributesCommand({ QueueUrl: await stack.queueUrl(queue), AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn!;
    const deadLetters = async (queue: string) => {
      const r = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: await stack.queueUrl(queue), MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"] }));
      return (r.Messages ?? []).map((m) => [m.Body, m.MessageAttributes?.["reelpress-reason"]?.StringValue]);
    };
    const good = { MessageId: "m-good", ReceiptHandle: "r1", Body: JSON.stringify({ Records: [objectCreatedRecord("reelpress", { key: "h/ok.mov" })] }) };
    const bad = { MessageId: "m-bad", ReceiptHandle: "r2", Body: "{not json" };
    const test = { MessageId: "m-test", ReceiptHandle: "r3", Body: JSON.stringify({ Event: "s3:TestEvent", Bucket: "reelpress" }) };
    const logged: string[] = [];
    const probe = makeProbeHandler(() => stack, (e) => logged.push(e));
    const res = await probe(toSqsEvent([good, bad, test], await arnOf("reelpress-ingest"), "us-east-1"));
    expect(res.batchItemFailures).toEqual([]);
    expect(logged).toEqual(expect.arrayContaining(["probe.probed", "probe.error"]));
    expect(await deadLetters("reelpress-ingest-dlq")).toEqual([["{not json", "the message body is not JSON"]]);

    const results = (await receiveAll("reelpress-plan")).filter((r) => r.key === "h/ok.mov");
    expect(results).toHaveLength(1);
    const strategy = makeStrategyHandler(() => stack, () => undefined);
    const planArn = await arnOf("reelpress-plan");
    const planned = await strategy(toSqsEvent([{ MessageId: "p1", ReceiptHandle: "r", Body: JSON.stringify(results[0]) }, { MessageId: "p2", ReceiptHandle: "r", Body: "{}" }], planArn, "us-east-1"));
    expect(planned.batchItemFailures).toEqual([]);
    expect(await deadLetters("reelpress-plan-dlq")).toEqual([["{}", expect.stringMatching(/^the message body is not what this queue carries \(bucket: /)]]);
    expect(await record("h/ok.mov")).toMatchObject({ state: "planned", reason: "not MP4 (.mov), below 4K: H.264 MP4" });
  });

  it("finds keys with '+' and '%' from their event encoding", async () => {
    // A key S3 would send with %-escapes and "+": the probe must find the object, not a mangled name.
    const key = "a+b c/100%.mkv";
    await put(key, await videoFixture("mkv_h264"));
    expect(encodeEventKey(key)).toBe("a%2Bb+c/100%25.mkv");
    expect((await ingestEventRecord(stack, objectCreatedRecord("reelpress", { key }))).status).toBe("probed");
  });

  it("an ObjectRemoved event takes the record of a video that is really gone, and nothing else", async () => {
    const key = "removed/gone.mkv";
    await put(key, await videoFixture("mkv_h264"));
    expect((await ingestEventRecord(stack, objectCreatedRecord("reelpress", { key }))).status).toBe("probed");
    const removal = objectCreatedRecord("reelpress", { key }, "ObjectRemoved:Delete");
    // Anyone may send an event: while the object is there, its record stays.
    expect(await ingestEventRecord(stack, removal)).toMatchObject({ status: "ignored" });
    expect(await record(key)).toMatchObject({ state: "probed" });
    await stack.s3.send(new DeleteObjectCommand({ Bucket: "reelpress", Key: key }));
    expect(await ingestEventRecord(stack, removal)).toMatchObject({ status: "pruned" });
    expect(await record(key)).toBeUndefined();
    // A removal of something that is not a library video never touches a record.
    expect(await ingestEventRecord(stack, objectCreatedRecord("reelpress", { key: ".reelpress/manifest/x.mkv.json" }, "ObjectRemoved:Delete"))).toMatchObject({ status: "ignored" });
  });
});
