// `reelpress dev --library DIR` on a folder that already holds videos: they are processed in place,
// a file copied in later is picked up, and the results are plain files in the folder.
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isCompressedMedia } from "../../shared/rules/decision.ts";
import { probeMedia } from "../../shared/media/ffprobe.ts";
import { reelpress, startDev } from "../kit/cli.ts";
import { videoFixture } from "../kit/fixtures.ts";
import { until } from "../kit/wait.ts";

const sha256 = async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex");
const exists = (file: string) => readFile(file).then(() => true, () => false);

describe("reelpress dev --library: a folder of videos, served and processed in place", () => {
  let work: string;
  let lib: string;
  let dev: Awaited<ReturnType<typeof startDev>>;
  const originals = new Map<string, string>();
  const env = { ...process.env, AWS_ENDPOINT_URL: "", NO_COLOR: "1", REELPRESS_FINGERPRINTS: "6", REELPRESS_X264_PRESET: "ultrafast", REELPRESS_SETTLE_SEC: "1", REELPRESS_SCAN_INTERVAL: "2" };
  const at = (key: string) => path.join(lib, ...key.split("/"));

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "reelpress-e2e-library-"));
    lib = path.join(work, "my videos");
    const past = new Date(Date.now() - 60_000);
    for (const [key, fixture] of [["films/a.avi", "avi_mpeg4"], ["films/b.mkv", "mkv_h264"], ["clips/low.mp4", "mp4_h264_300k"]] as const) {
      await mkdir(path.dirname(at(key)), { recursive: true });
      await copyFile(await videoFixture(fixture), at(key));
      // Complete well before start: the first scan's to find, not the watcher's.
      await utimes(at(key), past, past);
      originals.set(key, await sha256(at(key)));
    }
    await writeFile(at("films/notes.txt"), "not a video");
    dev = await startDev(["--library", lib, "--data-dir", path.join(work, "data"), "--port", "0"], env);
  });
  afterAll(async () => {
    dev?.child.kill("SIGTERM");
    await dev?.child;
    await rm(work, { recursive: true, force: true });
  });

  it("names the folder it serves, and processes what was there before it started", async () => {
    expect(dev.output()).toContain(`library   ${lib}`);
    // A skip keeps its name on a folder library: only its record says skipped.
    const skippedInPlace = async () => JSON.parse(await readFile(at(".reelpress/manifest/clips/low.mp4.json"), "utf8").catch(() => "{}")).state === "skipped";
    await until("the folder's videos processed", async () => (await exists(at("films/a.mp4"))) && (await exists(at("films/b.mp4"))) && (await skippedInPlace()), 120_000, 500);
    for (const key of ["films/a.mp4", "films/b.mp4"]) expect(isCompressedMedia(await probeMedia(at(key), { timeoutSec: 30 })), key).toBe(true);
    // Originals: backed up byte for byte, or skipped where they are, byte for byte.
    expect(await sha256(at("orig_video_to_delete/films/a.avi"))).toBe(originals.get("films/a.avi"));
    expect(await sha256(at("orig_video_to_delete/films/b.mkv"))).toBe(originals.get("films/b.mkv"));
    expect(await sha256(at("clips/low.mp4"))).toBe(originals.get("clips/low.mp4"));
    expect(await exists(at("clips/low_skip.mp4"))).toBe(false);
    expect(await exists(at("films/a.avi"))).toBe(false);
    expect(await readFile(at("films/notes.txt"), "utf8")).toBe("not a video");
    // The first scan found the three, and status follows them through the pipeline.
    const scan = await until("the first scan in status, done", async () => {
      const s = JSON.parse((await reelpress(["status", "--json", "--endpoint", dev.endpoint], { env })).stdout).scan;
      return s?.encoded === 2 && s;
    }, 30_000, 500);
    expect(scan).toMatchObject({ listed: true, found: 3, queued: 3, probed: 3, planned: 3, encoded: 2, left: 0, eta_sec: 0 });
    expect(scan.finished_at).toBeDefined();
    // Everything reelpress keeps is under .reelpress/ in the folder.
    expect(await exists(at(".reelpress/manifest/films/a.mp4.json"))).toBe(true);
  });

  it("picks up a file copied into the folder while it runs", async () => {
    const src = await videoFixture("mov_h264");
    await mkdir(at("later"), { recursive: true });
    await copyFile(src, at("later/c.mov"));
    await until("the copied file processed", () => exists(at("later/c.mp4")), 120_000, 500);
    expect(await sha256(at("orig_video_to_delete/later/c.mov"))).toBe(await sha256(src));
    const status = JSON.parse((await reelpress(["status", "--json", "--endpoint", dev.endpoint], { env })).stdout);
    expect(status.compressed.count).toBe(3);
    expect(status.skipped.count).toBe(1);
  });
});

describe("reelpress dev: refusals and old data folders", () => {
  it("refuses to listen beyond this machine without credentials, in one line", async () => {
    const { AWS_ACCESS_KEY_ID: _, AWS_SECRET_ACCESS_KEY: __, ...rest } = process.env;
    const r = await reelpress(["dev", "--host", "0.0.0.0", "--port", "0", "--data-dir", path.join(os.tmpdir(), `reelpress-refuse-${process.pid}`)], { env: { ...rest, AWS_ENDPOINT_URL: "", NO_COLOR: "1" }, extendEnv: false });
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY/);
  });

  it("refuses a second store on a folder another one serves, in one line", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-taken-"));
    const env = { ...process.env, AWS_ENDPOINT_URL: "", NO_COLOR: "1" };
    const first = await startDev(["--library", path.join(dir, "lib"), "--data-dir", path.join(dir, "a"), "--port", "0", "--no-runner"], env);
    try {
      const second = await reelpress(["dev", "--library", path.join(dir, "lib"), "--data-dir", path.join(dir, "b"), "--port", "0", "--no-runner"], { env });
      expect(second.exitCode).toBe(1);
      expect(second.stderr.trim().split("\n")).toHaveLength(1);
      expect(second.stderr).toMatch(/Another store \(pid \d+\) already serves .*lib; stop it first/);
    } finally {
      first.child.kill("SIGTERM");
      await first.child;
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("opens a data folder of the first embedded store by moving its objects into the library", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "reelpress-old-store-"));
    try {
      const objects = path.join(dataDir, "s3", "buckets", "reelpress", "objects", "old");
      await mkdir(objects, { recursive: true });
      await writeFile(path.join(objects, "50%25 off.mkv.data"), "old bytes");
      await writeFile(path.join(objects, "50%25 off.mkv.meta.json"), JSON.stringify({ etag: '"abc123"', contentType: "video/x-matroska", metadata: { who: "me" } }));
      const dev = await startDev(["--data-dir", dataDir, "--port", "0", "--no-runner"], { ...process.env, AWS_ENDPOINT_URL: "", NO_COLOR: "1" });
      try {
        expect(dev.output()).toContain("imported  1 object(s) from the old embedded store");
        expect(await readFile(path.join(dataDir, "library", "old", "50% off.mkv"), "utf8")).toBe("old bytes");
        const head = await fetch(`${dev.endpoint}/reelpress/old/50%25%20off.mkv`, { method: "HEAD" });
        expect(head.headers.get("etag")).toBe('"abc123"');
        expect(head.headers.get("x-amz-meta-who")).toBe("me");
      } finally {
        dev.child.kill("SIGTERM");
        await dev.child;
      }
      expect(await exists(path.join(dataDir, "s3"))).toBe(false);
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
