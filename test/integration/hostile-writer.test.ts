// A neighbour who may write the bucket and reach the queues: a forged backup at a derived name, and
// altered or invented jobs. None of it may cost an original (issue "Nothing in where it doesn't belong").
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runnerSettings, startRunner, type Runner } from "../../gpu-runner/runner.ts";
import { DEAD_LETTER_REASON } from "../../shared/io/dead-letter.ts";
import { headObject } from "../../shared/io/objects.ts";
import { backupKeyFor, manifestKeyFor, nthName } from "../../shared/rules/naming.ts";
import { forgeSameCrc64 } from "../kit/forge-crc.ts";
import { videoFixture } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { until } from "../kit/wait.ts";
import { recordPlan, sendJob } from "./runner-kit.ts";

const sha = (b: Buffer) => createHash("sha256").update(b).digest("hex");

describe("a hostile writer (folder store as a real server, real ffmpeg, a real runner)", () => {
  let stack: TestStack;
  let tmp: string;
  let runner: Runner;
  const events: ({ event: string } & Record<string, unknown>)[] = [];
  const bytesOf = async (key: string) => Buffer.from(await (await stack.s3.send(new GetObjectCommand({ Bucket: "reelpress", Key: key }))).Body!.transformToByteArray());
  const put = (key: string, body: Buffer) => stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: body, ChecksumAlgorithm: "CRC64NVME" }));
  const outcomeFor = (key: string, from = 0) =>
    until(`the runner's word on ${key}`, () => events.slice(from).find((e) => e.key === key && /^job_(compressed|skipped|dropped|refused)$/.test(e.event)), 90_000);
  const deadLetters = async () => {
    const QueueUrl = await stack.queueUrl(stack.config.queues.encodeDlq);
    const r = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl, MaxNumberOfMessages: 10, MessageAttributeNames: ["All"], WaitTimeSeconds: 1 }));
    return (r.Messages ?? []).map((m) => ({ body: JSON.parse(m.Body!), reason: m.MessageAttributes?.[DEAD_LETTER_REASON]?.StringValue }));
  };

  beforeAll(async () => {
    stack = await startTestStack({ REELPRESS_FINGERPRINTS: "6" });
    tmp = await mkdtemp(path.join(os.tmpdir(), "reelpress-hostile-"));
    runner = await startRunner(stack, {
      encoder: "x264",
      settings: runnerSettings({ REELPRESS_RUNNER_VISIBILITY: "5", REELPRESS_X264_PRESET: "ultrafast" }),
      log: (event, fields) => void events.push({ event, ...fields }),
      workBase: path.join(tmp, "work"),
    });
  });
  afterAll(async () => {
    await runner?.stop();
    await stack?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it("never takes an object already at the backup name for the backup, even one with the original's size and CRC64NVME", async () => {
    const file = await videoFixture("avi_mpeg4");
    const original = await readFile(file);
    const key = "films/t2.avi";
    await put(key, original);
    const forged = await forgeSameCrc64(original);
    const backupKey = backupKeyFor(key, stack.config.backupPrefix);
    await put(backupKey, forged);
    const [source, fake] = await Promise.all([headObject(stack, key), headObject(stack, backupKey)]);
    // The attack as it stands on S3: the store's own full-object checksums agree, the bytes do not.
    expect(fake!.checksum).toEqual(source!.checksum);
    expect(fake!.size).toBe(source!.size);

    const job = await recordPlan(stack, file, key);
    await sendJob(stack, job);
    expect((await outcomeFor(key)).event).toBe("job_compressed");
    // The original's bytes live on in a backup this job made itself; the forged file is left as it was.
    expect(sha(await bytesOf(nthName(backupKey, 2)))).toBe(sha(original));
    expect(sha(await bytesOf(backupKey))).toBe(sha(forged));
    expect(await headObject(stack, key)).toBeUndefined();
  });

  it("refuses an altered job, dead-letters it with the reason and moves nothing; the genuine job still runs", async () => {
    const file = await videoFixture("mkv_h264");
    const key = "q/a.mkv";
    await put(key, await readFile(file));
    const job = await recordPlan(stack, file, key);
    const from = events.length;
    await sendJob(stack, { ...job, outputKey: "attacker/renamed.mp4" });
    const refused = await until("the refusal", () => events.slice(from).find((e) => e.event === "job_refused" && e.key === key), 60_000);
    expect(refused.error).toMatch(/output key attacker\/renamed\.mp4 is not one derived from q\/a\.mkv/);
    const dead = await until("the dead letter", async () => (await deadLetters()).find((d) => d.body.key === key), 30_000);
    expect(dead.reason).toMatch(/^refused: /);
    expect(await headObject(stack, "attacker/renamed.mp4")).toBeUndefined();
    expect((await headObject(stack, key))?.etag).toBe(job.etag);

    await sendJob(stack, { ...job, downscale: !job.downscale });
    await until("the second refusal", () => events.slice(from).filter((e) => e.event === "job_refused" && e.key === key).length === 2, 60_000);
    expect(events.filter((e) => e.event === "job_refused" && e.key === key).at(-1)!.error).toMatch(/settings differ/);

    const genuine = events.length;
    await sendJob(stack, job);
    expect((await outcomeFor(key, genuine)).event).toBe("job_compressed");
  });

  it("refuses a job for a file nobody planned", async () => {
    const file = await videoFixture("mov_h264");
    const key = "q/never-planned.mov";
    await put(key, await readFile(file));
    const head = (await headObject(stack, key))!;
    const job = await recordPlan(stack, file, key);
    // The same job, but as if the strategy had never written its record: only the message vouches for it.
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: manifestKeyFor(key), Body: JSON.stringify({ key, size: head.size, etag: head.etag, state: "probed", updatedAt: new Date().toISOString() }) }));
    await sendJob(stack, job);
    const refused = await until("the refusal", () => events.find((e) => e.event === "job_refused" && e.key === key), 60_000);
    expect(refused.error).toMatch(/no plan is recorded/);
    expect((await headObject(stack, key))?.etag).toBe(head.etag);
    expect(await headObject(stack, "q/never-planned.mp4")).toBeUndefined();
  });
});
