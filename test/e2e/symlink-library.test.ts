// A library with symbolic links, served by `reelpress dev`: a link to a video is another name for that one
// file, so `report` never pairs the two as duplicates and `apply --delete` never deletes the only copy; and
// links that loop never keep `dev` from starting.
import { copyFile, mkdir, mkdtemp, rm, stat, symlink } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClients, type Clients } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";
import { readRecord } from "../../shared/io/manifest.ts";
import { isVideoKey } from "../../shared/rules/naming.ts";
import { DedupReport } from "../../shared/schemas.ts";
import { videoFixture } from "../kit/fixtures.ts";
import { reelpress, startDev } from "../kit/cli.ts";
import { until } from "../kit/wait.ts";

const env = { ...process.env, AWS_ENDPOINT_URL: "", NO_COLOR: "1", REELPRESS_FINGERPRINTS: "6", REELPRESS_SETTLE_SEC: "1" };

describe("reelpress dev over a library with symbolic links", () => {
  let work: string;
  let lib: string;
  let dev: Awaited<ReturnType<typeof startDev>>;
  let clients: Clients;
  const at = (key: string) => path.join(lib, ...key.split("/"));

  beforeAll(async () => {
    work = await mkdtemp(path.join(os.tmpdir(), "reelpress-e2e-links-"));
    lib = path.join(work, "lib");
    await mkdir(at("dirB"), { recursive: true });
    await copyFile(await videoFixture("mkv_h264"), at("dirB/b-real.mkv"));
    await symlink("b-real.mkv", at("dirB/a-link.mkv"));
    // Loops that a walk following links would never finish, and a link into reelpress's own folder.
    await symlink(".", at("loop1"));
    await symlink(".", at("dirB/loop2"));
    await mkdir(at(".reelpress"), { recursive: true });
    await symlink(".reelpress", at("peek"));
    // startDev gives up after 60 s: the loops must not stall the start.
    dev = await startDev(["--library", lib, "--data-dir", path.join(work, "data"), "--port", "0", "--no-runner"], env);
    clients = makeClients(loadConfig({ AWS_ENDPOINT_URL: dev.endpoint }));
  });
  afterAll(async () => {
    dev?.child.kill("SIGTERM");
    await dev?.child;
    await rm(work, { recursive: true, force: true });
  });

  it("keeps the only copy when report and apply --delete run over a link to it", async () => {
    const listed = async () => ((await clients.s3.send(new ListObjectsV2Command({ Bucket: "reelpress" }))).Contents ?? []).map((o) => o.Key!);
    // Every video the store lists is probed and fingerprinted before the report is built.
    await until(
      "every listed video fingerprinted",
      async () => {
        const videos = (await listed()).filter((k) => isVideoKey(k) && !k.startsWith(".reelpress/"));
        const records = await Promise.all(videos.map((k) => readRecord(clients, k)));
        return videos.length > 0 && records.every((r) => r?.record.fingerprints?.length) && videos;
      },
      90_000,
      500,
    );
    const built = await reelpress(["report", "--quality", "2", "--json"], { env: { ...env, AWS_ENDPOINT_URL: dev.endpoint } });
    expect(built.exitCode, built.stderr).toBe(0);
    const applied = await reelpress(["apply", "latest", "--force", "--delete"], { env: { ...env, AWS_ENDPOINT_URL: dev.endpoint } });
    expect(applied.exitCode, applied.stderr).toBe(0);
    // The incident: the link was kept as the winner and the file it names deleted as its duplicate.
    expect(await stat(at("dirB/b-real.mkv")).then(() => true, () => false), applied.stdout).toBe(true);
    expect(DedupReport.parse(JSON.parse(built.stdout)).groups).toEqual([]);
    const keys = await listed();
    expect(keys.filter((k) => k.startsWith("dirB/"))).toEqual(["dirB/b-real.mkv"]);
    expect(keys.filter((k) => k.startsWith("peek/") || k.startsWith("loop"))).toEqual([]);
    // One line per skipped link in the log.
    expect(dev.output()).toContain("store: skipped the symbolic link dirB/a-link.mkv: it is another name for dirB/b-real.mkv");
  });
});
