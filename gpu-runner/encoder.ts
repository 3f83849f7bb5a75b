// Which encoder this host uses, decided by a real one-frame test encode (`ffmpeg -encoders` lists
// h264_nvenc on any build, GPU or not), and how many jobs the GPU's encoder engines take at once.
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { UserError } from "../shared/errors.ts";
import { type EncoderKind, videoEncoderArgs } from "./encode-args.ts";

export type EncoderPreference = "auto" | EncoderKind;
export type EncoderChoice = { encoder: EncoderKind; reason: string };
export type TestOutcome = { status: "ok" } | { status: "busy" | "unavailable"; reason: string };

/** The driver refuses a new session when all are taken (consumer GPUs cap them): NVENC exists, it is busy. */
const BUSY = /session limit|out of memory \(10\)|incompatible client key \(21\)|resources? (are )?(busy|in use)/i;

/** Pure: what a test encode's exit code and stderr say. */
export function classifyTestEncode(exitCode: number | undefined, stderr: string): TestOutcome {
  if (exitCode === 0) return { status: "ok" };
  if (BUSY.test(stderr)) return { status: "busy", reason: firstLine(stderr) };
  return { status: "unavailable", reason: firstLine(stderr) || `ffmpeg exited with ${exitCode}` };
}

/** The first line that says something (not the generic "Error initializing output stream" tail). */
function firstLine(stderr: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.replace(/^\[[^\]]*\]\s*/, "").trim())
    .filter((l) => l && !/^Error (initializing|while opening)|^Conversion failed/.test(l));
  return lines[0]?.slice(0, 200) ?? "";
}

/** One frame through the same path a job takes: on the GPU, upload + scale_cuda + h264_nvenc with the job's options. */
export function testEncodeArgs(encoder: EncoderKind): string[] {
  const gpu = encoder === "nvenc";
  return [
    "-hide_banner", "-nostdin", "-v", "error",
    ...(gpu ? ["-init_hw_device", "cuda=gpu", "-filter_hw_device", "gpu"] : []),
    "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=0.04",
    "-vf", gpu ? "format=nv12,hwupload,scale_cuda=256:144:format=nv12" : "scale=256:144,format=yuv420p",
    "-frames:v", "1", ...videoEncoderArgs(encoder, "ultrafast"), "-f", "null", "-",
  ];
}

export async function testEncode(encoder: EncoderKind): Promise<TestOutcome> {
  const r = await execa("ffmpeg", testEncodeArgs(encoder), { reject: false, timeout: 60_000 });
  if (r.failed && r.exitCode === undefined) return { status: "unavailable", reason: `ffmpeg could not run: ${r.shortMessage}` };
  return classifyTestEncode(r.exitCode, String(r.stderr));
}

const BUSY_RETRIES = 3;

/** Decides once at start. `auto` prefers NVENC; a busy NVENC still counts as NVENC (jobs wait for a session). */
export async function selectEncoder(preference: EncoderPreference, test = testEncode, retryDelayMs = 2000): Promise<EncoderChoice> {
  if (preference !== "x264") {
    let outcome = await test("nvenc");
    for (let i = 1; i < BUSY_RETRIES && outcome.status === "busy"; i++) {
      await sleep(retryDelayMs);
      outcome = await test("nvenc");
    }
    if (outcome.status === "ok") return { encoder: "nvenc", reason: "NVENC test encode succeeded" };
    if (outcome.status === "busy") return { encoder: "nvenc", reason: `NVENC is there but busy (${outcome.reason}); jobs wait for a free session` };
    if (preference === "nvenc") throw new UserError(`NVENC is not usable here: ${outcome.reason}; run with --encoder x264 or auto.`);
    const x264 = await test("x264");
    if (x264.status !== "ok") throw new UserError(`Neither NVENC (${outcome.reason}) nor libx264 (${x264.reason}) can encode here.`);
    return { encoder: "x264", reason: `NVENC test encode failed (${outcome.reason}); using libx264` };
  }
  const x264 = await test("x264");
  if (x264.status !== "ok") throw new UserError(`libx264 cannot encode here: ${x264.reason}.`);
  return { encoder: "x264", reason: "libx264 asked for (--encoder x264)" };
}

/** NVENC engines per chip; GPUs not listed count as one. Datacenter compute GPUs (A100, H100) have none and fail the test encode. */
const NVENC_ENGINES: Array<[RegExp, number]> = [
  [/RTX 6000 Ada|L40S?\b|RTX 5090/i, 3],
  [/RTX 4090|RTX 4080|RTX 5080|\bL4\b|L20\b/i, 2],
];
/** Concurrent sessions GeForce drivers allow per system; professional cards have no cap. */
const GEFORCE_SESSION_LIMIT = 8;

/** Pure: default job concurrency for GPUs named by nvidia-smi: one per engine, within the driver's session cap. */
export function defaultConcurrency(encoder: EncoderKind, gpuNames: string[]): number {
  if (encoder !== "nvenc" || gpuNames.length === 0) return 1;
  const engines = gpuNames.reduce((n, name) => n + (NVENC_ENGINES.find(([re]) => re.test(name))?.[1] ?? 1), 0);
  return gpuNames.some((n) => /GeForce/i.test(n)) ? Math.min(engines, GEFORCE_SESSION_LIMIT) : engines;
}

export async function gpuNames(): Promise<string[]> {
  const r = await execa("nvidia-smi", ["--query-gpu=name", "--format=csv,noheader"], { reject: false, timeout: 10_000 });
  return r.exitCode === 0 ? String(r.stdout).split("\n").map((l) => l.trim()).filter(Boolean) : [];
}
