// Runner bench: a job through the runner against bare ffmpeg with the same pass on the same local
// file (target ≤ 1.15×); the extra cost of fingerprints + montage in the pass (target ≤ 10 %); and the
// runner process's peak RSS as the source grows (must stay flat: videos are streamed, never buffered).
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { PASS_FILES, buildPass, videoEncoderArgs, pickVerifyTimes } from "../gpu-runner/encode-args.ts";
import { runnerSettings, startRunner } from "../gpu-runner/runner.ts";
import { probeMedia, safeInputArgs } from "../shared/media/ffprobe.ts";
import { fingerprintVideo } from "../shared/media/fingerprint.ts";
import { REELPRESS } from "../test/kit/cli.ts";
import { makeVideo } from "../test/kit/fixtures.ts";
import { headObject } from "../shared/io/objects.ts";
import { startTestStack } from "../test/kit/stack.ts";
import { planJob } from "../test/integration/runner-kit.ts";

const MiB = 1024 ** 2;
const PRESET = runnerSettings(process.env).x264Preset;
/** The machine is shared: the least disturbed of a few runs is the measure. */
const ROUNDS = 3;

const dir = await mkdtemp(path.join(os.tmpdir(), "rp-bench-runner-"));
const stack = await startTestStack({ REELPRESS_FINGERPRINTS: "16" });

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

async function ffmpeg(args: string[], cwd: string): Promise<void> {
  const r = await execa("ffmpeg", args, { cwd, reject: false });
  if (r.exitCode !== 0) throw new Error(`ffmpeg failed: ${String(r.stderr).slice(-500)}`);
}

try {
  // 1. One 720p30 clip with audio, 20 s: the pass, the bare encode, and a job through the runner.
  const source = await makeVideo({ ext: "mkv", vcodec: "libx264", width: 1280, height: 720, fps: 30, durationSec: 20, audio: true, bitrate: "6M" });
  const media = await probeMedia(source, { timeoutSec: 60 });
  const prints = await fingerprintVideo(source, { durationSec: media.durationSec, count: 16, timeoutSec: 60 });
  const plan = buildPass({ input: source, media, encoder: "x264", downscale: false, sampleTimes: prints.map((f) => f.t), keyframeTimes: pickVerifyTimes(prints), x264Preset: PRESET });
  // The same encode without the fingerprint and montage outputs (the source needs no scaling).
  const encodeOnly = [
    "-hide_banner", "-nostdin", "-v", "error", "-y", "-noautorotate", ...safeInputArgs(source),
    "-map", "0:V:0", "-vf", "format=yuv420p", ...videoEncoderArgs("x264", PRESET),
    "-map", "0:a?", "-c:a", "copy", "-f", "mp4", PASS_FILES.output,
  ];
  const work = await mkdtemp(path.join(dir, "pass-"));
  /** One job through an in-process runner (as in `reelpress dev`); its own measure of the job's wall time. */
  const runnerJob = async (round: number) => {
    await planJob(stack, source, `bench/clip-${round}.mkv`);
    const done: number[] = [];
    const runner = await startRunner(stack, {
      encoder: "x264",
      untilDrained: true,
      settings: { visibilitySec: 300, x264Preset: PRESET, chunks: runnerSettings(process.env).chunks },
      log: (event, fields) => void (event === "job_compressed" && done.push(Number(fields.seconds))),
      workBase: path.join(dir, "work"),
    });
    await runner.finished();
    if (done.length !== 1) throw new Error("the bench job did not compress");
    return done[0];
  };
  // Rounds interleave the three runs, so a change in the machine's load hits them alike; best of each.
  let bare = Infinity;
  let pass = Infinity;
  let job = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    bare = Math.min(bare, await seconds(() => ffmpeg(encodeOnly, work)));
    pass = Math.min(pass, await seconds(() => ffmpeg(plan.args, work)));
    job = Math.min(job, await runnerJob(round));
  }

  console.log(`A 20 s 1280×720 30 fps clip (${((await stat(source)).size / MiB).toFixed(1)} MiB, H.264 + AAC), libx264 preset ${PRESET}, best of ${ROUNDS}.\n`);
  console.log("| run | seconds | vs bare encode | vs pass | target |");
  console.log("|---|---:|---:|---:|---|");
  console.log(`| bare ffmpeg, encode only | ${bare.toFixed(2)} | 1.00× | | |`);
  console.log(`| bare ffmpeg, the runner's pass (encode + fingerprints + montage) | ${pass.toFixed(2)} | ${(pass / bare).toFixed(3)}× | 1.00× | ≤ 1.10× of encode only |`);
  console.log(`| job through the runner (probe, pass, verify, SHA-256, backup, upload, manifest) | ${job.toFixed(2)} | ${(job / bare).toFixed(3)}× | ${(job / pass).toFixed(3)}× | ≤ 1.15× of the pass |`);

  // 2. Peak RSS of a `reelpress runner --once` process over sources of growing size: filler-padded CBR of a
  // simple picture, so the sources grow while the outputs (whose upload buffers up to 4 parts) stay small.
  console.log("\n| source | source MiB | output MiB | job seconds | peak RSS of the runner process |");
  console.log("|---|---:|---:|---:|---:|");
  for (const sec of [4, 32, 128]) {
    const file = await makeVideo({ ext: "mp4", vcodec: "libx264", source: "testsrc", width: 1280, height: 720, fps: 30, durationSec: sec, bitrate: "16M", cbr: true });
    const rssJob = await planJob(stack, file, `rss/${sec}s.mp4`, { mustSave: 0 });
    const child = execa(REELPRESS, ["runner", "--once", "--encoder", "x264"], { env: { ...stack.env, REELPRESS_X264_PRESET: "ultrafast", TMPDIR: dir }, reject: false });
    let peakKb = 0;
    // bin/reelpress execs node: the child pid is the runner itself. VmHWM is its high-water mark so far.
    const sample = setInterval(async () => {
      const status = await readFile(`/proc/${child.pid}/status`, "utf8").catch(() => "");
      peakKb = Math.max(peakKb, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    }, 100);
    const r = await child;
    clearInterval(sample);
    if (r.exitCode !== 0) throw new Error(`runner failed: ${r.stderr}`);
    const seconds = String(r.stderr).split("\n").map((l) => (l ? JSON.parse(l) : {})).find((e) => e.event === "job_compressed")?.seconds;
    const out = (await headObject(stack, rssJob.outputKey))!.size;
    console.log(`| 720p, ${sec} s at 16 Mbit/s | ${((await stat(file)).size / MiB).toFixed(0)} | ${(out / MiB).toFixed(1)} | ${Number(seconds).toFixed(1)} | ${(peakKb / 1024).toFixed(0)} MiB |`);
  }
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
