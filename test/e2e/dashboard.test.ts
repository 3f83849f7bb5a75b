// The dashboard in headless Chromium against a real store: it renders, its numbers are the API's (and
// so `status --json`'s), montages load, it refreshes by itself, and the console stays clean. Then under a
// real `reelpress dev`: the first paint comes from the kept overview, a report is built by itself when
// the library goes idle (with its report_ready webhook), "all done" shows, and queued files are listed.
import { copyFile, mkdir, mkdtemp, readFile, rm, stat } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { execa } from "execa";
import type { Browser } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "../../cli/dashboard.ts";
import { makeDedupHandler } from "../../functions/dedup/handler.ts";
import { formatBytes } from "../../shared/rules/format.ts";
import { patchRecord } from "../../shared/io/manifest.ts";
import { PREVIEWS_PREFIX } from "../../shared/rules/naming.ts";
import { putRunner } from "../../shared/io/runners.ts";
import { writeScanProgress } from "../../shared/io/scan-progress.ts";
import type { StatusSummary } from "../../shared/schemas.ts";
import { headObject } from "../../shared/io/objects.ts";
import { launchChromium, noChromium } from "../kit/browser.ts";
import { reelpress, startDev } from "../kit/cli.ts";
import { videoFixture } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { until } from "../kit/wait.ts";

/** Kept after the run: CI uploads it, and the README shows it. */
const ARTIFACTS = path.resolve(import.meta.dirname, "../../.cache/artifacts");

const skip = noChromium("dashboard") !== undefined;

describe.skipIf(skip)("dashboard in headless Chromium", () => {
  let stack: TestStack;
  let dir: string;
  let browser: Browser;
  let dashboard: Dashboard;

  const put = async (key: string, body: Buffer | string, state: "compressed" | "failed" | "probed" | "encoding", more = {}) => {
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: body }));
    const head = (await headObject(stack, key))!;
    await patchRecord(stack, key, { size: head.size, etag: head.etag, state, ...more });
  };

  beforeAll(async () => {
    [stack, dir, browser] = await Promise.all([startTestStack(), mkdtemp(path.join(os.tmpdir(), "reelpress-dash-")), launchChromium()]);
    const montage = path.join(dir, "montage.jpg");
    await execa("ffmpeg", ["-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=2:duration=2", "-vf", "scale=160:120,tile=2x2", "-frames:v", "1", montage]);
    const montageKey = `${PREVIEWS_PREFIX}family/beach.mp4.montage.jpg`;
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: montageKey, Body: await readFile(montage), ContentType: "image/jpeg" }));
    const same = Buffer.alloc(120_000, 5);
    await put("family/beach.mp4", same, "compressed", { savedBytes: 3_000_000, montageKey });
    await put("family/beach copy.mp4", same, "compressed", { savedBytes: 1_000_000, montageKey });
    await put("trips/rome.mp4", Buffer.alloc(50_000, 6), "compressed", { savedBytes: 500_000 });
    await put("trips/list.mkv", "This is a shopping list", "failed", { error: "Truncating packet of size 9067 to 23; EBML header parsing failed", reason: "raw" });
    await put("clip.mp4", Buffer.alloc(80_000, 7), "encoding", { runner: { id: "gpu-1:7", jobId: "j1", claim: "c1", leaseUntil: new Date(Date.now() + 60_000).toISOString() } });
    await put("later.avi", Buffer.alloc(9_000, 8), "probed");
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: await stack.queueUrl("reelpress-encode"), MessageBody: "{}" }));
    await putRunner(stack, {
      id: "gpu-1:7", encoder: "nvenc", concurrency: 2,
      jobs: [
        { key: "clip.mp4", job_id: "j1", started_at: new Date().toISOString(), duration_sec: 60, out_time_sec: 24, speed: 3.5 },
        // A runner that tells stages: the whole job's one percentage and ETA, not the chunk's own 90 %.
        { key: "films/long.mkv", job_id: "j2", started_at: new Date().toISOString(), duration_sec: 120, out_time_sec: 108, chunks_done: 4, chunks_total: 7, stage: "chunks", percent: 47, eta_sec: 125 },
      ],
      updated_at: new Date().toISOString(),
    });
    await makeDedupHandler(() => stack, { REELPRESS_DEDUP_QUALITY: "2" }, () => undefined)({ "detail-type": "Scheduled Event" });
    dashboard = await startDashboard(stack, { port: 0, host: "127.0.0.1" });
  });
  afterAll(async () => {
    await dashboard?.stop();
    await browser?.close();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("shows the API's numbers, runners, savings per folder, failures and duplicates with montages", async () => {
    const api = (await (await fetch(new URL("api/status", dashboard.url))).json()) as StatusSummary;
    const cli = await reelpress(["status", "--json"], { env: stack.env });
    expect(api).toEqual(JSON.parse(cli.stdout));

    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const problems: string[] = [];
    page.on("console", (m) => void (m.type() === "error" || m.type() === "warning" ? problems.push(m.text()) : undefined));
    page.on("pageerror", (e) => void problems.push(e.message));
    await page.goto(dashboard.url);
    await page.waitForSelector("body[data-loaded]");

    for (const state of ["compressed", "skipped", "in_progress", "remaining", "failed"] as const) {
      const card = page.locator(`.state[data-state=${state}]`);
      expect(await card.locator(".count").textContent(), state).toBe(String(api[state].count));
      expect(await card.locator(".bytes").textContent(), state).toBe(formatBytes(api[state].bytes));
    }
    expect(api.compressed.count).toBe(3);
    expect(await page.locator(".state[data-state=saved] .count").textContent()).toBe(formatBytes(api.saved_bytes));
    for (const [k, field] of [["total", "total_bytes"], ["backups", "backup_bytes"], ["reclaimable", "reclaimable_bytes"]] as const) {
      expect(await page.locator(`.state[data-disk=${k}] .count`).textContent(), k).toBe(formatBytes(api.disk[field]));
    }
    for (const [role, d] of Object.entries(api.queues)) {
      expect(await page.locator(`tr[data-queue=${role}] .visible`).textContent(), role).toBe(String(d.visible));
      expect(await page.locator(`tr[data-queue=${role}] .in-flight`).textContent(), role).toBe(String(d.in_flight));
    }
    expect(await page.locator("tr[data-folder='family/'] .saved").textContent()).toBe(formatBytes(4_000_000));
    expect(await page.locator("tr[data-folder='trips/'] .saved").textContent()).toBe(formatBytes(500_000));
    expect(await page.locator("#working .job[data-key='clip.mp4'] .pct").textContent()).toBe("40 % · 3.5×");
    const staged = page.locator("#working .job[data-key='films/long.mkv']");
    expect(await staged.locator(".pct").textContent()).toBe("chunks 47 % · ETA 2:05 · 4/7 chunks stored");
    expect(await staged.locator(".bar > div").getAttribute("style")).toMatch(/width: ?47%/);
    expect(await page.locator("#headline").textContent()).toBe("6 video(s): 3 done (3 compressed, 0 skipped), 1 failed, 1 in progress, 1 remaining · queues: 1 waiting, 0 in flight");
    const failure = page.locator("tr.failure[data-key='trips/list.mkv']");
    expect(await failure.locator(".reason").textContent()).toBe("not a video file (damaged or not Matroska)");
    expect(await failure.getAttribute("title")).toMatch(/EBML header parsing failed/);

    expect(await page.locator("#report .summary").textContent()).toMatch(/^1 group\(s\), 1 file\(s\) to remove, 117\.2 KiB to reclaim/);
    const keep = page.locator(".group .file.keep");
    expect(await page.locator(".group .file").count()).toBe(2);
    expect(await keep.getAttribute("data-key")).toMatch(/^family\/beach( copy)?\.mp4$/);
    await page.waitForFunction(() => {
      const img = (globalThis as unknown as { document: { querySelector(s: string): { complete: boolean; naturalWidth: number } | null } }).document.querySelector(".file.keep img.montage");
      return img !== null && img.complete && img.naturalWidth > 0;
    });
    const size = await keep.locator("img.montage").evaluate((el) => [(el as unknown as { naturalWidth: number }).naturalWidth, (el as unknown as { naturalHeight: number }).naturalHeight]);
    expect(size).toEqual([320, 240]);

    await mkdir(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, "dashboard.png");
    await page.screenshot({ path: shot, fullPage: true });
    expect((await stat(shot)).size).toBeGreaterThan(50_000);
    expect(problems).toEqual([]);
    await page.close();
  });

  it("refreshes by itself: a new failure appears without a reload", async () => {
    const page = await browser.newPage();
    await page.goto(dashboard.url);
    await page.waitForSelector("body[data-loaded]");
    expect(await page.locator("tr.failure").count()).toBe(1);
    await put("trips/empty.mp4", "", "failed", { error: "empty object (0 bytes)" });
    await until("the page to show the new failure", async () => (await page.locator("tr.failure[data-key='trips/empty.mp4'] .reason").count()) === 1, 15_000, 250);
    expect(await page.locator("tr.failure[data-key='trips/empty.mp4'] .reason").textContent()).toBe("empty file (0 bytes)");
    await page.close();
  });

  it("shows the first scan's progress in its own panel, once there is one", async () => {
    const before = await browser.newPage();
    await before.goto(dashboard.url);
    await before.waitForSelector("body[data-loaded]");
    expect(await before.locator("#scan-panel").isHidden()).toBe(true);
    await before.close();
    const now = Date.now();
    await writeScanProgress(stack, {
      startedAt: new Date(now - 120_000).toISOString(), updatedAt: new Date(now).toISOString(), listed: true,
      found: 12_300, queued: 12_000, probed: 4000, planned: 3000, encoded: 20, samples: [[now - 60_000, 1600], [now, 4000]],
    });
    const page = await browser.newPage();
    await page.goto(dashboard.url);
    await page.waitForSelector("#scan-panel:not([hidden])", { timeout: 15_000 });
    for (const [k, n] of [["found", "12,300"], ["probed", "4,000"], ["planned", "3,000"], ["encoded", "20"], ["left", "8,300"]]) {
      expect(await page.locator(`.state[data-scan=${k}] .count`).textContent(), k).toBe(n);
    }
    expect(await page.locator("#scan .pace").textContent()).toBe("40/s · about 3 min left");
    await page.close();
  });
});

/** A webhook receiver that keeps every body it is sent. */
async function startReceiver() {
  const bodies: Array<Record<string, unknown>> = [];
  const server = http.createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    bodies.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
    res.end("ok");
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`, bodies, stop: () => new Promise((r) => server.close(r)) };
}

describe.skipIf(skip)("dashboard of a real reelpress dev", () => {
  let work: string;
  let lib: string;
  let browser: Browser;
  let receiver: Awaited<ReturnType<typeof startReceiver>>;
  let dev: Awaited<ReturnType<typeof startDev>>;
  let url: string;

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "reelpress-dash-dev-"));
    lib = path.join(work, "library");
    await mkdir(path.join(lib, "home"), { recursive: true });
    // Two copies of one low-bitrate clip: both skipped at once, and exact duplicates for the report.
    const low = await videoFixture("mp4_h264_300k");
    await copyFile(low, path.join(lib, "home", "party.mp4"));
    await copyFile(low, path.join(lib, "home", "party copy.mp4"));
    [browser, receiver] = await Promise.all([launchChromium(), startReceiver()]);
    // The runner's window is closed, so a file planned for encoding stays queued where the page can see it.
    const hour = new Date().getHours();
    const env = {
      ...process.env, AWS_ENDPOINT_URL: "", NO_COLOR: "1", REELPRESS_FINGERPRINTS: "6", REELPRESS_SETTLE_SEC: "1", REELPRESS_SCAN_INTERVAL: "2",
      REELPRESS_NOTIFY_URL: receiver.url, REELPRESS_RUNNER_HOURS: `${(hour + 2) % 24}-${(hour + 3) % 24}`, REELPRESS_DEV_FILE: path.join(work, "dev.json"),
    };
    dev = await startDev(["--library", lib, "--data-dir", path.join(work, "data"), "--port", "0"], env);
    url = /dashboard\s+(http\S+)/.exec(dev.output())![1];
  });
  afterAll(async () => {
    dev?.child.kill("SIGTERM");
    await dev?.child;
    await browser?.close();
    await receiver?.stop();
    await rm(work, { recursive: true, force: true });
  });

  it("builds a report by itself when the library goes idle, sends report_ready, and shows all done at first paint", async () => {
    const ready = await until("a report_ready webhook", () => receiver.bodies.find((b) => b.event === "report_ready"), 90_000, 250);
    expect(ready).toMatchObject({ groups: 1, losers: 1, report_key: expect.stringMatching(/^\.reelpress\/reports\//) });
    expect(dev.output()).toMatch(/dedup\.idle-report/);

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const opened = Date.now();
    await page.goto(url);
    await page.waitForSelector("body[data-loaded]");
    // The first answer is the overview the server kept, computed before the page was opened, with numbers.
    expect(Date.parse((await page.getAttribute("body", "data-loaded"))!)).toBeLessThan(opened);
    expect(await page.locator("#updated").textContent()).toMatch(/^updated /);
    expect(await page.locator(".state[data-state=skipped] .count").textContent()).toMatch(/^\d+$/);
    await until("all done with the report", async () => (await page.getAttribute("#now", "data-all-done")) === "true" && (await page.locator("#report .summary").count()) === 1, 20_000, 250);
    expect(await page.locator("#headline").textContent()).toMatch(/^All done: 2 video\(s\), nothing queued, working or remaining · 0 compressed, 2 skipped, 0 failed/);
    expect(await page.locator("#report .summary").textContent()).toMatch(/^1 group\(s\), 1 file\(s\) to remove/);
    await mkdir(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-all-done.png"), fullPage: true });
    await page.close();
  });

  it("lists a file queued for a runner by its key, and all done gives way", async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await page.goto(url);
    await page.waitForSelector("body[data-loaded]");
    await copyFile(await videoFixture("mkv_h264"), path.join(lib, "home", "holiday.mkv"));
    const row = page.locator(".queued-file[data-key='home/holiday.mkv']");
    await until("the planned file in the queued list", async () => (await row.count()) === 1 && (await row.locator(".qstate").textContent()) === "planned, waiting for a runner", 60_000, 250);
    await until("the count that agrees", async () => /1 remaining · queues: 1 waiting/.test((await page.locator("#headline").textContent()) ?? ""), 20_000, 250);
    expect(await page.getAttribute("#now", "data-all-done")).toBe("false");
    expect(await page.locator("#queued-title").textContent()).toBe("Queued (1)");
    expect(await page.locator("#runners .paused").count()).toBe(1);
    await page.screenshot({ path: path.join(ARTIFACTS, "dashboard-queued.png"), fullPage: true });
    await page.close();
  });
});
