import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { redrive } from "../../gpu-runner/redrive.ts";
import { runnerSettings, startRunner, type Runner } from "../../gpu-runner/runner.ts";
import { isCompressedMedia } from "../../shared/rules/decision.ts";
import { probeMedia } from "../../shared/media/ffprobe.ts";
import { readRecord, updateRecord } from "../../shared/io/manifest.ts";
import { planBackupPurge } from "../../shared/io/backups.ts";
import { backupKeyFor } from "../../shared/rules/naming.ts";
import { headObject, presignedGetUrl, uploadFile } from "../../shared/io/objects.ts";
import { probeObject } from "../../shared/steps/probe.ts";
import { makeVideo, videoFixture } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { until } from "../kit/wait.ts";
import { GRAIN, planJob, recordPlan, sendJob } from "./runner-kit.ts";

async function sha256Of(stream: NodeJS.ReadableStream): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(stream, hash);
  return hash.digest("hex");
}

describe("runner jobs (folder store as a real server, real ffmpeg)", () => {
  let stack: TestStack;
  let tmp: string;
  let runner: Runner;
  type Event = { event: string } & Record<string, unknown>;
  const events: Event[] = [];
  /** Resolves with the first log event (from `from` on) that matches; fails, naming the match, before the test times out. */
  const waitFor = (match: (e: Event) => boolean, from = 0): Promise<Event> =>
    until(`a log event matching ${String(match)}`, () => events.slice(from).find(match), 100_000, 50);
  /** The outcome event of the next job for `key`: compressed, skipped, dropped, or its last failure. */
  const outcomeFor = (key: string, from = events.length) =>
    waitFor((e) => e.key === key && (/^job_(compressed|skipped|dropped)$/.test(e.event) || (e.event === "job_failed" && e.final === true)), from);
  const objectSha = async (key: string) => sha256Of((await stack.s3.send(new GetObjectCommand({ Bucket: "reelpress", Key: key }))).Body as NodeJS.ReadableStream);
  const fileSha = (file: string) => sha256Of(createReadStream(file));
  const record = async (key: string) => (await readRecord(stack, key))?.record;

  beforeAll(async () => {
    stack = await startTestStack({ REELPRESS_FINGERPRINTS: "6" });
    tmp = await mkdtemp(path.join(os.tmpdir(), "reelpress-runner-"));
    runner = await startRunner(stack, {
      encoder: "auto",
      settings: runnerSettings({ REELPRESS_RUNNER_VISIBILITY: "3", REELPRESS_X264_PRESET: "ultrafast" }),
      log: (event, fields) => void events.push({ event, ...fields }),
      workBase: path.join(tmp, "work"),
    });
  });
  afterAll(async () => {
    await runner.stop();
    await stack.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it("compresses every kind of source: tagged, verified, original backed up byte for byte, manifest complete", async () => {
    // Every test-kit fixture goes through `reelpress dev` in test/e2e/runner-dev.test.ts; these are the cases it lacks.
    const files: Record<string, string> = { "lib/old film.avi": await videoFixture("avi_mpeg4") };
    // Rotated, with PCM audio: rotation stays a display matrix, audio becomes AAC.
    const rotated = path.join(tmp, "rotated.mov");
    await execa("ffmpeg", ["-v", "error", "-y", "-i", await makeVideo({ ext: "mov", vcodec: "libx264", audio: true, acodec: "pcm_s16le", durationSec: 3 }), "-c", "copy", "-metadata:s:v:0", "rotate=90", rotated]);
    files["lib/rotated.mov"] = rotated;
    // Odd dimensions, a text and no bitmap subtitle stream: even output, mov_text kept.
    const srt = path.join(tmp, "subs.srt");
    await writeFile(srt, "1\n00:00:00,500 --> 00:00:02,000\nHello\n\n2\n00:00:02,500 --> 00:00:03,500\nWorld\n");
    const subbed = path.join(tmp, "subbed.mkv");
    await execa("ffmpeg", ["-v", "error", "-y", "-i", await makeVideo({ ext: "mkv", vcodec: "mpeg4", width: 321, height: 241, audio: true, acodec: "libvorbis", durationSec: 4 }), "-i", srt, "-map", "0", "-map", "1", "-c", "copy", "-c:s", "srt", subbed]);
    files["lib/subbed.mkv"] = subbed;

    const from = events.length;
    const jobs = [];
    for (const [key, file] of Object.entries(files)) jobs.push(await planJob(stack, file, key));
    const outcomes = await Promise.all(jobs.map((j) => outcomeFor(j.key, from)));
    expect(outcomes.map((o) => o.event)).toEqual(jobs.map(() => "job_compressed"));
    expect(events.find((e) => e.event === "runner_started")).toMatchObject({ encoder: "x264", reason: expect.stringMatching(/^NVENC test encode failed \(.+\); using libx264$/) });

    for (const job of jobs) {
      const head = await headObject(stack, job.outputKey);
      expect(head?.metadata).toMatchObject({ "reelpress-state": "compressed_h264_v4", "reelpress-source-size": String(job.size), "reelpress-source-etag": job.etag });
      const out = await probeMedia(await presignedGetUrl(stack, job.outputKey), { timeoutSec: 30 });
      expect(isCompressedMedia(out), job.key).toBe(true);
      expect(out.video.codec).toBe("h264");
      expect(out.video.width % 2 + out.video.height % 2).toBe(0);
      // The original, byte for byte, in the backup prefix; gone from its key unless the output replaced it there.
      expect(await objectSha(backupKeyFor(job.key, stack.config.backupPrefix))).toBe(await fileSha(files[job.key]));
      if (job.outputKey !== job.key) {
        expect(await headObject(stack, job.key)).toBeUndefined();
        expect(await record(job.key)).toBeUndefined();
      }
      const rec = await record(job.outputKey);
      expect(rec).toMatchObject({ state: "compressed", size: head!.size, etag: head!.etag, savedBytes: job.size - head!.size, source: { key: job.key, size: job.size, etag: job.etag } });
      expect(rec!.sha256).toBe(await objectSha(job.outputKey));
      expect(rec!.fingerprints!.map((f) => f.t)).toEqual(job.fingerprints.map((f) => f.t));
      expect((await headObject(stack, rec!.montageKey!))?.size).toBeGreaterThan(1000);
      expect(rec!.source!.backupEtag).toBe((await headObject(stack, rec!.source!.backupKey))?.etag);
    }
    // Each backup is tied to its verified output: a purge of any age may remove it.
    const plan = await planBackupPurge(stack, 0);
    for (const job of jobs) expect(plan.find((d) => d.key === backupKeyFor(job.key, stack.config.backupPrefix))).toMatchObject({ action: "delete", output: job.outputKey });
    const media = async (key: string) => probeMedia(await presignedGetUrl(stack, key), { timeoutSec: 30 });
    expect((await media("lib/rotated.mp4")).video.rotation).toBe(90);
    expect((await media("lib/rotated.mp4")).audio).toEqual([expect.objectContaining({ codec: "aac" })]);
    expect(await media("lib/subbed.mp4")).toMatchObject({ video: { width: 320, height: 240 }, subtitles: [{ codec: "mov_text" }], audio: [{ codec: "aac" }] });
  });

  it("compresses a source uploaded in several parts (its backup cannot keep the multipart ETag)", async () => {
    // 12 MB of filler-padded CBR at 320×240: bigger than one upload part, cheap to encode.
    const file = await makeVideo({ ext: "mkv", vcodec: "libx264", bitrate: "10M", cbr: true, durationSec: 10 });
    const job = await planJob(stack, file, "lib/parts.mkv");
    expect(job.etag).toMatch(/-\d+"$/);
    expect(await outcomeFor(job.key)).toMatchObject({ event: "job_compressed" });
    expect(await objectSha(backupKeyFor(job.key, stack.config.backupPrefix))).toBe(await fileSha(file));
  });

  it("stops early when a must-save row cannot save 5 %, and renames the source to _skip", async () => {
    const file = await makeVideo(GRAIN);
    const job = await planJob(stack, file, "lib/grain.mp4");
    expect(job.mustSave).toBe(0.05);
    const skipped = await outcomeFor(job.key);
    expect(skipped).toMatchObject({ event: "job_skipped", skipKey: "lib/grain_skip.mp4" });
    // Stopped well before the end of the 12 s video.
    expect(skipped!.stoppedAtSec).toBeLessThan(10);
    expect(await headObject(stack, "lib/grain.mp4")).toBeUndefined();
    expect(await objectSha("lib/grain_skip.mp4")).toBe(await fileSha(file));
    expect(await record("lib/grain_skip.mp4")).toMatchObject({ state: "skipped", reason: expect.stringMatching(/cannot save 5 %/) });
    expect(await record("lib/grain.mp4")).toBeUndefined();
  });

  it("keeps the name of a source that cannot save 5 % when its plan says so, and a redelivered job does not encode it again", async () => {
    const file = await makeVideo(GRAIN);
    const key = "lib/keep grain.mp4";
    await uploadFile(stack, file, key);
    const job = await recordPlan(stack, file, key);
    // As the strategy plans on a folder library.
    await updateRecord(stack, key, (cur) => cur && { ...cur, plan: { ...cur.plan!, skipRename: false } });
    const from = events.length;
    await sendJob(stack, job);
    expect(await outcomeFor(key, from)).toMatchObject({ event: "job_skipped", skipKey: key });
    expect(await objectSha(key)).toBe(await fileSha(file));
    expect(await headObject(stack, "lib/keep grain_skip.mp4")).toBeUndefined();
    const skipped = await record(key);
    expect(skipped).toMatchObject({ state: "skipped", etag: job.etag, size: job.size, reason: expect.stringMatching(/cannot save 5 %/) });
    expect(skipped!.runner).toBeUndefined();
    const again = events.length;
    await sendJob(stack, job);
    expect(await outcomeFor(key, again)).toMatchObject({ event: "job_skipped", skipKey: key, reason: expect.stringMatching(/found already skipped/) });
    expect(await record(key)).toEqual(skipped);
    // Nor is it probed again.
    expect(await probeObject(stack, key)).toMatchObject({ status: "ignored", reason: "already skipped" });
  });

  it("drops a job whose source changed since planning and re-plans the new version", async () => {
    const from = events.length;
    // Changed between planning and the runner's look at it (the job is planned with the old ETag).
    const job = await planJob(stack, await videoFixture("mov_h264"), "lib/changed.mov", { etag: '"planned-before-the-change"' });
    expect(await outcomeFor(job.key, from)).toMatchObject({ event: "job_dropped", reason: expect.stringMatching(/changed/) });
    expect(await objectSha("lib/changed.mov")).toBe(await fileSha(await videoFixture("mov_h264")));
    expect(await headObject(stack, job.outputKey)).toBeUndefined();
    const ingest = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: await stack.queueUrl(stack.config.queues.ingest), MaxNumberOfMessages: 10 }));
    const replanned = ingest.Messages!.map((m) => JSON.parse(m.Body!).Records[0].s3.object);
    expect(replanned).toContainEqual(expect.objectContaining({ key: "lib/changed.mov", eTag: (await headObject(stack, "lib/changed.mov"))!.etag.replace(/"/g, "") }));
  });

  it("finishes a redelivered job from what is stored, without encoding again", async () => {
    const job = await planJob(stack, await videoFixture("mkv_h264"), "lib/twice.mkv");
    await outcomeFor(job.key, 0);
    const first = await record(job.outputKey);
    const from = events.length;
    await sendJob(stack, job);
    expect(await outcomeFor(job.key, from)).toMatchObject({ event: "job_compressed", outputKey: job.outputKey, resumed: true });
    const again = await record(job.outputKey);
    expect(again).toMatchObject({ state: "compressed", sha256: first!.sha256, etag: first!.etag, montageKey: first!.montageKey });
    expect(again!.fingerprints).toHaveLength(first!.fingerprints!.length);
  });

  it("never overwrites another object at the output key: three failures, dead-letter queue, `failed`, then redrive", async () => {
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: "lib/taken.mp4", Body: "someone else's file" }));
    const from = events.length;
    const job = await planJob(stack, await videoFixture("avi_mpeg4"), "lib/taken.avi");
    await waitFor((e) => e.event === "job_failed" && e.final === true, from);
    const failures = events.slice(from).filter((e) => e.event === "job_failed");
    expect(failures.map((f) => f.attempt)).toEqual([1, 2, 3]);
    expect(failures[2]).toMatchObject({ final: true, error: expect.stringMatching(/lib\/taken.mp4 already holds another object/) });
    expect(await record(job.key)).toMatchObject({ state: "failed", error: expect.stringMatching(/never overwritten/) });
    const dlq = await stack.queueUrl(stack.config.queues.encodeDlq);
    // The queue moves it on the next receive after the third.
    const dlqDepth = async () => (await stack.sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq, AttributeNames: ["ApproximateNumberOfMessages"] }))).Attributes!.ApproximateNumberOfMessages;
    await until("the job in the dead-letter queue", async () => (await dlqDepth()) === "1", 30_000, 200);
    expect(await objectSha("lib/taken.avi")).toBe(await fileSha(await videoFixture("avi_mpeg4")));

    // Once the other file is out of the way, the redriven job goes through.
    await stack.s3.send(new DeleteObjectCommand({ Bucket: "reelpress", Key: "lib/taken.mp4" }));
    const again = events.length;
    expect(await redrive(stack)).toEqual({ moved: 1, keys: ["lib/taken.avi"] });
    expect(await outcomeFor(job.key, again)).toMatchObject({ event: "job_compressed" });
  });
});
