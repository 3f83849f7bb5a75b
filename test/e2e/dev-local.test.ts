// Zero-config local use: while `reelpress dev` runs, other commands with no endpoint find it from any
// directory and say so; an explicit endpoint wins; the dashboard's status is `status --json`.
import { access, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClients } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";
import { readRecord } from "../../shared/io/manifest.ts";
import { REELPRESS, freePort, reelpress, startDev } from "../kit/cli.ts";
import { until } from "../kit/wait.ts";
import { expectOneLineError } from "./cli-helpers.ts";

const REPO = path.resolve(import.meta.dirname, "../..");
/** The system's npx, run with the system's Node (often older than 22: the case that warned). */
const NPX = (await execa("bash", ["-c", "command -v npx"], { reject: false })).stdout.trim();

/** The environment of a second terminal: no endpoint, no credentials, only where dev left its file. */
function plainEnv(devFile: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", REELPRESS_DEV_FILE: devFile };
  for (const k of ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL_SQS", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "REELPRESS_BUCKET"]) delete env[k];
  return env;
}

describe("reelpress dev on this machine, found by every other command", () => {
  let dir: string;
  let devFile: string;
  let dev: Awaited<ReturnType<typeof startDev>>;
  let dashboard: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-local-"));
    devFile = path.join(dir, "dev.json");
    dev = await startDev(["--data-dir", path.join(dir, "data"), "--port", String(await freePort()), "--no-runner"], { ...plainEnv(devFile), REELPRESS_FINGERPRINTS: "4" });
    dashboard = /\n  dashboard (http:\/\/\S+)\n/.exec(dev.output())![1];
  });
  afterAll(async () => {
    if (dev?.child.exitCode === null) {
      dev.child.kill("SIGINT");
      await dev.child;
    }
    await rm(dir, { recursive: true, force: true });
  });

  it("status from another directory, with no endpoint set, talks to it and says so", async () => {
    const clients = makeClients(loadConfig({ AWS_ENDPOINT_URL: dev.endpoint }));
    await clients.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: "home/shopping.mkv", Body: "This is a shopping list, not a video.\nmilk\neggs\n" }));
    // Waited for here, not by starting `status` again and again (each start costs a second of CPU).
    await until("the text file's record to say failed", async () => (await readRecord(clients, "home/shopping.mkv"))?.record.state === "failed", 60_000, 200);
    const failed = await until("status to count the failure", async () => {
      const r = await reelpress(["status", "--json"], { env: plainEnv(devFile), cwd: os.tmpdir() });
      expect(r.exitCode, r.stderr).toBe(0);
      return JSON.parse(r.stdout).failed.count === 1 && r;
    }, 60_000, 500);
    expect(failed.stderr).toContain(`Using reelpress dev on this machine: ${dev.endpoint} (pid ${dev.child.pid})`);
    const table = await reelpress(["status"], { env: plainEnv(devFile), cwd: os.tmpdir() });
    expect(table.stdout).toMatch(/\n  home\/shopping\.mkv  not a video file \(damaged or not Matroska\)$/);
  });

  it("serves the dashboard, whose status object is exactly `status --json`", async () => {
    const page = await fetch(dashboard);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(await page.text()).toContain("<title>reelpress</title>");
    const cli = JSON.parse((await reelpress(["status", "--json"], { env: plainEnv(devFile) })).stdout);
    expect(await (await fetch(new URL("api/status", dashboard))).json()).toEqual(cli);
    const overview = (await (await fetch(new URL("api/overview", dashboard))).json()) as { failures: unknown[] };
    expect(overview.failures).toEqual([expect.objectContaining({ key: "home/shopping.mkv", reason: "not a video file (damaged or not Matroska)", error: expect.stringMatching(/EBML|Invalid data/) })]);
    expect((await fetch(new URL("api/montage?key=home/shopping.mkv", dashboard))).status).toBe(400);
  });

  it("an explicit endpoint always wins", async () => {
    const r = await reelpress(["status"], { env: { ...plainEnv(devFile), AWS_ENDPOINT_URL: "http://127.0.0.1:9" } });
    expectOneLineError(r, 1, /^Cannot reach http:\/\/127\.0\.0\.1:9 /);
    const flag = await reelpress(["status", "--endpoint", "http://127.0.0.1:9"], { env: plainEnv(devFile) });
    expectOneLineError(flag, 1, /^Cannot reach http:\/\/127\.0\.0\.1:9 /);
  });

  it("removes its file when it stops; a file left by a killed dev is ignored", async () => {
    await access(devFile);
    dev.child.kill("SIGINT");
    expect((await dev.child).exitCode).toBe(0);
    await expect(access(devFile)).rejects.toThrow();
    // A dead pid: commands must not talk to a store that is gone.
    await writeFile(devFile, JSON.stringify({ pid: 2 ** 22 + 1, s3: dev.endpoint, sqs: dev.endpoint, bucket: "reelpress", region: "us-east-1", startedAt: new Date().toISOString() }));
    const r = await reelpress(["status", "--endpoint", "http://127.0.0.1:9"], { env: plainEnv(devFile) });
    expect(r.stderr).not.toContain("Using reelpress dev");
    const help = await reelpress(["upload", "--help"], { env: plainEnv(devFile) });
    expect(help.stderr).toBe("");
  });
});

describe("a fresh machine", () => {
  it("npm start without ffmpeg says in one line what to install", async () => {
    const bin = await mkdtemp(path.join(os.tmpdir(), "reelpress-nopath-"));
    try {
      // Just what bin/reelpress needs to reach Node: no ffmpeg, no ffprobe.
      for (const tool of ["bash", "dirname", "readlink", "node"]) {
        const found = (await execa("bash", ["-c", `command -v ${tool}`], { reject: false })).stdout.trim();
        if (found) await symlink(found, path.join(bin, tool));
      }
      const r = await execa(REELPRESS, ["dev", "--port", "0"], { env: { PATH: bin, HOME: bin }, extendEnv: false, reject: false, timeout: 60_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim()).toBe("ffmpeg and ffprobe not found on the PATH: install ffmpeg (Debian/Ubuntu: apt-get install -y ffmpeg; macOS: brew install ffmpeg), then start again.");
    } finally {
      await rm(bin, { recursive: true, force: true });
    }
  });

  it.skipIf(!NPX)("npx reelpress under the system's Node prints no engine warnings", async () => {
    // A fresh npm cache and another directory: npm checks `engines` when it sets the package up.
    const cache = await mkdtemp(path.join(os.tmpdir(), "reelpress-npm-cache-"));
    try {
      const r = await execa(NPX, ["--yes", "--offline", "--package", REPO, "reelpress", "--help"], {
        cwd: os.tmpdir(), env: { ...process.env, npm_config_cache: cache }, reject: false, timeout: 60_000,
      });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/EBADENGINE|Unsupported engine/);
      expect(r.stdout).toMatch(/^reelpress: shrink and de-duplicate/);
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});
