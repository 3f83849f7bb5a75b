// Chunked encoding bench: the wall time of one long 720p job with 1 runner against 2 runners, each
// `reelpress runner` process pinned to one core (taskset), so each encodes with one thread: the speed-up
// (target ≥ 1.8× on two cores); and the chunking overhead, a chunked job on 1 runner against the same
// job unchunked on 1 runner (target ≤ 1.10×).
// REELPRESS_BENCH_SEC (default 600) shortens the source for a quick run; REELPRESS_CHUNK_SEC (default a
// tenth of it, so 2 runners split 10 chunks evenly) and REELPRESS_X264_PRESET (default veryfast) apply.
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { headObject } from "../shared/io/objects.ts";
import { readRecord } from "../shared/io/manifest.ts";
import { REELPRESS } from "../test/kit/cli.ts";
import { makeVideo } from "../test/kit/fixtures.ts";
import { startTestStack } from "../test/kit/stack.ts";
import { planJob } from "../test/integration/runner-kit.ts";

const SEC = Number(process.env.REELPRESS_BENCH_SEC || 600);
const CHUNK_SEC = process.env.REELPRESS_CHUNK_SEC || String(SEC / 10);
const PRESET = process.env.REELPRESS_X264_PRESET || "veryfast";
const MiB = 1024 ** 2;

const dir = await mkdtemp(path.join(os.tmpdir(), "rp-bench-chunked-"));
const stack = await startTestStack({ REELPRESS_FINGERPRINTS: "16" });
const phases: string[] = [];

/** One job through `runners` runner processes (runner i on core i) until the queue is empty; wall seconds. */
async function job(name: string, runners: number, chunked: boolean, source: string): Promise<number> {
  const planned = await planJob(stack, source, `bench/${name}.mkv`);
  const env = {
    ...stack.env, TMPDIR: dir, REELPRESS_X264_PRESET: PRESET, REELPRESS_RUNNER_VISIBILITY: "120",
    REELPRESS_CHUNK_MIN_SEC: chunked ? "0" : String(10 * SEC), REELPRESS_CHUNK_SEC: CHUNK_SEC,
  };
  const t = performance.now();
  const done = await Promise.all(Array.from({ length: runners }, (_, core) =>
    execa("taskset", ["-c", String(core % os.availableParallelism()), REELPRESS, "runner", "--once", "--encoder", "x264"], { env, reject: false })));
  const seconds = (performance.now() - t) / 1000;
  for (const r of done) if (r.exitCode !== 0) throw new Error(`a runner failed: ${String(r.stderr).slice(-500)}`);
  // Where the time went, from the runners' own job events: the split, the chunks, and the merge.
  const events = done.flatMap((r) => String(r.stderr).split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l) as { event: string; seconds?: number }));
  const sum = (event: string) => events.filter((e) => e.event === event).reduce((n, e) => n + (e.seconds ?? 0), 0);
  phases.push(`${name}: ${chunked ? `split ${sum("job_chunked").toFixed(1)} s, chunks ${sum("job_chunk").toFixed(1)} s (summed over runners), last chunk + merge + publish ${sum("job_compressed").toFixed(1)} s` : `job ${sum("job_compressed").toFixed(1)} s`}`);
  const record = (await readRecord(stack, planned.outputKey))?.record;
  if (record?.state !== "compressed" || !(await headObject(stack, planned.outputKey))) throw new Error(`${name}: the job did not compress`);
  if (chunked !== (record.chunks !== undefined)) throw new Error(`${name}: chunks ${record.chunks}, expected ${chunked ? "some" : "none"}`);
  return seconds;
}

try {
  const source = await makeVideo({ ext: "mkv", vcodec: "libx264", width: 1280, height: 720, fps: 30, durationSec: SEC, audio: true, bitrate: "3M", extra: ["-g", "60"] });
  const whole = await job("unchunked-1", 1, false, source);
  const one = await job("chunked-1", 1, true, source);
  const two = await job("chunked-2", 2, true, source);
  console.log(`A ${SEC} s 1280×720 30 fps source (${((await stat(source)).size / MiB).toFixed(0)} MiB, H.264 + AAC), chunks of about ${CHUNK_SEC} s, libx264 preset ${PRESET}, one core per runner.\n`);
  console.log("| run | seconds | | target |");
  console.log("|---|---:|---:|---|");
  console.log(`| unchunked, 1 runner | ${whole.toFixed(1)} | 1.00× | |`);
  console.log(`| chunked, 1 runner | ${one.toFixed(1)} | overhead ${(one / whole).toFixed(2)}× | ≤ 1.10× |`);
  console.log(`| chunked, 2 runners | ${two.toFixed(1)} | speed-up ${(one / two).toFixed(2)}× (${(whole / two).toFixed(2)}× against unchunked) | ≥ 1.8× |`);
  console.log(`\n${phases.join("\n")}`);
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
