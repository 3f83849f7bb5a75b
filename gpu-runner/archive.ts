// An archive profile's job (videoArchiver): measure each video and audio stream's first seconds encoded
// alone, keep the source stream where encoding does not save, then one pass into MKV, verify, publish.
// The output gets a preview and its quality measured, as every output does.
// When no stream would save anything the source is skipped, as a compat row that cannot save.
import path from "node:path";
import { probeMedia } from "../shared/media/ffprobe.ts";
import { fingerprintAt } from "../shared/media/fingerprint.ts";
import { MediaStalledError, runMedia } from "../shared/media/run.ts";
import { probeStreams, streamBytes, type StreamInfo } from "../shared/media/streams.ts";
import { presignedGetUrl } from "../shared/io/objects.ts";
import type { EncodeProfile } from "../shared/rules/profiles.ts";
import { isCompressedMedia } from "../shared/rules/decision.ts";
import type { EncodeJob, MediaInfo } from "../shared/schemas.ts";
import { ARCHIVE_OUTPUT, type ArchivePlan, buildArchivePass, isEncodable, probeSegmentArgs } from "./archive-args.ts";
import { PASS_FILES, networkArgs, pickVerifyTimes, uprightFilters } from "./encode-args.ts";
import { makePreview } from "../shared/media/preview.ts";
import { DEFAULT_MIN_SSIM, belowFloor, measureQuality, qualityWindows } from "../shared/media/quality.ts";
import { EncodeError } from "./encode.ts";
import { type JobContext, type JobOutcome, PRESIGN_SEC, encodeWithRetry, inJobDir, refuseQuality } from "./job.ts";
import { publish, sha256File, skipSource } from "./publish.ts";
import { PROBE_SEC, type StreamVerdict, streamVerdict } from "./stream-savings.ts";
import { VerifyError, compareFingerprints, decodeTail } from "./verify.ts";

type Verdicts = Map<number, StreamVerdict>;

/** Each encodable stream's first PROBE_SEC encoded alone, one after another, against its own source bytes. */
async function measureStreams(ctx: JobContext, input: string, media: MediaInfo, streams: StreamInfo[], profile: EncodeProfile, dir: string, signal: AbortSignal): Promise<Verdicts> {
  const seconds = media.durationSec > 0 ? Math.min(PROBE_SEC, media.durationSec) : PROBE_SEC;
  const timeoutSec = ctx.clients.config.probeTimeoutSec;
  const verdicts: Verdicts = new Map();
  for (const s of streams.filter(isEncodable)) {
    const file = path.join(dir, `probe-${s.index}.mkv`);
    const r = await runMedia("ffmpeg", probeSegmentArgs(input, s, seconds, ctx.encoder, profile, ctx.x264Preset, file), { stallSec: timeoutSec, cancelSignal: signal, reject: false });
    signal.throwIfAborted();
    if (r.stalled) throw new MediaStalledError(`ffmpeg made no progress for ${timeoutSec}s encoding the probe of stream ${s.index}`);
    if (r.exitCode !== 0) throw new EncodeError(`encode failed: stream ${s.index} (${s.type}, ${s.codec}): ${String(r.stderr).split("\n")[0]}`, false);
    verdicts.set(s.index, streamVerdict({ sourceBytes: s.windowBytes, sourceSec: seconds, encodedBytes: await streamBytes(file, timeoutSec), encodedSec: seconds }));
  }
  return verdicts;
}

/** Pure: how the output's streams differ from the plan's (order, type, codec); empty when they do not. */
export function archiveProblems(out: StreamInfo[], outMedia: MediaInfo, source: MediaInfo, plan: ArchivePlan): string[] {
  const problems: string[] = [];
  if (out.length !== plan.streams.length) problems.push(`${out.length} streams, expected ${plan.streams.length}`);
  plan.streams.forEach((want, i) => {
    const got = out[i];
    if (got && (got.type !== want.type || got.codec !== want.codec)) problems.push(`stream ${i} is ${got.type} ${got.codec}, expected ${want.type} ${want.codec}`);
  });
  if (!isCompressedMedia(outMedia)) problems.push("the container tag is missing");
  const slack = Math.max(1, source.durationSec * 0.01);
  if (source.durationSec > 0 && Math.abs(outMedia.durationSec - source.durationSec) > slack) {
    problems.push(`duration is ${outMedia.durationSec.toFixed(2)} s, source ${source.durationSec.toFixed(2)} s`);
  }
  return problems;
}

/** Throws VerifyError with every problem: streams as planned, the end decodes, the pictures are the source's. */
async function verifyArchive(file: string, job: EncodeJob, source: MediaInfo, plan: ArchivePlan, timeoutSec: number): Promise<MediaInfo> {
  const times = pickVerifyTimes(job.fingerprints);
  const [media, streams, tail, decoded] = await Promise.all([
    probeMedia(file, { timeoutSec }),
    probeStreams(file, { windowSec: 0, timeoutSec }),
    decodeTail(file, timeoutSec),
    fingerprintAt(file, times, { timeoutSec }).catch(() => []),
  ]);
  const problems = archiveProblems(streams, media, source, plan);
  if (tail) problems.push(tail);
  const frames = compareFingerprints(job.fingerprints.filter((f) => times.includes(f.t)), decoded);
  if (!frames.ok) problems.push(`content differs: ${frames.reason}`);
  if (problems.length) throw new VerifyError(`output failed verification: ${problems.join("; ")}`);
  return media;
}

export async function archiveAndPublish(ctx: JobContext, job: EncodeJob, signal: AbortSignal): Promise<JobOutcome> {
  const { clients } = ctx;
  const profile = job.profile!;
  const timeoutSec = clients.config.probeTimeoutSec;
  const url = await presignedGetUrl(clients, job.key, PRESIGN_SEC);
  const [media, streams] = await Promise.all([probeMedia(url, { timeoutSec, sizeBytes: job.size }), probeStreams(url, { windowSec: PROBE_SEC, timeoutSec })]);
  return inJobDir(ctx, job, async (dir) => {
    const verdicts = await measureStreams(ctx, url, media, streams, profile, dir, signal);
    for (const [index, v] of verdicts) ctx.log("stream_verdict", { key: job.key, stream: index, ...v });
    if (![...verdicts.values()].some((v) => v.action === "encoded")) {
      const reason = `profile ${profile.name}: no video or audio stream would come out below 0.9 × its source`;
      return { kind: "skipped", skipKey: await skipSource(clients, job, reason), reason };
    }
    const plan = buildArchivePass({ input: url, media, streams, verdicts, encoder: ctx.encoder, profile, x264Preset: ctx.x264Preset, sampleTimes: job.fingerprints.map((f) => f.t) });
    for (const note of plan.notes) ctx.log("job_note", { key: job.key, note });
    const pass = await encodeWithRetry(ctx, plan, { dir, signal, outputFile: ARCHIVE_OUTPUT, onProgress: (p) => ctx.onProgress?.(job, p) });
    if (pass.kind !== "encoded") throw new Error(`the archive pass stopped: ${pass.reason}`);
    // The last moment a stop hands the job back; once publishing starts it runs to the end.
    signal.throwIfAborted();
    const size = { width: media.video.width, height: media.video.height };
    const previewFile = path.join(dir, PASS_FILES.preview);
    const [sha256, outMedia, quality, preview] = await Promise.all([
      sha256File(pass.output),
      verifyArchive(pass.output, job, media, plan, timeoutSec),
      measureQuality({ output: pass.output, source: url, sourceOptions: networkArgs(url), size, windows: qualityWindows(media.durationSec), stallSec: timeoutSec }),
      // The archive pass copies streams it cannot shrink, so its preview is made from the output, as a merge's is.
      makePreview(pass.output, media, previewFile, { upright: uprightFilters(media.video.rotation), stallSec: timeoutSec }).then((made) => (made ? previewFile : undefined)),
    ]);
    // Visually lossless is the archive's promise: the same floor as every output holds it to it.
    const low = belowFloor(quality, ctx.minSsim ?? DEFAULT_MIN_SSIM);
    if (low) return refuseQuality(clients, job, low, quality);
    const encode = { profile, encoder: ctx.encoder, videoArgs: plan.videoArgs, streams: plan.streams.map(({ index, type, action, reason }) => ({ index, type, action, reason })) };
    const done = await publish(clients, job, { file: pass.output, montage: pass.montage, preview, sha256, media: outMedia, fingerprints: pass.fingerprints, quality, encode });
    return { kind: "compressed", outputKey: job.outputKey, savedBytes: done.savedBytes, backupKey: done.backupKey };
  });
}
