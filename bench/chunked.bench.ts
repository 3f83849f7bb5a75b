// Chunked encoding bench. First the split's footprint, with one in-process runner: peak temporary space
// (the job folder at its fullest, measured through the runner's hook while the segmenter is paused on a
// finished part) as a ratio of the source's size, with the source downloaded and read in place
// (REELPRESS_LIBRARY_DIR), and the time from the job's start to the first runner status with progress,
// against the one-pass job's and the time the split takes (before the stages, nothing moved until then).
// Then the speed: the wall time of one long 720p job with 1 runner against 2 runners, each
// `reelpress runner` process pinned to one core (taskset), so each encodes with one thread: the speed-up
// (target ≥ 1.8× on two cores); and the chunking overhead, a chunked job on 1 runner against the same
// job unchunked on 1 runner (target ≤ 1.10×). REELPRESS_BENCH_SPEED=0 leaves the speed runs out.
// REELPRESS_BENCH_SEC (default 600) shortens the source for a quick run; REELPRESS_CHUNK_SEC (default a
// tenth of it, so 2 runners split 10 chunks evenly) and REELPRESS_X264_PRESET (default veryfast) apply.
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { readdirSync, statSync } from "node:fs";
import { execa } from "execa";
import type { PutObjectCommandInput, S3Client } from "@aws-sdk/client-s3";
import { headObject, readJson } from "../shared/io/objects.ts";
import { readRecord } from "../shared/io/manifest.ts";
import { ChunkPlan, RunnerStatus } from "../shared/schemas.ts";
import { type RunnerSettings, startRunner } from "../gpu-runner/runner.ts";
import { workKeys } from "../gpu-runner/chunked/plan.ts";
import { REELPRESS } from "../test/kit/cli.ts";
import { makeVideo } from "../test/kit/fixtures.ts";
import { until } from "../test/kit/wait.ts";
import { startTestStack } from "../test/kit/stack.ts";
import { planJob } from "../test/integration/runner-kit.ts";

const SEC = Number(process.env.REELPRESS_BENCH_SEC || 600);
const CHUNK_SEC = process.env.REELPRESS_CHUNK_SEC || String(SEC / 10);
const PRESET = process.env.REELPRESS_X264_PRESET || "veryfast";
const SPEED = process.env.REELPRESS_BENCH_SPEED !== "0";
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

type Footprint = { peak?: number; firstProgressSec: number; splitSec?: number; beforePeak?: number };

/**
 * One job on a fresh stack with one in-process runner, until the split is stored (chunked) or the first
 * progress (one pass): the peak of the job folder over the source's size, and the seconds from the job's
 * start to the first runner status whose percentage is above 0.
 */
async function footprint(source: string, mode: "one pass" | "download" | "in place"): Promise<Footprint> {
  const s = await startTestStack({ REELPRESS_FINGERPRINTS: "16" });
  const chunked = mode !== "one pass";
  const firstProgress = new Map<string, number>();
  const s3 = new Proxy(s.s3, {
    get(target, prop, receiver) {
      if (prop !== "send") return Reflect.get(target, prop, receiver);
      return (cmd: { input: PutObjectCommandInput }, ...rest: unknown[]) => {
        if (cmd.constructor.name === "PutObjectCommand" && cmd.input.Key?.startsWith(".reelpress/runners/")) {
          for (const j of RunnerStatus.parse(JSON.parse(String(cmd.input.Body))).jobs) if ((j.percent ?? 0) > 0 && !firstProgress.has(j.job_id)) firstProgress.set(j.job_id, performance.now());
        }
        return (target.send as (...a: unknown[]) => unknown)(cmd, ...rest);
      };
    },
  }) as S3Client;
  let started = 0;
  let splitAt = 0;
  let peak = 0;
  const runner = await startRunner({ ...s, s3 }, {
    encoder: "x264", concurrency: 1, workBase: path.join(dir, "footprint"),
    settings: { visibilitySec: 600, x264Preset: PRESET as RunnerSettings["x264Preset"], chunks: { minSec: chunked ? 0 : 10 * SEC, chunkSec: Number(CHUNK_SEC) }, libraryDir: mode === "in place" ? s.embedded.library : undefined },
    log: (event) => {
      if (event === "job_started" && !started) started = performance.now();
      if (event === "job_split") splitAt = performance.now();
    },
    onFolderFull: (d) => {
      peak = Math.max(peak, readdirSync(d).reduce((n, f) => n + statSync(path.join(d, f)).size, 0));
    },
  });
  try {
    const job = await planJob(s, source, `bench/footprint.mkv`);
    const first = await until("the first progress", () => firstProgress.get(job.jobId), 1800_000, 50);
    if (!chunked) return { firstProgressSec: (first - started) / 1000 };
    await until("the split", () => splitAt, 1800_000, 50);
    // Before this change the split kept a full copy and every segment until the end.
    const plan = (await readJson(s, workKeys(job.jobId).plan, ChunkPlan))!;
    const segments = await Promise.all(plan.chunks.map(async (c) => (await headObject(s, c.segmentKey))!.size));
    const size = (await stat(source)).size;
    return { peak: peak / size, firstProgressSec: (first - started) / 1000, splitSec: (splitAt - started) / 1000, beforePeak: (size + segments.reduce((a, b) => a + b, 0)) / size };
  } finally {
    await runner.stop();
    await s.stop();
  }
}

try {
  const source = await makeVideo({ ext: "mkv", vcodec: "libx264", width: 1280, height: 720, fps: 30, durationSec: SEC, audio: true, bitrate: "3M", extra: ["-g", "60"] });
  const onePass = await footprint(source, "one pass");
  const download = await footprint(source, "download");
  const inPlace = await footprint(source, "in place");
  const MiBs = ((await stat(source)).size / MiB).toFixed(0);
  console.log(`The split's footprint: a ${SEC} s 1280×720 source (${MiBs} MiB), chunks of about ${CHUNK_SEC} s, one in-process runner.\n`);
  console.log("| run | peak temporary space | first progress | | target |");
  console.log("|---|---:|---:|---|---|");
  console.log(`| one pass | (its output only) | ${onePass.firstProgressSec.toFixed(2)} s | 1.00× | |`);
  for (const [name, f] of [["chunked, source downloaded", download], ["chunked, source read in place", inPlace]] as const) {
    console.log(`| ${name} | ${f.peak!.toFixed(2)}× the source (before: ${f.beforePeak!.toFixed(2)}×) | ${f.firstProgressSec.toFixed(2)} s | ${(f.firstProgressSec / onePass.firstProgressSec).toPrecision(2)}× one pass; before: ${f.splitSec!.toFixed(1)} s, the whole split | ≤ 1.2× |`);
  }
  if (SPEED) {
    const whole = await job("unchunked-1", 1, false, source);
    const one = await job("chunked-1", 1, true, source);
    const two = await job("chunked-2", 2, true, source);
    console.log(`\nA ${SEC} s 1280×720 30 fps source (${((await stat(source)).size / MiB).toFixed(0)} MiB, H.264 + AAC), chunks of about ${CHUNK_SEC} s, libx264 preset ${PRESET}, one core per runner.\n`);
    console.log("| run | seconds | | target |");
    console.log("|---|---:|---:|---|");
    console.log(`| unchunked, 1 runner | ${whole.toFixed(1)} | 1.00× | |`);
    console.log(`| chunked, 1 runner | ${one.toFixed(1)} | overhead ${(one / whole).toFixed(2)}× | ≤ 1.10× |`);
    console.log(`| chunked, 2 runners | ${two.toFixed(1)} | speed-up ${(one / two).toFixed(2)}× (${(whole / two).toFixed(2)}× against unchunked) | ≥ 1.8× |`);
    console.log(`\n${phases.join("\n")}`);
  }
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
