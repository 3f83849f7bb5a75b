// Profiles end to end on one stack: the library's profiles file, the real probe and strategy, a real runner
// with real ffmpeg. Seed 001's archive (every stream and the metadata kept, a stream that would not save
// kept as the source's), seed 002's per-job settings, a forbidden argument refused, and `--reencode`.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runnerSettings, startRunner, type Runner } from "../../gpu-runner/runner.ts";
import { readRecord } from "../../shared/io/manifest.ts";
import { headObject, uploadFile } from "../../shared/io/objects.ts";
import { loadProfiles } from "../../shared/io/profiles.ts";
import { PROFILES_KEY } from "../../shared/rules/profiles.ts";
import { backupKeyFor, previewKeyFor } from "../../shared/rules/naming.ts";
import { chooseForReencode } from "../../shared/rules/reencode.ts";
import { probeObject } from "../../shared/steps/probe.ts";
import { planProbed } from "../../shared/steps/strategy.ts";
import { reelpress } from "../kit/cli.ts";
import { makeVideo } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { until } from "../kit/wait.ts";

const SMALL = { encoder: "x264", quality: 35, preset: "ultrafast", params: { keyint: "10", bframes: "0" } };

describe("profiles (folder store as a real server, real probe, strategy, runner and ffmpeg)", () => {
  let stack: TestStack;
  let tmp: string;
  let runner: Runner;
  type Event = { event: string } & Record<string, unknown>;
  const events: Event[] = [];
  const outcomeFor = (key: string, from = events.length) =>
    until(`the outcome of ${key}`, () => events.slice(from).find((e) => e.key === key && /^job_(compressed|skipped|dropped|refused)$|^job_failed$/.test(e.event)), 100_000, 50);
  const record = async (key: string) => (await readRecord(stack, key))?.record;
  const onDisk = (key: string) => path.join(stack.embedded.library, key);
  const setProfiles = (value: unknown) => writeFile(path.join(tmp, "profiles.json"), JSON.stringify(value)).then(() => uploadFile(stack, path.join(tmp, "profiles.json"), PROFILES_KEY, { contentType: "application/json" }));
  /** What the probe and strategy functions do for an upload, here in the test. */
  async function plan(key: string) {
    const probed = await probeObject(stack, key);
    if (probed.status !== "probed") throw new Error(`${key} was not probed: ${probed.status}`);
    return planProbed(stack, probed.result);
  }
  const streamsOf = async (file: string) => {
    const r = await execa("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type,codec_name:stream_tags=language:format_tags", "-of", "json", file]);
    return JSON.parse(r.stdout) as { streams: Array<{ codec_type: string; codec_name: string; tags?: { language?: string } }>; format: { tags: Record<string, string> } };
  };
  /** The MD5 of one stream's packets, copied out as they are. */
  const packetsMd5 = async (file: string, stream: string) => (await execa("ffmpeg", ["-v", "error", "-i", file, "-map", stream, "-c", "copy", "-f", "hash", "-hash", "md5", "-"])).stdout.trim();
  const sha = async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex");

  beforeAll(async () => {
    stack = await startTestStack({ REELPRESS_FINGERPRINTS: "6" });
    tmp = await mkdtemp(path.join(os.tmpdir(), "reelpress-profiles-"));
    runner = await startRunner(stack, {
      encoder: "x264",
      settings: runnerSettings({ REELPRESS_RUNNER_VISIBILITY: "30", REELPRESS_X264_PRESET: "ultrafast" }),
      log: (event, fields) => void events.push({ event, ...fields }),
      workBase: path.join(tmp, "work"),
    });
    await setProfiles({ folders: { "archive/": "archive", "clips/": "small" }, profiles: { small: SMALL } });
  });
  afterAll(async () => {
    await runner?.stop();
    await stack?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it("archive: every stream and the metadata in order in MKV; an audio stream Opus cannot shrink stays the source's", async () => {
    // 3 s at 160×120: video at 1 Mbit/s and PCM audio (both shrink), AAC at 16 kbit/s (Opus 128k is bigger), SubRip.
    const srt = path.join(tmp, "subs.srt");
    await writeFile(srt, "1\n00:00:00,500 --> 00:00:02,000\nHello\n\n2\n00:00:02,100 --> 00:00:02,900\nWorld\n");
    const source = path.join(tmp, "holiday.mkv");
    await execa("ffmpeg", [
      "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=3", "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=3",
      "-f", "lavfi", "-i", "anoisesrc=sample_rate=48000:duration=3:amplitude=0.3", "-i", srt, "-map", "0", "-map", "1", "-map", "2", "-map", "3",
      "-c:v", "libx264", "-preset", "ultrafast", "-b:v", "1M", "-c:a:0", "pcm_s16le", "-c:a:1", "aac", "-b:a:1", "16k", "-ac:a:1", "1", "-c:s", "srt",
      "-metadata", "title=Holiday", "-metadata:s:a:0", "language=eng", "-metadata:s:a:1", "language=fra", "-metadata:s:s:0", "language=deu", source,
    ]);
    const key = "archive/holiday.mkv";
    await uploadFile(stack, source, key);
    const planned = await plan(key);
    expect(planned).toMatchObject({ status: "planned", job: { outputKey: key, mustSave: 0, profile: { name: "archive", quality: 18, preset: "veryslow" } } });
    expect(await outcomeFor(key, 0)).toMatchObject({ event: "job_compressed", outputKey: key });

    const out = await streamsOf(onDisk(key));
    expect(out.streams.map((s) => [s.codec_type, s.codec_name, s.tags?.language])).toEqual([
      ["video", "h264", undefined], ["audio", "opus", "eng"], ["audio", "aac", "fra"], ["subtitle", "subrip", "deu"],
    ]);
    expect(out.format.tags).toMatchObject({ title: "Holiday", "REELPRESS-STATE": "compressed_h264_v4", "REELPRESS-PROFILE": "archive" });
    // Kept means the source's very packets, not a re-encode.
    expect(await packetsMd5(onDisk(key), "0:2")).toBe(await packetsMd5(source, "0:2"));
    expect(await record(key)).toMatchObject({
      state: "compressed",
      encode: {
        profile: { name: "archive" }, encoder: "x264", videoArgs: expect.arrayContaining(["libx264", "veryslow", "18"]),
        streams: [
          { index: 0, action: "encoded" }, { index: 1, action: "encoded" }, { index: 2, action: "kept", reason: expect.stringMatching(/not below 0\.9 × the source/) },
          { index: 3, action: "kept" },
        ],
      },
      // Measured like every output: crf 18 is visually lossless.
      quality: { ssim: expect.toSatisfy((v: number) => v > 0.97) },
      previewKey: previewKeyFor(key),
    });
    expect(await sha(onDisk(backupKeyFor(key, stack.config.backupPrefix)))).toBe(await sha(source));
  });

  it("per-job settings (seed 002): a custom profile's job is encoded with its settings and records them", async () => {
    const source = await makeVideo({ ext: "avi", vcodec: "mpeg4", width: 160, height: 120, durationSec: 3, audio: true });
    const planned = await plan(await upload(source, "clips/a.avi"));
    const profile = { name: "small", base: "compat", ...SMALL };
    expect(planned).toMatchObject({ status: "planned", job: { outputKey: "clips/a.mp4", profile } });
    expect(await outcomeFor("clips/a.avi", 0)).toMatchObject({ event: "job_compressed", outputKey: "clips/a.mp4" });
    expect(await record("clips/a.mp4")).toMatchObject({
      encode: { profile, encoder: "x264", videoArgs: ["-c:v", "libx264", "-preset:v", "ultrafast", "-crf:v", "35", "-profile:v", "high", "-pix_fmt:v", "yuv420p", "-x264-params:v", "keyint=10:bframes=0"] },
    });
    // x264 writes the settings it ran with into the stream itself.
    const written = (await readFile(onDisk("clips/a.mp4"))).toString("latin1");
    expect(written).toMatch(/ crf=35\.0 /);
    expect(written).toMatch(/ keyint=10 /);
    expect(written).toMatch(/ bframes=0 /);
  });

  it("refuses a profiles file with a forbidden argument in one sentence, and leaves the video as it is", async () => {
    const source = await makeVideo({ ext: "avi", vcodec: "mpeg4", width: 160, height: 120, durationSec: 2 });
    const key = await upload(source, "clips/b.avi");
    await setProfiles({ folders: { "clips/": "evil" }, profiles: { evil: { params: { "aq-mode": "1:stats=/etc/passwd" } } } });
    try {
      await expect(plan(key)).rejects.toThrow(/^Bad \.reelpress\/profiles\.json: profiles\.evil\.params\.aq-mode is "1:stats=\/etc\/passwd", which is not a value it may have\.$/);
      expect(await record(key)).toMatchObject({ state: "probed" });
      expect(await headObject(stack, key)).toBeDefined();
    } finally {
      await setProfiles({ folders: { "archive/": "archive", "clips/": "small" }, profiles: { small: SMALL } });
    }
  });

  it("a folder's new profile leaves finished outputs alone; --reencode makes them again from the original", async () => {
    await setProfiles({ folders: { "archive/": "archive", "clips/": "archive" } });
    // The output is never a source, whatever the folder now says.
    expect(await probeObject(stack, "clips/a.mp4")).toMatchObject({ status: "ignored", reason: expect.stringMatching(/already compressed/) });
    const scan = await reelpress(["scan", "--reencode", "archive"], { env: stack.env });
    expect(scan).toMatchObject({ exitCode: 0, stderr: "" });
    expect(scan.stdout).toMatch(/^leave .* archive\/holiday\.mkv {2}already made with archive$/m);
    expect(scan.stdout).toMatch(/^restore .* clips\/a\.mp4 {2}original restored at clips\/a\.avi and queued for archive$/m);
    expect(scan.stdout).toMatch(/Re-encode: 1 output\(s\) whose folder names archive are made again from their originals; the old outputs stay\./);
    expect(await sha(onDisk("clips/a.avi"))).toBe(await sha(onDisk(backupKeyFor("clips/a.avi", stack.config.backupPrefix))));
    // Asked twice, it restores nothing more.
    expect(chooseForReencode([(await record("clips/a.mp4"))!], await loadProfiles(stack), "archive")).toMatchObject([{ action: "leave" }]);

    const from = events.length;
    expect(await plan("clips/a.avi")).toMatchObject({ status: "planned", job: { outputKey: "clips/a.mkv", profile: { name: "archive" } } });
    expect(await outcomeFor("clips/a.avi", from)).toMatchObject({ event: "job_compressed", outputKey: "clips/a.mkv" });
    expect(await record("clips/a.mkv")).toMatchObject({ encode: { profile: { name: "archive" } }, source: { key: "clips/a.avi" } });
    expect(await record("clips/a.mp4")).toMatchObject({ state: "compressed", reencode: { profile: "archive", restoredKey: "clips/a.avi" } });
    expect(await headObject(stack, "clips/a.mp4")).toBeDefined();
  });

  async function upload(file: string, key: string): Promise<string> {
    await uploadFile(stack, file, key);
    return key;
  }
});
