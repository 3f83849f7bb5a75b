// Nothing is published unverified: the output must probe as the H.264 MP4 that was asked for, decode to
// its last frames (every frame, on a job measured on its quality sample), and show the source's pictures
// at the source's sample times.
import { execa } from "execa";
import { errorMessage } from "../shared/errors.ts";
import { declaredFrames, decodeError, decodeWhole, missingFrames } from "../shared/media/decode-check.ts";
import { type MeasureSpec, measureQuality, measureSample } from "../shared/media/quality.ts";
import { isCompressedMedia } from "../shared/rules/decision.ts";
import { UnreadableMediaError, probeMedia, safeInputArgs } from "../shared/media/ffprobe.ts";
import { fingerprintAt } from "../shared/media/fingerprint.ts";
import { hammingDistance } from "../shared/media/phash.ts";
import type { FrameFingerprint, MediaInfo, Quality } from "../shared/schemas.ts";
import type { PassPlan } from "./encode-args.ts";

/** The output is wrong; publishing it would lose the original's content. */
export class VerifyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "VerifyError";
  }
}

/** Bits a re-encoded, rescaled frame's pHash may differ by and still be the same picture. */
export const MATCH_DISTANCE = 12;
/** Share of comparable frames that must match: a few may differ (scene cut at a sample time). */
export const MATCH_QUORUM = 0.75;
const TAIL_SEC = 3;

export type FingerprintCheck = { ok: boolean; compared: number; matched: number; reason: string };

/**
 * Pure: does the output show the source's frames? A source frame that is dark or flat is no evidence;
 * a dark output frame where the source had a picture is a mismatch (black or garbled output).
 */
export function compareFingerprints(source: FrameFingerprint[], output: FrameFingerprint[]): FingerprintCheck {
  const byTime = new Map(output.map((f) => [f.t, f]));
  let compared = 0;
  let matched = 0;
  for (const s of source) {
    if (s.dark) continue;
    compared++;
    const o = byTime.get(s.t);
    if (o && !o.dark && hammingDistance(s.hash, o.hash) <= MATCH_DISTANCE) matched++;
  }
  if (compared === 0) return { ok: true, compared, matched, reason: "no comparable source frames (all dark or flat)" };
  const ok = matched / compared >= MATCH_QUORUM;
  return { ok, compared, matched, reason: `${matched} of ${compared} sampled frames match the source` };
}

const norm = (deg: number | undefined) => (((Math.round(deg ?? 0) % 360) + 360) % 360);

/** Pure: how the probed output differs from what the pass was asked to make; empty when it does not. */
export function outputProblems(out: MediaInfo, source: MediaInfo, plan: PassPlan): string[] {
  const problems: string[] = [];
  const codec = plan.videoCodec ?? "h264";
  if (out.video.codec !== codec) problems.push(`video codec is ${out.video.codec}, not ${codec}`);
  if (out.video.width !== plan.size.width || out.video.height !== plan.size.height) {
    problems.push(`video is ${out.video.width}×${out.video.height}, not ${plan.size.width}×${plan.size.height}`);
  }
  if (norm(out.video.rotation) !== norm(source.video.rotation)) problems.push(`rotation is ${norm(out.video.rotation)}°, not ${norm(source.video.rotation)}°`);
  const slack = Math.max(1, source.durationSec * 0.01);
  // A source whose container states no duration (0) has nothing to compare with.
  if (source.durationSec > 0 && Math.abs(out.durationSec - source.durationSec) > slack) {
    problems.push(`duration is ${out.durationSec.toFixed(2)} s, source ${source.durationSec.toFixed(2)} s`);
  }
  if (out.audio.length !== plan.audioCodecs.length) problems.push(`${out.audio.length} audio streams, expected ${plan.audioCodecs.length}`);
  if (out.subtitles.length !== plan.keptSubtitles) problems.push(`${out.subtitles.length} subtitle streams, expected ${plan.keptSubtitles}`);
  if (!isCompressedMedia(out)) problems.push("the container tag is missing");
  return problems;
}

/** Decodes the last seconds; an error there means a truncated or corrupt file. */
export async function decodeTail(file: string, timeoutSec: number): Promise<string | undefined> {
  const r = await execa(
    "ffmpeg",
    ["-hide_banner", "-nostdin", "-v", "error", "-xerror", "-sseof", `-${TAIL_SEC}`, ...safeInputArgs(file), "-map", "0:v:0", "-map", "0:a?", "-f", "null", "-"],
    { reject: false, timeout: timeoutSec * 1000 },
  );
  const problem = decodeError(r);
  return problem && `the last ${TAIL_SEC} s do not decode: ${problem}`;
}

/**
 * Throws VerifyError with every problem found; returns the output's MediaInfo when it is good.
 * `decodedWhole`: the caller decodes every frame of the file itself (verifyMeasured), so the tail is not decoded here.
 */
export async function verifyOutput(
  file: string,
  expected: { source: MediaInfo; plan: PassPlan; sourceFingerprints: FrameFingerprint[]; timeoutSec: number; decodedWhole?: boolean },
): Promise<MediaInfo> {
  const { timeoutSec } = expected;
  // The encoded file itself is decoded at the plan's forced keyframes: a garbled or black encode fails here.
  const times = new Set(expected.plan.keyframeTimes);
  const [media, tail, decoded] = await Promise.all([
    // An output that does not even probe (cut short before its index) is a failed verification, not an unreadable source.
    probeMedia(file, { timeoutSec }).catch((err: unknown) => {
      throw err instanceof UnreadableMediaError ? new VerifyError(`output failed verification: ${err.message}`) : err;
    }),
    expected.decodedWhole ? undefined : decodeTail(file, timeoutSec),
    fingerprintAt(file, [...times], { timeoutSec }).catch(() => []),
  ]);
  const problems = outputProblems(media, expected.source, expected.plan);
  if (tail) problems.push(tail);
  const frames = compareFingerprints(expected.sourceFingerprints.filter((f) => times.has(f.t)), decoded);
  if (!frames.ok) problems.push(`content differs: ${frames.reason}`);
  if (problems.length) throw new VerifyError(`output failed verification: ${problems.join("; ")}`);
  return media;
}

export type Verified = { media: MediaInfo; quality: Quality };

/**
 * Verifies the output and measures its quality at once. Measured on the pass's quality sample, the
 * measurement decodes every frame of the output with errors fatal and counts its video frames, which
 * with the count the output declares stands for the tail decode. Should that measurement fail, the
 * sample or the output may be at fault: the output is decoded whole here, and one that does not decode
 * fails verification; only a good output falls back to measuring from the source again (`onFallback`
 * gets the reason). Without a sample, the tail is decoded as before.
 */
export async function verifyMeasured(
  file: string,
  expected: Parameters<typeof verifyOutput>[1],
  measuring: Omit<MeasureSpec, "output"> & { sample?: { file: string; every: number } },
  onFallback?: (why: string) => void,
): Promise<Verified> {
  const measure = { ...measuring, output: file };
  const { sample, stallSec } = measure;
  if (!sample) {
    const [media, quality] = await Promise.all([verifyOutput(file, expected), measureQuality(measure)]);
    return { media, quality };
  }
  const [media, declared, sampled] = await Promise.all([
    verifyOutput(file, { ...expected, decodedWhole: true }),
    // Held until the verification has spoken: an output that does not even probe fails it, whatever ffprobe said here.
    declaredFrames(file, stallSec).catch((err: unknown) => (err instanceof Error ? err : new Error(String(err)))),
    measureSample({ output: file, sample: sample.file, every: sample.every, stallSec }).catch((err: unknown) => errorMessage(err)),
  ]);
  if (declared instanceof Error) throw declared;
  if (typeof sampled !== "string") {
    const missing = missingFrames(sampled.outputFrames, declared);
    if (missing) throw new VerifyError(`output failed verification: it does not decode: ${missing}`);
    return { media, quality: sampled.quality };
  }
  onFallback?.(sampled);
  const broken = await decodeWhole(file, stallSec, declared);
  if (broken) throw new VerifyError(`output failed verification: ${broken}`);
  return { media, quality: await measureQuality(measure) };
}
