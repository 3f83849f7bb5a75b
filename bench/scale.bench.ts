// Scale bench: `status`, `/api/status` and `report` on libraries of 10⁴ and 10⁵ synthetic manifest
// records (SCALE_SIZES=10000,100000 to choose), written straight into the library folder's layout
// (bench/scale-library.ts) as a library made before the summary existed, so the first `status` builds it
// (and the record index, reading every record); with SCALE_INDEX=1 the index is written with them, so a
// library of 10⁶ takes minutes to make and the first `status` builds only the summary, from the index.
// Then read by the real commands, through the real store, in their own processes. Measured: wall time
// and peak RSS of each command, S3 requests of status and /api/status (a counting client hook, in this
// process), records `report` reads again after one new record, and the pipeline writer's records per second.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { dashboardRoutes } from "../shared/dashboard/routes.ts";
import { makeClients, type Clients } from "../shared/io/clients.ts";
import { gatherStatus } from "../shared/io/library.ts";
import { patchRecord } from "../shared/io/manifest.ts";
import { mapLimit } from "../shared/pool.ts";
import { REELPRESS } from "../test/kit/cli.ts";
import { startTestStack, type TestStack } from "../test/kit/stack.ts";
import { recordFor, writeRecordFiles } from "./scale-library.ts";

const SIZES = (process.env.SCALE_SIZES ?? "10000,100000").split(",").map(Number);
const WITH_INDEX = process.env.SCALE_INDEX === "1";
/**
 * SCALE_DATA_DIR: each size's data folder is made there (`n1000000/`) and kept, and one already made
 * (its `made.json` there) is used as it is, once: a library of 10⁶ takes a quarter of an hour to write, so
 * SCALE_WRITE_ONLY=1 makes it ahead of the run that measures it.
 */
const KEEP = process.env.SCALE_DATA_DIR && path.resolve(process.env.SCALE_DATA_DIR);
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

/** Writes records `from`…`to - 1` straight into the library folder; seconds taken. */
function writeLibrary(stack: TestStack, from: number, to: number): number {
  const t0 = performance.now();
  writeRecordFiles(path.join(stack.dataDir, "library"), from, to, { index: WITH_INDEX });
  return (performance.now() - t0) / 1000;
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
  const keep = KEEP && path.join(KEEP, `n${n}`);
  const reused = keep !== undefined && existsSync(path.join(keep, "made.json"));
  if (keep) mkdirSync(keep, { recursive: true });
  const stack = await startTestStack({}, keep);
  try {
    const made = reused ? 0 : writeLibrary(stack, 0, n);
    const madeFile = keep && path.join(keep, "made.json");
    const before = madeFile && reused ? (JSON.parse(readFileSync(madeFile, "utf8")) as { index: boolean; seconds: number; measured?: boolean }) : undefined;
    // Measuring changes a library (its summary, one more record, the writer's): each is measured once, as made.
    if (before && (before.measured || before.index !== WITH_INDEX)) {
      throw new Error(`${keep} was ${before.measured ? "measured already" : `made with SCALE_INDEX=${before.index ? 1 : 0}`}: remove it to make it again`);
    }
    if (madeFile) writeFileSync(madeFile, JSON.stringify({ records: n, index: WITH_INDEX, seconds: before?.seconds ?? made, measured: process.env.SCALE_WRITE_ONLY !== "1" }));
    // SCALE_WRITE_ONLY=1 with SCALE_DATA_DIR: make the libraries now, measure them in a later run.
    if (keep && process.env.SCALE_WRITE_ONLY === "1") {
      console.log(`| ${n} | made in ${made.toFixed(0)} s at ${keep} |`);
      continue;
    }
    // An old library: records but no summary yet, so the first status builds it (the index too, unless written).
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
    const stages = (r: { stdout: string }) => (JSON.parse(r.stdout).summary.stages ?? []) as Array<{ time_ms: number; note?: string }>;
    const note = String(stages(again)[0]?.note ?? "");
    /** Seconds reading the index (listing included), and in the dedup stages after it. */
    const split = (r: { stdout: string }) => {
      const [read, ...rest] = stages(r);
      return `index ${((read?.time_ms ?? 0) / 1000).toFixed(1)} s, dedup ${(rest.reduce((sum, s) => sum + s.time_ms, 0) / 1000).toFixed(1)} s`;
    };
    // The pipeline's writer on top of this library: what keeping the summary costs each record write.
    const rate = await writerRate(stack, n + 1, Math.min(2000, n / 5));
    printRow({
      records: String(n),
      "made on disk": reused ? "made before" : `${made.toFixed(0)} s${WITH_INDEX ? ", with index" : ""}`,
      "writer records/s": rate.toFixed(0),
      [WITH_INDEX ? "first status (builds summary from index)" : "first status (builds summary + index)"]: `${first.seconds.toFixed(1)} s`,
      status: `${status.seconds.toFixed(2)} s, ${status.peakRssMiB.toFixed(0)} MiB`,
      "start-up alone": `${startup.seconds.toFixed(2)} s`,
      "status requests": String(counted.requests()),
      "/api/status": `${apiSeconds.toFixed(2)} s, ${api.requests()} requests`,
      report: `${report.seconds.toFixed(1)} s (${split(report)}), ${report.peakRssMiB.toFixed(0)} MiB`,
      "report after 1 new record": `${again.seconds.toFixed(1)} s (${split(again)}), ${/(\d+) read again/.exec(note)?.[1] ?? "?"} record(s) read`,
    });
  } finally {
    await stack.stop();
  }
}
