// The probe's frames, taken once for everything that needs them: fingerprints, picture stats and the
// report's thumbnail come out of the same ffmpeg process. A local file short enough is decoded once,
// sampling by `select`; a longer one, or a URL, is sampled by seeks.
import path from "node:path";
import { readFile, stat } from "node:fs/promises";
import { safeInputArgs, UnreadableMediaError } from "./ffprobe.ts";
import { MediaStalledError, runMedia, throwIfStoreFailed } from "./run.ts";
import { FINGERPRINT_FILTER, FINGERPRINT_SIDE, fingerprintFrame, parseFrameTimes, seekBackSec, seekTo, selectAt } from "./fingerprint.ts";
import { analysisSize, measurePicture, type AnalysisFrame } from "./picture.ts";
import type { FrameFingerprint, MediaInfo, PictureStats } from "../schemas.ts";
import { mapLimit } from "../pool.ts";

export type Sampled = { fingerprints: FrameFingerprint[]; picture: PictureStats; thumbnail?: string };

/**
 * Decoding every frame beats seeking while the video has at most this many frames (seeks decode from
 * their keyframe, up to a GOP each, and a process per batch of them); measured on 320×240 to 1080p clips.
 */
const FULL_DECODE_FRAMES = 3000;
/** A URL gets one seek per process: an idle input's connection still fills socket buffers nobody reads. */
const PARALLEL_PROCESSES = 4;
const THUMBNAIL_WIDTH = 320;
const FP_BYTES = FINGERPRINT_SIDE * FINGERPRINT_SIDE;

type Spec = {
  times: number[];
  /** The picture as shown (after rotation). */
  width: number;
  height: number;
  timeoutSec: number;
  /** Where the thumbnail and frame times are written. */
  dir: string;
  /** How far before each time a seek starts (fingerprint.ts seekBackSec). */
  seekBackSec: number;
};

/** Frames as shown: ffmpeg's autorotate turns quarter-rotated pictures upright. */
export function shownSize(media: MediaInfo): { width: number; height: number } {
  const quarter = Math.abs(Math.round((media.video.rotation ?? 0) / 90)) % 2 === 1;
  return quarter ? { width: media.video.height, height: media.video.width } : { width: media.video.width, height: media.video.height };
}

/** From sampled frames at [s]: fingerprint frames to pipe:1, analysis frames to pipe:3, maybe frame `thumb` to a JPEG. */
function outputsFrom(spec: Spec, thumb: number | undefined): { graph: string; args: string[] } {
  const a = analysisSize(spec.width, spec.height);
  const chains = [`[s]split=${thumb === undefined ? 2 : 3}[a][b]${thumb === undefined ? "" : "[c]"}`, `[a]${FINGERPRINT_FILTER}[fp]`, `[b]scale=${a.width}:${a.height}:flags=area,format=yuv420p[an]`];
  const args = ["-map", "[fp]", "-fps_mode", "passthrough", "-f", "rawvideo", "pipe:1", "-map", "[an]", "-fps_mode", "passthrough", "-f", "rawvideo", "pipe:3"];
  if (thumb !== undefined) {
    chains.push(`[c]select='eq(n,${thumb})',scale=${THUMBNAIL_WIDTH}:-2[th]`);
    args.push("-map", "[th]", "-frames:v", "1", "-q:v", "4", "-update", "1", "-f", "image2", path.join(spec.dir, "thumbnail.jpg"));
  }
  return { graph: chains.join(";"), args };
}

type Frames = { prints: Uint8Array[]; analysis: AnalysisFrame[] };

async function runFfmpeg(args: string[], spec: Spec, what: string): Promise<Frames | undefined> {
  const r = await runMedia("ffmpeg", ["-hide_banner", "-nostdin", "-v", "error", ...args], {
    stallSec: spec.timeoutSec,
    encoding: "buffer",
    stdio: ["ignore", "pipe", "pipe", "pipe"],
  });
  if (r.stalled) throw new MediaStalledError(`ffmpeg made no progress for ${spec.timeoutSec}s to ${what}`);
  if (r.exitCode !== 0) throwIfStoreFailed(r.stderr, `ffmpeg, to ${what}`);
  if (r.exitCode !== 0) return undefined;
  const fp = r.stdout as Uint8Array;
  const an = r.stdio[3] as Uint8Array;
  const a = analysisSize(spec.width, spec.height);
  const anBytes = (a.width * a.height * 3) / 2;
  const n = Math.min(Math.floor(fp.length / FP_BYTES), Math.floor(an.length / anBytes));
  return {
    prints: Array.from({ length: n }, (_, i) => fp.subarray(i * FP_BYTES, (i + 1) * FP_BYTES)),
    analysis: Array.from({ length: n }, (_, i) => ({ ...a, data: an.subarray(i * anBytes, (i + 1) * anBytes) })),
  };
}

/** One decode of a local file; each time gets the first frame at or after it, as a seek would. */
async function decodeOnce(file: string, spec: Spec): Promise<Array<{ t: number; print: Uint8Array; analysis: AnalysisFrame }>> {
  const timesFile = path.join(spec.dir, "frame-times.txt");
  const out = outputsFrom(spec, Math.floor(spec.times.length / 2));
  // Frames without metadata print nothing: tag each, so its time is printed.
  const graph = `[0:v:0]${selectAt(spec.times)},metadata=mode=add:key=reelpress:value=sample,metadata=mode=print:file=${timesFile}[s];${out.graph}`;
  const frames = await runFfmpeg([...safeInputArgs(file), "-filter_complex", graph, ...out.args], spec, "decode it");
  if (!frames) return [];
  const frameTimes = parseFrameTimes(await readFile(timesFile, "utf8").catch(() => ""));
  return spec.times.flatMap((t) => {
    const i = frameTimes.findIndex((ft, j) => j < frames.prints.length && ft >= t - 1e-6);
    return i < 0 ? [] : [{ t, print: frames.prints[i], analysis: frames.analysis[i] }];
  });
}

/** Seeks, `perProcess` per ffmpeg process; a batch where one comes back empty is retried one by one. */
async function seekEach(input: string, spec: Spec, perProcess: number): Promise<Array<{ t: number; print: Uint8Array; analysis: AnalysisFrame }>> {
  const middle = Math.floor(spec.times.length / 2);
  const grab = async (times: number[], first: number) => {
    const seeks = times.map((t) => seekTo(t, spec.seekBackSec));
    const inputs = seeks.flatMap((s) => ["-rw_timeout", String(Math.round(spec.timeoutSec * 1e6)), "-ss", s.ss, ...safeInputArgs(input)]);
    const trims = seeks.map((s, i) => `[${i}:v:0]${s.pick}trim=end_frame=1[t${i}]`);
    const joined = `${times.map((_, i) => `[t${i}]`).join("")}concat=n=${times.length}:v=1:a=0,setpts=N/TB[s]`;
    const thumb = middle >= first && middle < first + times.length ? middle - first : undefined;
    const out = outputsFrom(spec, thumb);
    const frames = await runFfmpeg([...inputs, "-filter_complex", [...trims, joined, out.graph].join(";"), ...out.args], spec, `seek to ${times.join(", ")}s`);
    return frames && frames.prints.length === times.length ? times.map((t, i) => ({ t, print: frames.prints[i], analysis: frames.analysis[i] })) : undefined;
  };
  const batches: number[] = [];
  for (let i = 0; i < spec.times.length; i += perProcess) batches.push(i);
  const found = await mapLimit(batches, PARALLEL_PROCESSES, async (first) => {
    const times = spec.times.slice(first, first + perProcess);
    // One seek came back empty (near the end, or a damaged stretch): take the others one by one.
    return (await grab(times, first)) ?? (times.length > 1 ? (await Promise.all(times.map((t, i) => grab([t], first + i)))).flatMap((f) => f ?? []) : []);
  });
  return found.flat();
}

/**
 * Fingerprints, picture stats and a thumbnail from frames at `times` of a local file or a presigned
 * URL, with as few processes as pay. Times where no frame decodes are left out; a video where none
 * does is unreadable.
 */
export async function sampleVideo(input: string, media: MediaInfo, opts: { times: number[]; timeoutSec: number; dir: string }): Promise<Sampled> {
  const spec: Spec = { ...opts, ...shownSize(media), seekBackSec: seekBackSec(media.formatName) };
  const local = !/^https?:/i.test(input);
  const frames = media.durationSec * (media.video.fps ?? 30);
  const taken = !local ? await seekEach(input, spec, 1) : frames <= FULL_DECODE_FRAMES ? await decodeOnce(input, spec) : await seekEach(input, spec, spec.times.length);
  if (taken.length === 0) throw new UnreadableMediaError("no frame could be decoded for fingerprints");
  const fingerprints = taken.map((f) => fingerprintFrame(f.print, f.t));
  const picture = measurePicture(
    taken.map((f) => f.analysis),
    taken.map((f) => f.print),
    fingerprints.map((f) => !f.dark),
  );
  const thumbnail = path.join(opts.dir, "thumbnail.jpg");
  const hasThumbnail = await stat(thumbnail).then((st) => st.size > 0, () => false);
  return { fingerprints, picture, ...(hasThumbnail ? { thumbnail } : {}) };
}
