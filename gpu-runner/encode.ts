// Runs the one ffmpeg pass in a job folder: progress as it goes, an early stop when the output cannot
// save what it must, and afterwards the fingerprints of the frames it encoded.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { FINGERPRINT_SIDE, fingerprintFrame, parseFrameTimes } from "../shared/media/fingerprint.ts";
import type { FrameFingerprint } from "../shared/schemas.ts";
import { PREVIEW_ENV } from "../shared/media/preview.ts";
import { PASS_FILES, type PassPlan, montageArgs } from "./encode-args.ts";
import { type EncodeProgress, ProgressParser } from "./ffmpeg-progress.ts";
import { classifyTestEncode } from "./encoder.ts";

export type PassResult =
  /** `preview`: the pass's preview WebM, when it made one. */
  /** `qualitySample`: the source frames the pass kept for measuring the output, when the plan asked for them. */
  | { kind: "encoded"; output: string; montage: string; preview?: string; qualitySample?: { file: string; every: number }; fingerprints: FrameFingerprint[] }
  /** Stopped early: `atSec` of media had been encoded. */
  | { kind: "cannot-save"; reason: string; atSec: number };

/** ffmpeg failed; `busy` when the GPU had no free encoder session (try again later, it is not broken). */
export class EncodeError extends Error {
  readonly busy: boolean;
  constructor(message: string, busy: boolean) {
    super(message);
    this.name = "EncodeError";
    this.busy = busy;
  }
}

export type PassOptions = {
  dir: string;
  signal: AbortSignal;
  onProgress?(p: EncodeProgress): void;
  /** Returns a reason to stop (the output cannot save enough), checked on every progress update. */
  shouldStop?(p: EncodeProgress): string | undefined;
  /** The file the pass writes its output to, in `dir`; the MP4 of PASS_FILES by default. */
  outputFile?: string;
};

/** Keeps the end of ffmpeg's stderr: enough for the error, bounded for a long encode. */
const STDERR_KEEP = 8192;

export async function runPass(plan: Pick<PassPlan, "args" | "sampleTimes" | "montageGrid"> & Partial<Pick<PassPlan, "preview" | "qualitySample">>, opts: PassOptions): Promise<PassResult> {
  const child = execa("ffmpeg", plan.args, { cwd: opts.dir, env: PREVIEW_ENV, reject: false, cancelSignal: opts.signal, buffer: false, stdin: "ignore" });
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => (stderr = (stderr + d.toString()).slice(-STDERR_KEEP)));
  const parser = new ProgressParser();
  let encodedSec = 0;
  let stopReason: string | undefined;
  child.stdout!.on("data", (d: Buffer) => {
    for (const p of parser.push(d.toString())) {
      encodedSec = p.outTimeSec;
      opts.onProgress?.(p);
      stopReason ??= opts.shouldStop?.(p);
      if (stopReason) child.kill("SIGKILL");
    }
  });
  const r = await child;
  if (stopReason) return { kind: "cannot-save", reason: stopReason, atSec: encodedSec };
  opts.signal.throwIfAborted();
  if (r.exitCode !== 0) {
    const outcome = classifyTestEncode(r.exitCode, stderr);
    const reason = outcome.status === "ok" ? `ffmpeg was killed (${r.signal})` : outcome.reason;
    throw new EncodeError(`encode failed: ${reason}`, outcome.status === "busy");
  }
  const output = path.join(opts.dir, opts.outputFile ?? PASS_FILES.output);
  const tiled = await execa("ffmpeg", montageArgs(plan.montageGrid), { cwd: opts.dir, reject: false, cancelSignal: opts.signal, stdin: "ignore" });
  opts.signal.throwIfAborted();
  if (tiled.exitCode !== 0) throw new EncodeError(`making the montage failed: ${String(tiled.stderr).split("\n")[0] || `exit ${tiled.exitCode}`}`, false);
  return {
    kind: "encoded",
    output,
    montage: path.join(opts.dir, PASS_FILES.montage),
    ...(plan.preview ? { preview: path.join(opts.dir, PASS_FILES.preview) } : {}),
    ...(plan.qualitySample ? { qualitySample: { file: path.join(opts.dir, PASS_FILES.qualitySample), every: plan.qualitySample.every } } : {}),
    fingerprints: await readPassFingerprints(opts.dir, plan.sampleTimes),
  };
}

/**
 * The fingerprint for each sample time: the first frame shown at or after it (what a seek to it lands
 * on), labelled with the sample time itself. Times past the last frame get none.
 */
export async function readPassFingerprints(dir: string, sampleTimes: number[]): Promise<FrameFingerprint[]> {
  const raw = await readFile(path.join(dir, PASS_FILES.fingerprints));
  const frameTimes = parseFrameTimes(await readFile(path.join(dir, PASS_FILES.fingerprintTimes), "utf8"));
  const side = FINGERPRINT_SIDE * FINGERPRINT_SIDE;
  const count = Math.min(frameTimes.length, Math.floor(raw.length / side));
  const out: FrameFingerprint[] = [];
  for (const t of sampleTimes) {
    const i = frameTimes.findIndex((ft, j) => j < count && ft >= t - 1e-6);
    if (i >= 0) out.push(fingerprintFrame(raw.subarray(i * side, (i + 1) * side), t));
  }
  return out;
}
