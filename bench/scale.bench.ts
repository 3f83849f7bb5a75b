// Scale bench: `status`, `/api/status` and `report` on libraries of 10⁴ and 10⁵ synthetic manifest
// records (SCALE_SIZES=10000,100000 to choose), created through the real folder store as a library
// made before the summary existed, so the first `status` builds it; then read by the real commands in
// their own processes. Measured: wall time and peak RSS of each command, S3 requests of status and
// /api/status (a counting client hook, in this process), records `report` reads again after one new
// record, and the pipeline writer's records per second with the summary kept.
import { readFile } from "node:fs/promises";
import { execa } from "execa";
import { dashboardRoutes } from "../shared/dashboard/routes.ts";
import { makeClients, type Clients } from "../shared/io/clients.ts";
import { gatherStatus } from "../shared/io/library.ts";
import { patchRecord } from "../shared/io/manifest.ts";
import { mapLimit } from "../shared/pool.ts";
import { createJson } from "../shared/io/objects.ts";
import { manifestKeyFor } from "../shared/rules/naming.ts";
import { ManifestRecord, type ManifestState } from "../shared/schemas.ts";
import { REELPRESS } from "../test/kit/cli.ts";
import { randomHash } from "../test/kit/dedup-synthetic.ts";
import { seededRandom } from "../test/kit/random.ts";
import { startTestStack, type TestStack } from "../test/kit/stack.ts";

const SIZES = (process.env.SCALE_SIZES ?? "10000,100000").split(",").map(Number);
const WRITERS = 64;

/** Runs the CLI and samples its resident memory from /proc until it exits. */
async function runMeasured(args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; peakRssMiB: number; stdout: string; stderr: string }> {
  const started = performance.now();
  const child = execa(REELPRESS, args, { env, reject: false });
  let peak = 0;
  const sample = setInterval(async () => {
    const status = await readFile(`/proc/${child.pid}/status`, "utf8").catch(() => "");
    peak = Math.max(peak, Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024);
  }, 50);
  const r = await child;
  clearInterval(sample);
  if (r.exitCode !== 0) throw new Error(`reelpress ${args.join(" ")} failed: ${r.stderr}`);
  return { seconds: (performance.now() - started) / 1000, peakRssMiB: peak, stdout: String(r.stdout), stderr: String(r.stderr) };
}

function countingClients(stack: TestStack): Clients & { requests: () => number } {
  const clients = makeClients(stack.config);
  let n = 0;
  clients.s3.middlewareStack.add((next) => (args) => (n++, next(args)), { step: "initialize" });
  return Object.assign(clients, { requests: () => n });
}

const STATES: Array<[ManifestState, number]> = [["probed", 0.55], ["compressed", 0.3], ["skipped", 0.08], ["failed", 0.05], ["encoding", 0.02]];

/** Record `i`: a key in one of 100 folders, a size of its own (no hashing), frames of its own content. */
function recordFor(i: number): ManifestRecord {
  const r = seededRandom(i + 1);
  let x = r();
  const state = STATES.find(([, share]) => (x -= share) < 0)?.[0] ?? "probed";
  const key = `lib/f${String(i % 100).padStart(2, "0")}/v${i}${state === "skipped" ? "_skip" : ""}.mp4`;
  const size = 1_000_000 + i;
  const durationSec = 30 + (i % 600);
  const source = key.replace(/\.mp4$/, ".avi");
  return ManifestRecord.parse({
    key, size, etag: `"${i.toString(16).padStart(32, "0")}"`, state, lastModified: "2024-01-01T00:00:00.000Z", updatedAt: new Date().toISOString(),
    media: { formatName: "mov,mp4,m4a,3gp,3g2,mj2", durationSec, video: { codec: "h264", width: 1920, height: 1080 }, audio: [], subtitles: [], tags: {} },
    // Frames of its own content: no two records match, as in a library with few duplicates.
    fingerprints: Array.from({ length: 16 }, (_, k) => ({ t: (k * durationSec) / 16, hash: randomHash(r), flip: randomHash(r), dark: false })),
    ...(state === "compressed" ? { savedBytes: 500_000, source: { key: source, size: size + 500_000, etag: "x", backupKey: `orig_video_to_delete/${source}` } } : {}),
    ...(state === "failed" ? { error: "moov atom not found" } : {}),
  });
}

/** Writes records `from`…`to - 1` as a library made before the summary would hold them: conditional creates. */
async function writeLibrary(stack: TestStack, from: number, to: number): Promise<number> {
  const t0 = performance.now();
  await mapLimit(Array.from({ length: to - from }, (_, i) => from + i), WRITERS, async (i) => {
    const record = recordFor(i);
    if (!(await createJson(stack, manifestKeyFor(record.key), record))) throw new Error(`${record.key} is there already`);
  });
  return (to - from) / ((performance.now() - t0) / 1000);
}

/** Records written by the pipeline's writer (read, conditional write, summary delta), per second. */
async function writerRate(stack: TestStack, from: number, count: number): Promise<number> {
  const t0 = performance.now();
  await mapLimit(Array.from({ length: count }, (_, i) => from + i), WRITERS, async (i) => {
    const { key, ...rest } = recordFor(i);
    await patchRecord(stack, key, rest);
  });
  return count / ((performance.now() - t0) / 1000);
}

/** Prints the table a row at a time: the larger sizes take many minutes each. */
let header = false;
function printRow(row: Record<string, string>): void {
  const columns = Object.keys(row);
  if (!header) console.log(`| ${columns.join(" | ")} |\n|${columns.map(() => "---").join("|")}|`);
  header = true;
  console.log(`| ${columns.map((c) => row[c]).join(" | ")} |`);
}

for (const n of SIZES) {
  const stack = await startTestStack();
  try {
    const created = await writeLibrary(stack, 0, n);
    // An old library: records but no summary yet, so the first status builds it (the index too).
    const first = await runMeasured(["status", "--json"], stack.env);
    const status = await runMeasured(["status", "--json"], stack.env);
    // What any command costs before it does anything (Node, the transpiler, the SDK): status's floor.
    const startup = await runMeasured(["status", "--help"], stack.env);
    const counted = countingClients(stack);
    await gatherStatus(counted);
    const routes = dashboardRoutes(countingClients(stack));
    const api = countingClients(stack);
    const apiRoutes = dashboardRoutes(api);
    await routes("GET", "/api/status", {});
    const t0 = performance.now();
    await apiRoutes("GET", "/api/status", {});
    const apiSeconds = (performance.now() - t0) / 1000;
    const report = await runMeasured(["report", "--json"], stack.env);
    const { key, ...rest } = recordFor(n);
    await patchRecord(stack, key, rest);
    const again = await runMeasured(["report", "--json"], stack.env);
    const note = String(JSON.parse(again.stdout).summary.stages?.[0]?.note ?? "");
    // The pipeline's writer on top of this library: what keeping the summary costs each record write.
    const rate = await writerRate(stack, n + 1, Math.min(2000, n / 5));
    printRow({
      records: String(n),
      "records written/s: create, writer": `${created.toFixed(0)}, ${rate.toFixed(0)}`,
      "first status (builds summary)": `${first.seconds.toFixed(1)} s`,
      status: `${status.seconds.toFixed(2)} s, ${status.peakRssMiB.toFixed(0)} MiB`,
      "start-up alone": `${startup.seconds.toFixed(2)} s`,
      "status requests": String(counted.requests()),
      "/api/status": `${apiSeconds.toFixed(2)} s, ${api.requests()} requests`,
      report: `${report.seconds.toFixed(1)} s, ${report.peakRssMiB.toFixed(0)} MiB`,
      "report after 1 new record": `${again.seconds.toFixed(1)} s, ${/(\d+) read again/.exec(note)?.[1] ?? "?"} record(s) read`,
    });
  } finally {
    await stack.stop();
  }
}
