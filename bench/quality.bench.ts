// Quality bench (`npm run bench -- quality`): four kinds of generated content (static screen, animation,
// film grain, fast motion) through a real runner, per profile: the output's bytes, SSIM and PSNR; the
// cost of measuring quality as a ratio of the job's time (target ≤ 1.10×); the preview's size per minute
// of 1080p (target ≤ 1 MB). Then the error of the sampled measurement against every frame, on longer
// sources of the same kinds (the bound docs/guarantees.md states).
// The cost is what measuring adds: the quality sample's branch in the encode pass (the same pass run here
// with and without it) and the measurement itself, over the pass without either.
// The archive profile's rows give bytes and SSIM only: its jobs are measured on windows of a second decode
// (docs/pipeline.md#quality-and-previews), not on the pass's sample whose cost this bench takes.
// REELPRESS_BENCH_SEC (default 10): the 1080p sources' length; REELPRESS_BENCH_SAMPLE_SEC (default 60): the
// sampling sources' (640×360); REELPRESS_BENCH_PROFILES (default compat,archive): the profiles, comma-separated
// (`none`: only the sampling error);
// REELPRESS_BENCH_SKIP_SAMPLING=1 leaves out the sampling-error part; REELPRESS_BENCH_KINDS picks kinds by name; REELPRESS_X264_PRESET (default veryfast).
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { runnerSettings, startRunner } from "../gpu-runner/runner.ts";
import { readRecord } from "../shared/io/manifest.ts";
import { headObject, uploadFile } from "../shared/io/objects.ts";
import { buildPass, pickVerifyTimes, targetSize } from "../gpu-runner/encode-args.ts";
import { runPass } from "../gpu-runner/encode.ts";
import { profileCodec, profileVideoArgs } from "../gpu-runner/profile-args.ts";
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

/** Wall and CPU seconds of `work`, which must start and wait for its own child processes only. */
async function timed<T>(work: () => Promise<T>): Promise<{ value: T; seconds: number; cpu: number }> {
  const [t, c] = [performance.now(), await childCpuSec()];
  const value = await work();
  return { value, seconds: (performance.now() - t) / 1000, cpu: (await childCpuSec()) - c };
}

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
  const { value: pass, seconds, cpu } = await timed(() => runPass(plan, { dir: passDir, signal: new AbortController().signal }));
  if (pass.kind !== "encoded") throw new Error("the pass stopped");
  return { pass, plan, passDir, seconds, cpu };
}

const source = (spec: Omit<VideoSpec, "ext" | "vcodec">, width: number, height: number, durationSec: number) =>
  makeVideo({ ext: "mkv", vcodec: "libx264", width, height, durationSec, fps: 25, audio: true, ...spec, extra: ["-crf", "12"] });

const dir = await mkdtemp(path.join(os.tmpdir(), "rp-bench-quality-"));
const stack = await startTestStack({ REELPRESS_FINGERPRINTS: "16" });
type Event = { event: string; key?: string; seconds?: number };
const events: Event[] = [];

try {
  console.log(`1920×1080 25 fps sources of ${SEC} s (H.264 CRF 12 + AAC), libx264 preset ${PRESET}, one runner.\n`);
  console.log("Times: wall seconds / CPU seconds. Cost: CPU of the pass with the quality sample and of the measurement, over the pass without either.\n");
  console.log("| content | profile | source MB | output MB | SSIM | PSNR dB | sampled every | job s | pass s | pass + sample s | measuring s | cost (CPU) | cost (wall) | preview MB/min |");
  console.log("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
  const costs: number[] = [];
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
          console.log(`${row} | | | | | | ${perMinute.toFixed(2)} |`);
          continue;
        }
        // What measuring adds, on the same files: the runner's pass without the sample and with it, then the
        // measurement. The pass without it is the denominator, not the whole job (which also probes, verifies
        // and uploads), and the measurement counts in full though the runner runs it beside the verification:
        // the ratio is an upper bound.
        const bare = await timedPass(file, job, false);
        await rm(bare.passDir, { recursive: true, force: true });
        const sampled = await timedPass(file, job, true);
        const measuring = await timed(() => measureSample({ output: sampled.pass.output, sample: sampled.pass.qualitySample!.file, every: sampled.plan.qualitySample!.every, stallSec: 600 }));
        await rm(sampled.passDir, { recursive: true, force: true });
        const cost = (sampled.cpu + measuring.cpu) / bare.cpu;
        const costWall = (sampled.seconds + measuring.seconds) / bare.seconds;
        costs.push(cost);
        console.log(`${row} | ${bare.seconds.toFixed(1)} / ${bare.cpu.toFixed(1)} | ${sampled.seconds.toFixed(1)} / ${sampled.cpu.toFixed(1)} | ${measuring.seconds.toFixed(1)} / ${measuring.cpu.toFixed(1)} | ${cost.toFixed(3)}× | ${costWall.toFixed(2)}× | ${perMinute.toFixed(2)} |`);
      }
    } finally {
      await runner.stop();
    }
  }
  if (costs.length) console.log(`\nMeasuring quality: at most ${Math.max(...costs).toFixed(3)}× the pass's CPU time (target ≤ 1.10×).`);
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
        measureSample({ output: pass.output, sample: pass.qualitySample!.file, every: plan.qualitySample!.every, stallSec: 600 }),
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
