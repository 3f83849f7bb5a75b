// `reelpress report` against a running `reelpress dev`: videos uploaded with the AWS SDK are probed and
// fingerprinted by the real pipeline, and the report groups the copies.
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClients, type Clients } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";
import { listRecords } from "../../shared/io/manifest.ts";
import { DedupReport } from "../../shared/schemas.ts";
import { makeVideo, videoFixture } from "../kit/fixtures.ts";
import { reelpress, startDev, freePort } from "../kit/cli.ts";

describe("reelpress report against reelpress dev", () => {
  let dataDir: string;
  let dev: Awaited<ReturnType<typeof startDev>>;
  let clients: Clients;
  const env = { ...process.env, AWS_ENDPOINT_URL: "", NO_COLOR: "1", REELPRESS_FINGERPRINTS: "8" };

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "reelpress-e2e-report-"));
    dev = await startDev(["--data-dir", dataDir, "--port", String(await freePort()), "--no-runner"], env);
    clients = makeClients(loadConfig({ AWS_ENDPOINT_URL: dev.endpoint }));
    const original = await videoFixture("mkv_h264");
    const smaller = await makeVideo({ ext: "mkv", vcodec: "libx264", filter: "scale=192:144" });
    for (const [key, file] of [["home/clip.mkv", original], ["backup/clip copy.mkv", original], ["home/clip-small.mkv", smaller]]) {
      await clients.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: createReadStream(file), ContentLength: (await stat(file)).size }));
    }
    const deadline = Date.now() + 90_000;
    for (;;) {
      const ready: string[] = [];
      for await (const r of listRecords(clients)) if (r.fingerprints?.length) ready.push(r.key);
      if (ready.length === 3) break;
      if (Date.now() > deadline) throw new Error(`ingest did not fingerprint all three: ${ready.join(", ")}\n${dev.output()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  });
  afterAll(async () => {
    dev?.child.kill("SIGINT");
    await dev?.child;
    await rm(dataDir, { recursive: true, force: true });
  });

  it("prints a valid report with the exact copy and the smaller re-encode", async () => {
    const r = await reelpress(["report", "--json"], { env: { ...env, AWS_ENDPOINT_URL: dev.endpoint } });
    expect(r.exitCode, r.stderr).toBe(0);
    const report = DedupReport.parse(JSON.parse(r.stdout));
    const shape = report.groups.map((g) => `${g.type}: ${[g.winner.key, ...g.losers.map((l) => l.key)].join(", ")}`).sort();
    expect(shape).toHaveLength(2);
    expect(shape[0]).toMatch(/^exact: (home\/clip\.mkv, backup\/clip copy\.mkv|backup\/clip copy\.mkv, home\/clip\.mkv)$/);
    expect(shape[1]).toMatch(/^visual: (home\/clip\.mkv|backup\/clip copy\.mkv), home\/clip-small\.mkv$/);
    const latest = await reelpress(["report", "--latest", "--json"], { env: { ...env, AWS_ENDPOINT_URL: dev.endpoint } });
    expect(DedupReport.parse(JSON.parse(latest.stdout))).toEqual(report);
  });
});
