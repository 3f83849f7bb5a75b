// bench group: scale
// Start-up bench (part of `npm run bench -- scale`): the real `reelpress dev` on a library of N videos
// already in the folder. Measures how long it takes to say "is up", first and after a restart in the
// middle of the first scan, and counts every ingest message across the restarts: each version must be
// queued once. The videos are tiny placeholders with .mp4 names; the probe runs as in real use (it
// records each as failed), so a message is either handled by it (one `probe.*` log line) or still queued.
// BENCH_STARTUP_SIZES=0,10000,100000 picks the sizes; BENCH_STARTUP_CAP_SEC (default 300) caps the
// wait for the first scan's listing after the restart.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startEmbedded } from "../cli/embedded.ts";
import { loadConfig } from "../shared/config.ts";
import { makeClients } from "../shared/io/clients.ts";
import { mapLimit } from "../shared/pool.ts";
import { queueDepth } from "../shared/io/queues.ts";
import { ScanProgress } from "../shared/schemas.ts";
import { startDev } from "../test/kit/cli.ts";
import { takeIngestKeys } from "../test/kit/ingest-queue.ts";

/** 0: what start-up costs with nothing in the library, the baseline of the others. */
const SIZES = (process.env.BENCH_STARTUP_SIZES ?? "0,10000,100000").split(",").map(Number);
const CAP_MS = Number(process.env.BENCH_STARTUP_CAP_SEC ?? 300) * 1000;
const FOLDERS = 100;

async function makeLibrary(lib: string, n: number): Promise<void> {
  const keys = Array.from({ length: n }, (_, i) => `f${String(i % FOLDERS).padStart(3, "0")}/v${String(i).padStart(7, "0")}.mp4`);
  for (let f = 0; f < FOLDERS; f++) await mkdir(path.join(lib, `f${String(f).padStart(3, "0")}`), { recursive: true });
  await mapLimit(keys, 64, (k) => writeFile(path.join(lib, k), `placeholder ${k}`));
}

async function scanOf(lib: string): Promise<ScanProgress | undefined> {
  try {
    return ScanProgress.parse(JSON.parse(await readFile(path.join(lib, ".reelpress", "scan.json"), "utf8")));
  } catch {
    return undefined;
  }
}

async function waitFor<T>(what: () => Promise<T | undefined>, capMs: number): Promise<T | undefined> {
  const deadline = Date.now() + capMs;
  for (;;) {
    const v = await what();
    if (v || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Keys the probe handled, from dev's JSON log lines. */
function probedKeys(log: string): string[] {
  const keys: string[] = [];
  for (const line of log.split("\n")) {
    if (!line.startsWith("{")) continue;
    try {
      const e = JSON.parse(line) as { event?: string; key?: string };
      if (e.event?.startsWith("probe.") && e.event !== "probe.error" && e.key) keys.push(e.key);
    } catch {
      // not a log line
    }
  }
  return keys;
}

type Run = { readySec: number; log: string; scan?: ScanProgress; seconds: number };

/** Starts dev, waits until `until` says so (or the cap), stops it with SIGTERM. */
async function run(args: string[], env: NodeJS.ProcessEnv, lib: string, until: (s: ScanProgress) => boolean, capMs: number): Promise<Run> {
  const started = performance.now();
  const dev = await startDev(args, env);
  const readySec = (performance.now() - started) / 1000;
  const scan = await waitFor(async () => {
    const s = await scanOf(lib);
    return s && Date.parse(s.startedAt) >= Date.now() - (performance.now() - started) - 1000 && until(s) ? s : undefined;
  }, capMs);
  const seconds = (performance.now() - started) / 1000;
  dev.child.kill("SIGTERM");
  await dev.child;
  return { readySec, log: dev.output(), scan: scan ?? (await scanOf(lib)), seconds };
}

console.log("| videos | `dev` ready | ready again, restarted mid-scan | first start's scan when stopped | second start's scan | messages | versions queued twice | not queued |");
console.log("|---|---:|---:|---|---|---:|---:|---:|");
for (const n of SIZES) {
  const dir = await mkdtemp(path.join(os.tmpdir(), "rp-bench-startup-"));
  try {
    const lib = path.join(dir, "library");
    const data = path.join(dir, "data");
    await makeLibrary(lib, n);
    const env = {
      ...process.env, AWS_ENDPOINT_URL: "", NO_COLOR: "1", REELPRESS_DEV_FILE: path.join(dir, "dev.json"),
      // Every placeholder is there before start: the listing's, not the watcher's.
      REELPRESS_SETTLE_SEC: "0", REELPRESS_SCAN_INTERVAL: "3600",
    };
    const args = ["--library", lib, "--data-dir", data, "--port", "0", "--no-runner"];
    // Stopped in the middle of the first scan: the queue is far from drained, as in the issue's restart.
    const first = await run(args, env, lib, (s) => s.queued >= Math.min(n / 10, 500) || s.listed, CAP_MS);
    const second = await run(args, env, lib, (s) => s.listed, CAP_MS);
    // What is still queued, read back through the same queues (dev is stopped).
    const embedded = await startEmbedded({ dataDir: data, library: lib, port: 0 });
    const clients = makeClients(loadConfig({ AWS_ENDPOINT_URL: embedded.endpoint, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "us-east-1" }));
    // A message the probe had received when dev stopped stays invisible for its visibility timeout: counted, not read.
    const inFlight = (await queueDepth(clients.sqs, await clients.queueUrl(clients.config.queues.ingest))).in_flight;
    const left = await takeIngestKeys(clients);
    await embedded.stop();
    const counts = new Map<string, number>();
    const where = new Map<string, string[]>();
    for (const [source, keys] of [["first start's probe", probedKeys(first.log)], ["second start's probe", probedKeys(second.log)], ["still queued", left]] as const) {
      for (const k of keys) {
        counts.set(k, (counts.get(k) ?? 0) + 1);
        where.set(k, [...(where.get(k) ?? []), source]);
      }
    }
    const twice = [...counts.values()].filter((c) => c > 1).length;
    for (const [k, c] of [...counts].filter(([, c]) => c > 1).slice(0, 5)) console.error(`${k}: ${c} times (${where.get(k)!.join(", ")})`);
    const brief = (r: Run) => `${r.scan?.listed ? "listed" : "listing"}, ${r.scan?.queued ?? 0} queued, ${r.scan?.found ?? 0} found, after ${r.seconds.toFixed(0)} s`;
    const total = [...counts.values()].reduce((a, b) => a + b, 0) + inFlight;
    const missing = second.scan?.listed ? String(n - counts.size - inFlight) : "–";
    console.log(`| ${n.toLocaleString("en-US")} | ${first.readySec.toFixed(1)} s | ${second.readySec.toFixed(1)} s | ${brief(first)} | ${brief(second)} | ${total}${inFlight ? ` (${inFlight} in flight)` : ""} | ${twice} | ${missing} |`);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
