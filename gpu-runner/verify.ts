// Nothing is published unverified: the output must probe as the H.264 MP4 that was asked for, decode to
// its last frames, and show the source's pictures at the source's sample times.
import { execa } from "execa";
import { isCompressedMedia } from "../shared/rules/decision.ts";
import { probeMedia, safeInputArgs } from "../shared/media/ffprobe.ts";
import { fingerprintAt } from "../shared/media/fingerprint.ts";
import { hammingDistance } from "../shared/media/phash.ts";
import type { FrameFingerprint, MediaInfo } from "../shared/schemas.ts";
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
  if (r.exitCode === 0 && !String(r.stderr).trim()) return undefined;
  return `the last ${TAIL_SEC} s do not decode: ${String(r.stderr).split("\n")[0] || `exit ${r.exitCode}`}`;
}

/** Throws VerifyError with every problem found; returns the output's MediaInfo when it is good. */
export async function verifyOutput(
  file: string,
  expected: { source: MediaInfo; plan: PassPlan; sourceFingerprints: FrameFingerprint[]; timeoutSec: number },
): Promise<MediaInfo> {
  const { timeoutSec } = expected;
  // The encoded file itself is decoded at the plan's forced keyframes: a garbled or black encode fails here.
  const times = new Set(expected.plan.keyframeTimes);
  const [media, tail, decoded] = await Promise.all([
    probeMedia(file, { timeoutSec }),
    decodeTail(file, timeoutSec),
    fingerprintAt(file, [...times], { timeoutSec }).catch(() => []),
  ]);
  const problems = outputProblems(media, expected.source, expected.plan);
  if (tail) problems.push(tail);
  const frames = compareFingerprints(expected.sourceFingerprints.filter((f) => times.has(f.t)), decoded);
  if (!frames.ok) problems.push(`content differs: ${frames.reason}`);
  if (problems.length) throw new VerifyError(`output failed verification: ${problems.join("; ")}`);
  return media;
}
