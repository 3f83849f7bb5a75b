// Quality and previews end to end (issue 21, seed 001 videoArchiver): a real runner measures SSIM/PSNR of
// each output and records it, `status --json` and the dashboard show it, the pass makes the montage and
// the AV1/Opus preview WebM, Chromium plays that preview from the dashboard, and an output below
// REELPRESS_MIN_SSIM is refused with the original kept byte for byte.
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { execa } from "execa";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "../../cli/dashboard.ts";
import { renderReportHtml } from "../../cli/report-html.ts";
import { makeDedupHandler } from "../../functions/dedup/handler.ts";
import { runnerSettings, startRunner, type Runner } from "../../gpu-runner/runner.ts";
import { montageImages, readLatestReport } from "../../shared/dedup/run.ts";
import { readRecord } from "../../shared/io/manifest.ts";
import { getObject, headObject } from "../../shared/io/objects.ts";
import { backupKeyFor, previewKeyFor } from "../../shared/rules/naming.ts";
import type { StatusSummary } from "../../shared/schemas.ts";
import { launchChromium, noChromium } from "../kit/browser.ts";
import { reelpress } from "../kit/cli.ts";
import { makeVideo } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { until } from "../kit/wait.ts";
import { planJob } from "../integration/runner-kit.ts";

const ARTIFACTS = path.resolve(import.meta.dirname, "../../.cache/artifacts");
const sha256 = async (stream: NodeJS.ReadableStream) => {
  const hash = createHash("sha256");
  await pipeline(stream, hash);
  return hash.digest("hex");
};
type Probe = { streams: Array<Record<string, unknown>>; format: { tags?: Record<string, string> } };
const ffprobe = async (file: string): Promise<Probe> =>
  JSON.parse((await execa("ffprobe", ["-v", "error", "-show_entries", "stream=codec_type,codec_name,width,height,channels:stream_tags:format_tags", "-of", "json", file])).stdout);

describe.skipIf(noChromium("quality and previews") !== undefined)("quality on every output, previews a browser plays (seed 001)", () => {
  let stack: TestStack;
  let tmp: string;
  let browser: Browser;
  let runner: Runner | undefined;
  let dashboard: Dashboard | undefined;
  type Event = { event: string } & Record<string, unknown>;
  const events: Event[] = [];
  const outcomeFor = (key: string) =>
    until(`the job of ${key} to end`, () => events.find((e) => e.key === key && (/^job_(compressed|skipped|dropped)$/.test(e.event) || (e.event === "job_failed" && e.final === true))), 100_000, 50);
  const record = async (key: string) => (await readRecord(stack, key))?.record;
  const download = async (key: string, name: string) => {
    const file = path.join(tmp, name);
    await pipeline((await getObject(stack, key)).body, createWriteStream(file));
    return file;
  };
  const start = (env: Record<string, string> = {}) =>
    startRunner(stack, {
      encoder: "x264",
      settings: runnerSettings({ REELPRESS_RUNNER_VISIBILITY: "5", REELPRESS_X264_PRESET: "ultrafast", ...env }),
      log: (event, fields) => void events.push({ event, ...fields }),
      workBase: path.join(tmp, "work"),
    });

  /** videoArchiver's input: a video with two audio streams and a title, 2 s of 160×120. */
  let seed: string;

  beforeAll(async () => {
    [stack, tmp, browser] = await Promise.all([startTestStack({ REELPRESS_FINGERPRINTS: "6" }), mkdtemp(path.join(os.tmpdir(), "reelpress-quality-")), launchChromium()]);
    seed = path.join(tmp, "seed.mkv");
    await execa("ffmpeg", [
      "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=160x120:rate=25:duration=2",
      "-f", "lavfi", "-i", "sine=frequency=440:duration=2", "-f", "lavfi", "-i", "sine=frequency=300:duration=2",
      "-map", "0", "-map", "1", "-map", "2", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "aac", "-metadata", "title=Holiday", seed,
    ]);
    runner = await start();
  });
  afterAll(async () => {
    await dashboard?.stop();
    await runner?.stop();
    await browser?.close();
    await stack?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it("records SSIM and PSNR of each output, and makes the montage and the preview (seed 001)", async () => {
    const jobs = [await planJob(stack, seed, "family/beach.mkv"), await planJob(stack, seed, "family/beach copy.mkv")];
    for (const job of jobs) expect(await outcomeFor(job.key)).toMatchObject({ event: "job_compressed" });

    const rec = (await record("family/beach.mp4"))!;
    // One frame in 3 of a 2 s clip at 25 fps (frames 0, 3, … 48), compared with the source's frames the pass kept.
    expect(rec.quality).toEqual({ ssim: expect.any(Number), psnr: expect.any(Number), frames: 17, sampled: true, sampledEvery: 3 });
    expect(rec.quality!.ssim).toBeGreaterThan(0.9);
    expect(rec.quality!.ssim).toBeLessThan(1);
    expect(rec.quality!.psnr).toBeGreaterThan(25);

    // Montage: a 2 s video gets a 1×1 sheet, the middle frame, its long side 320 px, as a JPEG.
    const montage = await headObject(stack, rec.montageKey!);
    expect(montage?.contentType).toBe("image/jpeg");
    const sheet = await ffprobe(await download(rec.montageKey!, "montage.jpg"));
    expect(sheet.streams).toEqual([expect.objectContaining({ codec_name: "mjpeg", width: 320, height: 240 })]);

    // Preview: AV1 at the source's size (under 1000 px already), the two audio streams mixed into one
    // Opus stream of about 10 kbit/s, nothing else, no metadata.
    expect(rec.previewKey).toBe(previewKeyFor("family/beach.mp4"));
    expect((await headObject(stack, rec.previewKey!))?.contentType).toBe("video/webm");
    const file = await download(rec.previewKey!, "preview.webm");
    const probe = await ffprobe(file);
    expect(probe.streams.map((s) => [s.codec_type, s.codec_name])).toEqual([["video", "av1"], ["audio", "opus"]]);
    expect(probe.streams[0]).toMatchObject({ width: 160, height: 120 });
    expect([1, 2]).toContain(probe.streams[1].channels);
    expect(JSON.stringify(probe)).not.toMatch(/Holiday/);
    // Only what the muxer writes itself: the writing application and each stream's duration.
    const tags = [probe.format.tags, ...probe.streams.map((s) => s.tags as Record<string, string> | undefined)].flatMap((t) => Object.keys(t ?? {}));
    expect(tags.filter((t) => !/^(encoder|duration)$/i.test(t))).toEqual([]);
    const packets = JSON.parse((await execa("ffprobe", ["-v", "error", "-select_streams", "a", "-show_entries", "packet=size", "-of", "json", file])).stdout) as { packets: Array<{ size: string }> };
    const audioBytes = packets.packets.reduce((n, p) => n + Number(p.size), 0);
    const kbps = (audioBytes * 8) / rec.media!.durationSec / 1000;
    expect(kbps).toBeGreaterThan(5);
    expect(kbps).toBeLessThan(16);
  });

  it("plays a preview WebM in Chromium from the dashboard, beside its duplicate", async () => {
    await makeDedupHandler(() => stack, { REELPRESS_DEDUP_QUALITY: "2" }, () => undefined)({ "detail-type": "Scheduled Event" });
    const report = (await readLatestReport(stack))!;
    expect(report.groups).toHaveLength(1);
    // The duplicate report plays both inline too.
    const html = renderReportHtml(report, await montageImages(stack, report));
    expect(html.match(/<video class="preview" src="data:video\/webm;base64,/g)).toHaveLength(2);

    dashboard = await startDashboard(stack, { port: 0, host: "127.0.0.1" });
    const previewKey = previewKeyFor("family/beach.mp4");
    const url = new URL(`api/montage?key=${encodeURIComponent(previewKey)}`, dashboard.url);
    const ranged = await fetch(url, { headers: { range: "bytes=0-99" } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get("content-type")).toBe("video/webm");
    expect(ranged.headers.get("content-range")).toBe(`bytes 0-99/${(await headObject(stack, previewKey))!.size}`);
    expect((await ranged.arrayBuffer()).byteLength).toBe(100);
    // Whatever its stored type, only a JPEG or WebM under the previews prefix is served, never the library.
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: ".reelpress/previews/x.html", Body: "<script>alert(1)</script>", ContentType: "text/html" }));
    for (const key of [".reelpress/previews/x.html", "family/beach.mp4"]) expect((await fetch(new URL(`api/montage?key=${encodeURIComponent(key)}`, dashboard.url))).status, key).toBe(400);

    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    page.on("pageerror", (e) => void problems.push(e.message));
    await page.goto(dashboard.url);
    await page.waitForSelector("body[data-loaded]");
    expect(await page.locator(".group video.preview").count()).toBe(2);
    expect(await page.locator("#quality .measured").textContent()).toBe("2 output(s) measured");
    const video = page.locator(`.file[data-key='family/beach.mp4'] video.preview`);
    await video.evaluate((v) => (v as unknown as { play(): Promise<void> }).play());
    const played = await page.waitForFunction(
      (key) => {
        const v = (globalThis as unknown as { document: { querySelector(s: string): { currentTime: number; videoWidth: number } | null } }).document.querySelector(`.file[data-key='${key}'] video.preview`);
        return v && v.currentTime > 0.5 && v.videoWidth > 0 ? { t: v.currentTime, width: v.videoWidth } : false;
      },
      "family/beach.mp4",
      { timeout: 30_000 },
    );
    expect(await played.jsonValue()).toMatchObject({ width: 160 });
    await mkdir(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, "dashboard-preview.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(20_000);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("refuses an output below REELPRESS_MIN_SSIM: the original stays byte for byte, the record says why, `status --json` counts it, and the skipped video gets a preview", async () => {
    await runner!.stop();
    runner = await start({ REELPRESS_MIN_SSIM: "0.999", REELPRESS_PREVIEW_SWEEP_MIN: "0.02" });
    const file = await makeVideo({ ext: "mkv", vcodec: "libx264", width: 160, height: 120, filter: "noise=alls=30:allf=t", durationSec: 2 });
    const job = await planJob(stack, file, "lib/noisy.mkv");
    const outcome = await outcomeFor(job.key);
    expect(outcome).toMatchObject({ event: "job_skipped", skipKey: "lib/noisy_skip.mkv" });
    expect(await sha256((await getObject(stack, "lib/noisy_skip.mkv")).body)).toBe(await sha256(createReadStream(file)));
    expect(await headObject(stack, "lib/noisy.mkv")).toBeUndefined();
    expect(await headObject(stack, "lib/noisy.mp4")).toBeUndefined();
    expect(await headObject(stack, backupKeyFor("lib/noisy.mkv", stack.config.backupPrefix))).toBeUndefined();
    const rec = (await record("lib/noisy_skip.mkv"))!;
    expect(rec).toMatchObject({ state: "skipped", reason: expect.stringMatching(/SSIM 0\.\d{4} is below the 0\.999 floor \(REELPRESS_MIN_SSIM\)/) });
    expect(rec.quality!.ssim).toBeLessThan(0.999);
    // No job encodes a skipped video: an idle runner makes its preview on its next sweep.
    const previewKey = await until("the skipped video's preview", async () => (await record("lib/noisy_skip.mkv"))?.previewKey, 60_000, 200);
    expect(previewKey).toBe(previewKeyFor("lib/noisy_skip.mkv"));
    expect((await ffprobe(await download(previewKey, "skipped.webm"))).streams.map((s) => s.codec_name)).toEqual(["av1"]);

    // `status --json`: the two outputs of the first test, and this refusal.
    const status = JSON.parse((await reelpress(["status", "--json"], { env: stack.env })).stdout) as StatusSummary;
    const [a, b] = await Promise.all(["family/beach.mp4", "family/beach copy.mp4"].map(async (k) => (await record(k))!.quality!));
    expect(status.quality).toMatchObject({ measured: 2, refused: 1, ssim_min: Math.min(a.ssim, b.ssim) });
    expect(status.quality!.ssim_mean).toBeCloseTo((a.ssim + b.ssim) / 2, 6);
  });
});
