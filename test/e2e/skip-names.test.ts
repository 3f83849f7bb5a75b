// Skips on a NAS folder library (`reelpress dev --library`): a low-bitrate MP4 keeps its name and its
// record says skipped; a restart and a rescan leave it alone; status counts it. Restarted with
// REELPRESS_SKIP_RENAME=true, new skips are renamed `_skip` (compress v3). The duplicate report shows
// a picture for every skipped copy, in both modes.
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config.ts";
import { makeClients, type Clients } from "../../shared/io/clients.ts";
import { readRecord } from "../../shared/io/manifest.ts";
import { headObject } from "../../shared/io/objects.ts";
import type { ManifestRecord } from "../../shared/schemas.ts";
import { makeVideo } from "../kit/fixtures.ts";
import { reelpress, startDev } from "../kit/cli.ts";
import { until } from "../kit/wait.ts";

/** MP4 H.264 at 150 kbit/s: below the decision table's 0.5 Mbit/s, so skipped. */
const LOW = { ext: "mp4", vcodec: "libx264", width: 160, height: 120, durationSec: 2, bitrate: "150k", cbr: true };
const KEPT = ["Holiday 2019 - Beach.mp4", "copies/Holiday 2019 - Beach.mp4"];
const RENAMED = ["later/Sunset.mp4", "later/Sunset copy.mp4"];
const RENAMED_TO = ["later/Sunset_skip.mp4", "later/Sunset copy_skip.mp4"];

const sha256 = async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex");

describe("reelpress dev --library: skipped files keep their names, or get _skip when set", () => {
  let work: string;
  let lib: string;
  let dev: Awaited<ReturnType<typeof startDev>> | undefined;
  let kept: ManifestRecord[];
  const env = { ...process.env, AWS_ENDPOINT_URL: "", NO_COLOR: "1", REELPRESS_FINGERPRINTS: "4", REELPRESS_SETTLE_SEC: "0", REELPRESS_DEDUP_INTERVAL: "0" };
  const at = (key: string) => path.join(lib, ...key.split("/"));
  const start = async (extra: Record<string, string> = {}) => {
    dev = await startDev(["--library", lib, "--data-dir", path.join(work, "data"), "--port", "0", "--no-runner"], { ...env, ...extra });
    return makeClients(loadConfig({ AWS_ENDPOINT_URL: dev.endpoint }));
  };
  const stop = async () => {
    dev?.child.kill("SIGTERM");
    await dev?.child;
    dev = undefined;
  };
  const skippedRecords = (clients: Clients, keys: string[]) =>
    until(`${keys.join(", ")} skipped`, async () => {
      const records = await Promise.all(keys.map(async (k) => (await readRecord(clients, k))?.record));
      return records.every((r) => r?.state === "skipped") && (records as ManifestRecord[]);
    }, 60_000, 200);
  /** Every file in the library folder but reelpress's own under .reelpress/. */
  const libraryFiles = async () =>
    (await readdir(lib, { recursive: true, withFileTypes: true }))
      .filter((e) => e.isFile())
      .map((e) => path.relative(lib, path.join(e.parentPath, e.name)).split(path.sep).join("/"))
      .filter((k) => !k.startsWith(".reelpress/"))
      .sort();

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "reelpress-e2e-skip-"));
    lib = path.join(work, "nas videos");
    const low = await makeVideo(LOW);
    for (const key of KEPT) {
      await mkdir(path.dirname(at(key)), { recursive: true });
      await copyFile(low, at(key));
    }
  });
  afterAll(async () => {
    await stop();
    await rm(work, { recursive: true, force: true });
  });

  it("keeps a skipped file's name on a folder library; its record of that version says skipped", async () => {
    const before = await sha256(at(KEPT[0]));
    const clients = await start();
    expect(dev!.output()).toContain("skips     keep their names");
    kept = await skippedRecords(clients, KEPT);
    expect(await libraryFiles()).toEqual([...KEPT].sort());
    expect(await sha256(at(KEPT[0]))).toBe(before);
    for (const r of kept) {
      const head = (await headObject(clients, r.key))!;
      expect(r).toMatchObject({ size: head.size, etag: head.etag, reason: expect.stringMatching(/below 0\.50 Mbit\/s: skip$/), thumbnailKey: expect.any(String) });
    }
    await stop();
  });

  it("after a restart with REELPRESS_SKIP_RENAME=true: renames new skips _skip and leaves the kept ones alone", async () => {
    // A second pair, other pictures, copied in while reelpress was down.
    const other = await makeVideo({ ...LOW, filter: "negate" });
    await mkdir(at("later"), { recursive: true });
    for (const key of RENAMED) await copyFile(other, at(key));
    const clients = await start({ REELPRESS_SKIP_RENAME: "true" });
    expect(dev!.output()).toContain("skips     renamed _skip");
    const renamed = await skippedRecords(clients, RENAMED_TO);
    expect(await libraryFiles()).toEqual([...KEPT, ...RENAMED_TO].sort());
    expect(renamed.every((r) => r.thumbnailKey?.endsWith("_skip.mp4.thumb.jpg"))).toBe(true);
    // Neither probed nor queued again: no event, no log line and no record change for the kept ones.
    for (const r of kept) expect((await readRecord(clients, r.key))?.record).toEqual(r);
    expect(dev!.output()).not.toContain("Holiday 2019");
  });

  it("counts both kinds as skipped, queues neither on a rescan, and shows a picture of each in the report", async () => {
    const cli = { env: { ...env, AWS_ENDPOINT_URL: dev!.endpoint } };
    const status = JSON.parse((await reelpress(["status", "--json"], cli)).stdout);
    expect(status).toMatchObject({ skipped: { count: 4 }, remaining: { count: 0 }, failed: { count: 0 } });
    const scan = await reelpress(["scan"], cli);
    expect(scan.exitCode, scan.stderr).toBe(0);
    expect(scan.stdout).toMatch(/Queued 0 video\(s\)/);
    // The `_skip` names are not library input at all; the kept names are, and are left alone.
    expect(scan.stdout).toMatch(/2 video\(s\) left alone: already planned, encoding, compressed or skipped/);

    const html = path.join(work, "report.html");
    const report = await reelpress(["report", "--html", html], cli);
    expect(report.exitCode, report.stderr).toBe(0);
    const page = await readFile(html, "utf8");
    expect(page).not.toContain("no picture");
    for (const key of [...KEPT, ...RENAMED_TO]) {
      const img = new RegExp(`<img class="montage" src="data:image/jpeg;base64,([^"]+)" alt="still of ${key.replace(/[.()]/g, "\\$&")}">`).exec(page);
      expect(img, key).not.toBeNull();
      // A real JPEG, not an empty stand-in.
      const jpeg = Buffer.from(img![1], "base64");
      expect(jpeg.subarray(0, 2).toString("hex"), key).toBe("ffd8");
      expect(jpeg.length, key).toBeGreaterThan(1000);
    }
  });
});
