// A chunked job against the embedded store (conditional writes honoured), with two in-process runners and
// real ffmpeg: the output must match an unchunked encode of the same source in duration, streams, frame count
// and frame times (a variable frame rate stretch), with the source's audio unbroken across chunk joins.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { buildPass, pickVerifyTimes } from "../../gpu-runner/encode-args.ts";
import { runPass } from "../../gpu-runner/encode.ts";
import { startRunner, type Runner } from "../../gpu-runner/runner.ts";
import { countVideoFrames, probeMedia } from "../../shared/media/ffprobe.ts";
import { readRecord } from "../../shared/io/manifest.ts";
import { createJson, headObject, presignedGetUrl, readJson } from "../../shared/io/objects.ts";
import { compareFingerprints } from "../../gpu-runner/verify.ts";
import { createFromFile, downloadChecked, handOverClaim } from "../../gpu-runner/chunked/work.ts";
import { workKeys } from "../../gpu-runner/chunked/plan.ts";
import { MergeClaim } from "../../shared/schemas.ts";
import { vfrVideo } from "../kit/fixtures.ts";
import { until } from "../kit/wait.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { planJob } from "./runner-kit.ts";

async function packetTimes(file: string, stream: string): Promise<number[]> {
  const r = await execa("ffprobe", ["-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time", "-of", "csv=p=0", file]);
  return r.stdout.split("\n").filter(Boolean).map(Number).sort((a, b) => a - b);
}

describe("chunked jobs (embedded store, two runners, real ffmpeg)", () => {
  let stack: TestStack;
  let tmp: string;
  const runners: Runner[] = [];
  type Event = { event: string } & Record<string, unknown>;
  const events: Event[] = [];

  beforeAll(async () => {
    stack = await startTestStack({ REELPRESS_FINGERPRINTS: "6" });
    tmp = await mkdtemp(path.join(os.tmpdir(), "reelpress-chunked-"));
    for (let i = 0; i < 2; i++) {
      runners.push(await startRunner(stack, {
        encoder: "x264",
        settings: { visibilitySec: 5, x264Preset: "ultrafast", chunks: { minSec: 6, chunkSec: 2 } },
        log: (event, fields) => void events.push({ event, runner: i, ...fields }),
        workBase: path.join(tmp, `work-${i}`),
      }));
    }
  });
  afterAll(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await stack?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it("encodes a long source in chunks on both runners, merges once, and matches an unchunked encode", async () => {
    const source = await vfrVideo();
    const job = await planJob(stack, source, "films/film.mkv");
    const done = await until("the chunked job's outcome", () => events.find((e) => e.key === job.key && /^job_(compressed|skipped|dropped)$|^job_failed$/.test(e.event)), 90_000);
    expect(done).toMatchObject({ event: "job_compressed", outputKey: "films/film.mp4" });

    const split = events.find((e) => e.event === "job_split")!;
    const chunks = Number(split.chunks);
    expect(chunks).toBeGreaterThanOrEqual(5);
    const stored = events.filter((e) => e.event === "job_chunk");
    // Every chunk but the merging one ends as `job_chunk`; both runners took chunks.
    expect(new Set(stored.map((e) => e.index)).size).toBe(chunks - 1);
    expect(new Set([...stored, done].map((e) => e.runner))).toEqual(new Set([0, 1]));
    expect(events.filter((e) => e.event === "job_compressed")).toHaveLength(1);

    const record = (await readRecord(stack, job.outputKey))!.record;
    expect(record).toMatchObject({ state: "compressed", chunks });
    const work = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.config.bucket, Prefix: ".reelpress/work/" }));
    expect(work.KeyCount).toBe(0);

    // The unchunked encode of the same source: the runner's one pass, run here.
    const media = await probeMedia(source, { timeoutSec: 30 });
    const dir = await mkdtemp(path.join(tmp, "whole-"));
    const whole = await runPass(
      buildPass({ input: source, media, encoder: "x264", downscale: false, sampleTimes: job.fingerprints.map((f) => f.t), keyframeTimes: pickVerifyTimes(job.fingerprints), x264Preset: "ultrafast" }),
      { dir, signal: new AbortController().signal },
    );
    if (whole.kind !== "encoded") throw new Error("the unchunked encode stopped");
    const chunked = path.join(tmp, "chunked.mp4");
    await execa("curl", ["-sf", "-o", chunked, await presignedGetUrl(stack, job.outputKey)]);

    // The fingerprints the merge took from keyframes only are the source's pictures, every one; the montage is there.
    expect(record.fingerprints!.map((f) => f.t)).toEqual(job.fingerprints.map((f) => f.t));
    expect(compareFingerprints(job.fingerprints, record.fingerprints!)).toMatchObject({ ok: true, matched: job.fingerprints.filter((f) => !f.dark).length });
    expect((await headObject(stack, record.montageKey!))?.size).toBeGreaterThan(1000);
    // Quality per chunk, so a bad one shows, and the preview made from the joined output.
    expect(record.quality).toMatchObject({ sampled: true, chunks: expect.any(Array) });
    expect(record.quality!.chunks!.map((c) => c.index)).toEqual([...Array(chunks).keys()]);
    for (const c of record.quality!.chunks!) expect(c.ssim, `chunk ${c.index}`).toBeGreaterThan(0.9);
    expect(record.quality!.frames).toBe(record.quality!.chunks!.reduce((n, c) => n + c.frames, 0));
    expect((await headObject(stack, record.previewKey!))?.contentType).toBe("video/webm");

    const [a, b] = await Promise.all([probeMedia(chunked, { timeoutSec: 30 }), probeMedia(whole.output, { timeoutSec: 30 })]);
    expect(Math.abs(a.durationSec - b.durationSec)).toBeLessThan(0.05);
    expect({ video: a.video.codec, size: [a.video.width, a.video.height], audio: a.audio, subtitles: a.subtitles }).toEqual({ video: b.video.codec, size: [b.video.width, b.video.height], audio: b.audio, subtitles: b.subtitles });
    const frames = await countVideoFrames(source, 30);
    expect(await countVideoFrames(chunked, 30)).toBe(frames);
    expect(await countVideoFrames(whole.output, 30)).toBe(frames);
    // Every frame at the source's own time: the VFR stretch survives the cuts and the join.
    const [chunkedTimes, sourceTimes] = await Promise.all([packetTimes(chunked, "v:0"), packetTimes(source, "v:0")]);
    expect(chunkedTimes.map((t) => t.toFixed(3))).toEqual(sourceTimes.map((t) => t.toFixed(3)));

    // The audio is the source's, once: every packet, evenly spaced (no jump at a join), and no silence.
    const [audio, sourceAudio] = await Promise.all([packetTimes(chunked, "a:0"), packetTimes(source, "a:0")]);
    expect(audio).toHaveLength(sourceAudio.length);
    const steps = audio.slice(1).map((t, i) => t - audio[i]);
    expect(Math.max(...steps) - Math.min(...steps)).toBeLessThan(0.002);
    // Silence anywhere but where the source has it (the AAC encoder's priming at 0) would be a gap at a join.
    const silences = async (file: string) =>
      (await execa("ffmpeg", ["-hide_banner", "-nostats", "-i", file, "-map", "0:a:0", "-af", "silencedetect=noise=-50dB:d=0.02", "-f", "null", "-"])).stderr.match(/silence_(start|end): [\d.]+/g);
    expect(await silences(chunked)).toEqual(await silences(source));
  });

  it("hands the merge claim to a merge message redriven from the dead-letter queue, and to no other chunk's", async () => {
    const key = workKeys("00112233445566778899").mergeClaim;
    expect(await createJson(stack, key, { messageId: "dead", index: 3, runnerId: "r", chunks: 5, claimedAt: "" })).toBe(true);
    expect(await createJson(stack, key, { messageId: "other", index: 1, runnerId: "r", chunks: 5, claimedAt: "" })).toBe(false);
    expect(await handOverClaim(stack, key, 1, "redriven-1")).toBe(false);
    expect(await handOverClaim(stack, key, 3, "redriven-3")).toBe(true);
    expect(await readJson(stack, key, MergeClaim)).toMatchObject({ messageId: "redriven-3", index: 3 });
  });

  it("refuses a work object whose bytes no longer match the SHA-256 stored with it (the merge then encodes that chunk again)", async () => {
    const file = path.join(tmp, "chunk.bin");
    await writeFile(file, "the encoded chunk");
    const key = workKeys("00112233445566778899").output(2);
    expect(await createFromFile(stack, file, key)).toMatchObject({ created: true });
    // Written again with the same bytes: the same fact, nothing changes; other bytes are refused.
    expect(await createFromFile(stack, file, key)).toMatchObject({ created: false });
    await writeFile(file, "other bytes");
    await expect(createFromFile(stack, file, key)).rejects.toThrow(/already holds other bytes/);
    expect(await createFromFile(stack, file, key, { anyBytes: true })).toMatchObject({ created: false });
    // Damaged in the store behind reelpress's back (metadata kept): the download is refused.
    const head = await headObject(stack, key);
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.config.bucket, Key: key, Body: "the encoded chunK", Metadata: head!.metadata }));
    await expect(downloadChecked(stack, key, path.join(tmp, "got.bin"))).rejects.toThrow(/does not match its checksum/);
  });
});

