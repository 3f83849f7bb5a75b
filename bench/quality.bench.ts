// Quality bench (`npm run bench -- quality`): four kinds of generated content (static screen, animation,
// film grain, fast motion) through a real runner, per profile: the output's bytes, SSIM and PSNR; the
// cost of measuring quality as a ratio of the job's time (target ≤ 1.10×); the preview's size per minute
// of 1080p (target ≤ 1 MB). Then the error of the sampled measurement against every frame, on longer
// sources of the same kinds (the bound docs/guarantees.md states).
// The cost is what measuring adds, in CPU seconds, two ways side by side on the same files. Over the job
// (the target): the job's CPU with measuring (pass with the quality sample, verification without
// the tail decode, which the measurement's whole decode stands for, SHA-256, measurement) over the job's
// CPU without it (bare pass, verification with the tail decode, SHA-256); each step is the runner's own
// function run alone. Over the pass (the older figure, an upper bound): the pass with the sample and the
// measurement over the bare pass. The with-measuring verification is what verifyMeasured runs beside the
// measurement: verifyOutput without the tail, and the declared frame count the decoded one must equal.
// The archive profile's rows give bytes and SSIM only: its jobs are measured on windows of a second decode
// (docs/pipeline.md#quality-and-previews), not on the pass's sample whose cost this bench takes.
// REELPRESS_BENCH_SEC (default 10): the 1080p sources' length; REELPRESS_BENCH_SAMPLE_SEC (default 60): the
// sampling sources' (640×360); REELPRESS_BENCH_PROFILES (default compat,archive): the profiles, comma-separated
// (`none`: only the sampling error);
// REELPRESS_BENCH_SKIP_SAMPLING=1 leaves out the sampling-error part; REELPRESS_BENCH_KINDS picks kinds by name; REELPRESS_X264_PRESET (default veryfast);
// REELPRESS_BENCH_PAIRS (default 2): how many times each of the two passes runs for the cost.
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runnerSettings, startRunner } from "../gpu-runner/runner.ts";
import { readRecord } from "../shared/io/manifest.ts";
import { headObject, uploadFile } from "../shared/io/objects.ts";
import { buildPass, pickVerifyTimes, targetSize } from "../gpu-runner/encode-args.ts";
import { runPass } from "../gpu-runner/encode.ts";
import { sha256File } from "../gpu-runner/publish.ts";
import { decodeTail, verifyOutput } from "../gpu-runner/verify.ts";
import { profileCodec, profileVideoArgs } from "../gpu-runner/profile-args.ts";
import { declaredFrames } from "../shared/media/decode-check.ts";
import { probeMedia } from "../shared/media/ffprobe.ts";
import { measureQuality, measureSample, qualitySample, qualityWindows } from "../shared/media/quality.ts";
import { COMPAT, PROFILES_KEY } from "../shared/rules/profiles.ts";
import { probeObject } from "../shared/steps/probe.ts";
import { planProbed } from "../shared/steps/strategy.ts";
import type { EncodeJob } from "../shared/schemas.ts";
import { recordPlan } from "../test/integration/runner-kit.ts";
import { makeVideo, type VideoSpec } from "../test/kit/fixtures.ts";
import { startTestStack } from "../test/kit/stack.ts";
import { until } from "../test/kit/wait.ts";

const SEC = Number(process.env.REELPRESS_BENCH_SEC || 10);
const SAMPLE_SEC = Number(process.env.REELPRESS_BENCH_SAMPLE_SEC || 60);
const PRESET = process.env.REELPRESS_X264_PRESET || "veryfast";
/** The built-in profiles, each chosen for its bench folder by the library's profiles file; an unknown one is an error, not a silent compat run. */
const KNOWN_PROFILES = ["compat", "archive"];
// `none`: only the sampling-error part.
const PROFILES = (process.env.REELPRESS_BENCH_PROFILES || "compat,archive").split(",").map((p) => p.trim()).filter((p) => p && p !== "none");
for (const p of PROFILES) if (!KNOWN_PROFILES.includes(p)) throw new Error(`profile ${p} is not known to this build (known: ${KNOWN_PROFILES.join(", ")})`);
const SKIP_SAMPLING = process.env.REELPRESS_BENCH_SKIP_SAMPLING === "1";
const PAIRS = Math.max(1, Number(process.env.REELPRESS_BENCH_PAIRS || 2));
const MB = 1e6;

/** lavfi sources and filters, nearly lossless H.264 (the source should not be the thing measured). */
const KINDS: Array<{ name: string; spec: Omit<VideoSpec, "ext" | "vcodec"> }> = [
  { name: "static screen", spec: { source: "smptehdbars" } },
  { name: "animation", spec: { source: "testsrc2" } },
  { name: "film grain", spec: { source: "testsrc2", filter: "noise=c0s=14:c1s=6:c2s=6:allf=t" } },
  { name: "fast motion", spec: { source: "testsrc2", filter: "scroll=horizontal=0.03:vertical=0.02" } },
];
/** REELPRESS_BENCH_KINDS (e.g. `grain,motion`): only the kinds whose name holds one of these words. */
const KIND_FILTER = (process.env.REELPRESS_BENCH_KINDS ?? "").split(",").map((k) => k.trim()).filter(Boolean);
const kinds = () => (KIND_FILTER.length ? KINDS.filter((k) => KIND_FILTER.some((w) => k.name.includes(w))) : KINDS);

/**
 * CPU seconds of this process's finished children (ffmpeg), from /proc/self/stat (cutime + cstime, in
 * clock ticks of 1/100 s). On a shared machine a run's wall time swings with everyone else's load; the
 * CPU its own processes burn does not.
 */
async function childCpuSec(): Promise<number> {
  const fields = (await readFile("/proc/self/stat", "utf8")).replace(/^.*\) /s, "").split(" ");
  // After the ")" of the name, field 3 is index 0: cutime and cstime are fields 16 and 17.
  return (Number(fields[13]) + Number(fields[14])) / 100;
}

/** CPU seconds of this process itself: the SHA-256 and the fingerprints' pHash are computed here, not in a child. */
function ownCpuSec(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/**
 * Wall and CPU seconds of `work`, which must start and wait for its own child processes only: `cpu` of
 * the children, `own` of this process meanwhile (which includes the idle runner's and store's bit).
 */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number; cpu: number; own: number }> {
  const [t, c, o] = [performance.now(), await childCpuSec(), ownCpuSec()];
  const value = await work();
  return { value, seconds: (performance.now() - t) / 1000, cpu: (await childCpuSec()) - c, own: ownCpuSec() - o };
}

/** A step's whole CPU: its children's and this process's. */
const jobCpu = (...steps: Array<{ cpu: number; own: number }>) => steps.reduce((n, s) => n + s.cpu + s.own, 0);

/** The runner's one pass over `file`, as encodeAndPublish plans it, with the quality sample or without; its wall time. */
async function timedPass(file: string, job: EncodeJob, withSample: boolean) {
  const media = await probeMedia(file, { timeoutSec: 60 });
  const size = targetSize(media.video.width, media.video.height, job.downscale);
  const plan = buildPass({
    input: file, media, encoder: "x264", downscale: job.downscale, sampleTimes: job.fingerprints.map((f) => f.t), keyframeTimes: pickVerifyTimes(job.fingerprints),
    x264Preset: PRESET, videoArgs: profileVideoArgs("x264", job.profile ?? COMPAT, PRESET), videoCodec: profileCodec(job.profile),
    ...(withSample ? { qualitySample: qualitySample(media.durationSec, media.video.fps, size) } : {}),
  });
  const passDir = await mkdtemp(path.join(dir, "pass-"));
  const { value: pass, seconds, cpu, own } = await timed(() => runPass(plan, { dir: passDir, signal: new AbortController().signal }));
  if (pass.kind !== "encoded") throw new Error("the pass stopped");
  return { pass, plan, media, passDir, seconds, cpu, own };
}

/**
 * The pass without the sample and with it, REELPRESS_BENCH_PAIRS times each (default 2) in ABBA order
 * (bare, sampled, sampled, bare, …), so that a drift in the shared machine's load falls on both alike;
 * their times averaged, the first of each kept for the steps after it.
 */
async function passPairs(file: string, job: EncodeJob) {
  const runs: { bare: Awaited<ReturnType<typeof timedPass>>[]; sampled: Awaited<ReturnType<typeof timedPass>>[] } = { bare: [], sampled: [] };
  for (let i = 0; i < PAIRS; i++) {
    for (const withSample of i % 2 === 0 ? [false, true] : [true, false]) {
      const run = await timedPass(file, job, withSample);
      const list = withSample ? runs.sampled : runs.bare;
      // Only the first of each is read afterwards: the others' folders go at once (a 1080p sample is 100 MB).
      if (list.length) await rm(run.passDir, { recursive: true, force: true });
      list.push(run);
    }
  }
  const mean = (list: typeof runs.bare) => {
    const avg = (f: (r: (typeof list)[number]) => number) => list.reduce((n, r) => n + f(r), 0) / list.length;
    return { ...list[0]!, seconds: avg((r) => r.seconds), cpu: avg((r) => r.cpu), own: avg((r) => r.own) };
  };
  const cleanUp = () => Promise.all([runs.bare[0]!, runs.sampled[0]!].map((r) => rm(r.passDir, { recursive: true, force: true })));
  return { bare: mean(runs.bare), sampled: mean(runs.sampled), cleanUp };
}

const source = (spec: Omit<VideoSpec, "ext" | "vcodec">, width: number, height: number, durationSec: number) =>
  makeVideo({ ext: "mkv", vcodec: "libx264", width, height, durationSec, fps: 25, audio: true, ...spec, extra: ["-crf", "12"] });

const dir = await mkdtemp(path.join(os.tmpdir(), "rp-bench-quality-"));
const stack = await startTestStack({ REELPRESS_FINGERPRINTS: "16" });
type Event = { event: string; key?: string; seconds?: number };
const events: Event[] = [];

try {
  console.log(`1920×1080 25 fps sources of ${SEC} s (H.264 CRF 12 + AAC), libx264 preset ${PRESET}, one runner.\n`);
  console.log(`Times: wall seconds / CPU seconds; the passes' the mean of ${PAIRS} runs each, in ABBA order. Cost (CPU), (wall): the pass with the quality sample and the measurement, over the pass without either.`);
  console.log("Cost (job CPU): the job's CPU with measuring (pass with the sample, verification without the tail decode, SHA-256, measurement) over");
  console.log("the job's CPU without it (bare pass, verification with the tail decode, SHA-256); `tail decoded too`: as before the measurement stood for it.\n");
  console.log("| content | profile | source MB | output MB | SSIM | PSNR dB | sampled every | job s | pass s | pass + sample s | measuring s | cost (CPU) | cost (wall) | verify + hash CPU s (without / with) | tail decode CPU s | job CPU s (without / with) | cost (job CPU) | cost (job CPU, tail decoded too) | preview MB/min |");
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  const costs: number[] = [];
  const jobCosts: number[] = [];
  const previews: number[] = [];
  // Each profile's folder names it, as a library's profiles file would.
  const profilesFile = path.join(dir, "profiles.json");
  await writeFile(profilesFile, JSON.stringify({ default: "compat", folders: { "bench/archive/": "archive" } }));
  await uploadFile(stack, profilesFile, PROFILES_KEY, { contentType: "application/json" });
  for (const profile of PROFILES) {
    const runner = await startRunner(stack, {
      encoder: "x264",
      settings: runnerSettings({ REELPRESS_X264_PRESET: PRESET, REELPRESS_RUNNER_VISIBILITY: "3600", REELPRESS_MIN_SSIM: "0" }),
      log: (event, fields) => void events.push({ event, ...fields }),
      workBase: path.join(dir, "work"),
    });
    try {
      for (const kind of kinds()) {
        const file = await source(kind.spec, 1920, 1080, SEC);
        const key = `bench/${profile}/${kind.name.replace(/ /g, "-")}.mkv`;
        // What the probe and strategy functions do for an upload: the folder's profile comes from the profiles file.
        await uploadFile(stack, file, key);
        const probed = await probeObject(stack, key);
        if (probed.status !== "probed") throw new Error(`${key} was not probed: ${probed.status}`);
        const planned = await planProbed(stack, probed.result);
        const job = planned.job;
        if (planned.status !== "planned" || !job) throw new Error(`${key} was not planned: ${planned.status}`);
        const done = await until(`${key} to finish`, () => events.find((e) => e.key === key && /^job_(compressed|skipped|dropped|failed)$/.test(e.event)), 3_600_000, 200);
        if (done.event !== "job_compressed") throw new Error(`${key}: ${done.event}`);
        const record = (await readRecord(stack, job.outputKey))!.record;
        const q = record.quality!;
        const preview = (await headObject(stack, record.previewKey!))!.size;
        const perMinute = (preview / MB) * (60 / record.media!.durationSec);
        previews.push(perMinute);
        const row = `| ${kind.name} | ${profile} | ${((await stat(file)).size / MB).toFixed(1)} | ${(record.size / MB).toFixed(2)} | ${q.ssim.toFixed(4)} | ${q.psnr.toFixed(1)} | ${q.sampledEvery ?? (q.sampled ? "windows" : 1)} | ${done.seconds!.toFixed(1)}`;
        if (profile === "archive") {
          console.log(`${row} | | | | | | | | | | | ${perMinute.toFixed(2)} |`);
          continue;
        }
        // What measuring adds, on the same files: the runner's pass without the sample and with it, then the
        // measurement, each job's verification (verifyOutput as verifyMeasured calls it) and SHA-256. The
        // runner runs verification, hash and measurement side by side; here they run one after another, so
        // each step's CPU is its own. Upload and the store's side are left out of both jobs.
        const { bare, sampled, cleanUp } = await passPairs(file, job);
        const expected = { source: bare.media, plan: bare.plan, sourceFingerprints: job.fingerprints, timeoutSec: 600 };
        const verifyBare = await timed(() => verifyOutput(bare.pass.output, expected));
        const hashBare = await timed(() => sha256File(bare.pass.output));
        const measuring = await timed(() => measureSample({ output: sampled.pass.output, sample: sampled.pass.qualitySample!.file, every: sampled.plan.qualitySample!.every, stallSec: 600 }));
        const verifySampled = await timed(() => Promise.all([verifyOutput(sampled.pass.output, { ...expected, plan: sampled.plan, decodedWhole: true }), declaredFrames(sampled.pass.output, 600)]));
        if (verifySampled.value[1] !== measuring.value.outputFrames) throw new Error(`${key}: ${measuring.value.outputFrames} frames decoded, ${verifySampled.value[1]} declared`);
        const hashSampled = await timed(() => sha256File(sampled.pass.output));
        const tail = await timed(() => decodeTail(sampled.pass.output, 600));
        if (tail.value) throw new Error(`${key}: ${tail.value}`);
        await cleanUp();
        const cost = (sampled.cpu + measuring.cpu) / bare.cpu;
        const costWall = (sampled.seconds + measuring.seconds) / bare.seconds;
        costs.push(cost);
        const without = jobCpu(bare, verifyBare, hashBare);
        const withMeasuring = jobCpu(sampled, measuring, verifySampled, hashSampled);
        const jobCost = withMeasuring / without;
        jobCosts.push(jobCost);
        const checks = `${jobCpu(verifyBare, hashBare).toFixed(1)} / ${jobCpu(verifySampled, hashSampled).toFixed(1)}`;
        console.log(
          `${row} | ${bare.seconds.toFixed(1)} / ${bare.cpu.toFixed(1)} | ${sampled.seconds.toFixed(1)} / ${sampled.cpu.toFixed(1)} | ${measuring.seconds.toFixed(1)} / ${measuring.cpu.toFixed(1)} | ${cost.toFixed(3)}× | ${costWall.toFixed(2)}× | ` +
            `${checks} | ${jobCpu(tail).toFixed(2)} | ${without.toFixed(1)} / ${withMeasuring.toFixed(1)} | ${jobCost.toFixed(3)}× | ${((withMeasuring + jobCpu(tail)) / without).toFixed(3)}× | ${perMinute.toFixed(2)} |`,
        );
      }
    } finally {
      await runner.stop();
    }
  }
  if (jobCosts.length) console.log(`\nMeasuring quality: at most ${Math.max(...jobCosts).toFixed(3)}× the job's CPU time (target ≤ 1.10×); at most ${Math.max(...costs).toFixed(3)}× the bare pass's.`);
  if (previews.length) console.log(`Preview: at most ${Math.max(...previews).toFixed(2)} MB per minute of 1080p (target ≤ 1 MB).`);
  if (!SKIP_SAMPLING) {
    console.log(`\nSampling error: 640×360 sources of ${SAMPLE_SEC} s, the runner's pass (libx264 preset ${PRESET} CRF 23), SSIM of every frame against the pass's quality sample (one-pass jobs) and against the ten 2 s windows (chunked and archive jobs, and the fallback).\n`);
    console.log("| content | every frame | sample (every k-th) | difference | windows | difference | frames | sample frames | window frames |");
    console.log("|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    let worst = 0;
    let worstWindows = 0;
    for (const kind of KINDS) {
      const file = await source(kind.spec, 640, 360, SAMPLE_SEC);
      const key = `sampling/${kind.name.replace(/ /g, "-")}.mkv`;
      // Fingerprint times as the planner picks them (the pass forces keyframes at some), not sent to a runner.
      await uploadFile(stack, file, key);
      const { pass, plan, passDir } = await timedPass(file, await recordPlan(stack, file, key), true);
      const size = plan.size;
      const [all, sample, windows] = await Promise.all([
        measureQuality({ output: pass.output, source: file, size, windows: [{ startSec: 0 }], stallSec: 600 }),
        measureSample({ output: pass.output, sample: pass.qualitySample!.file, every: plan.qualitySample!.every, stallSec: 600 }).then((m) => m.quality),
        measureQuality({ output: pass.output, source: file, size, windows: qualityWindows(SAMPLE_SEC), stallSec: 600 }),
      ]);
      await rm(passDir, { recursive: true, force: true });
      const diff = Math.abs(all.ssim - sample.ssim);
      const diffWindows = Math.abs(all.ssim - windows.ssim);
      worst = Math.max(worst, diff);
      worstWindows = Math.max(worstWindows, diffWindows);
      console.log(`| ${kind.name} | ${all.ssim.toFixed(4)} | ${sample.ssim.toFixed(4)} | ${diff.toFixed(4)} | ${windows.ssim.toFixed(4)} | ${diffWindows.toFixed(4)} | ${all.frames} | ${sample.frames} | ${windows.frames} |`);
    }
    console.log(`\nLargest difference from the every-frame SSIM: ${worst.toFixed(4)} (sample), ${worstWindows.toFixed(4)} (windows).`);
  }
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
