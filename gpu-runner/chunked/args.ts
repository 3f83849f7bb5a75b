// The ffmpeg commands of a chunked job, as pure functions: split the video at keyframes by stream copy,
// encode one chunk, and the merge pass (join without re-encoding, the audio once, fingerprints, montage).
import { safeInputArgs } from "../../shared/media/ffprobe.ts";
import type { MediaInfo } from "../../shared/schemas.ts";
import {
  type EncoderKind, type PassPlan, type Size, PASS_FILES, forcedKeyframeArgs, montageGrid, montageTimes, networkArgs, sampleOutputs, sideStreams, usesNvdec, videoEncoderArgs,
} from "../encode-args.ts";

export const SEGMENT_LIST = "segments.csv";
export const segmentFile = (i: number) => `seg-${String(i).padStart(4, "0")}.mkv`;
export const CONCAT_LIST = "concat.txt";

/**
 * The source's video, cut before each of `cutSec` (keyframe times, the source's own timestamps) by
 * stream copy: no re-encode, video only (the merge takes the audio from the source, once), each segment's
 * timestamps from zero. Matroska holds any codec a source may have.
 */
export function segmentArgs(input: string, cutSec: number[]): string[] {
  return [
    // The cut times are the source's own packet times: without -copyts ffmpeg subtracts the container's start
    // (an MPEG-TS starts at 1.4 s or so), and without `disabled` the muxer shifts every packet by the B-frame
    // decode delay (MKV, MP4: first DTS -0.08 s), so a keyframe at 8 s would be cut and listed at 8.08 s.
    "-hide_banner", "-nostdin", "-v", "error", "-nostats", "-progress", "pipe:1", "-y", "-copyts", ...safeInputArgs(input),
    "-map", "0:V:0", "-c", "copy", "-an", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1", "-avoid_negative_ts", "disabled",
    // Bit-exact (no random segment UID): a split done again stores the same bytes as an earlier one.
    "-fflags", "+bitexact", "-f", "segment", ...(cutSec.length ? ["-segment_times", cutSec.map((t) => t.toFixed(6)).join(",")] : []),
    // A cut lands on the keyframe at the planned time even when the float printed here is a hair off.
    "-segment_time_delta", "0.0005", "-reset_timestamps", "1",
    "-segment_list", SEGMENT_LIST, "-segment_list_type", "csv", "seg-%04d.mkv",
  ];
}

export type ChunkEncodeSpec = {
  input: string;
  output: string;
  /** The segment's own media (NVDEC decodes it on the GPU when it can). */
  media: MediaInfo;
  encoder: EncoderKind;
  x264Preset: string;
  size: Size;
  /** Chunk-relative times the merge and verification decode at: forced keyframes there. */
  keyframeTimes: number[];
};

/**
 * One chunk with the job's encoder and settings. The first frame of an encode is an IDR frame and x264's
 * GOPs are closed, so chunks join into one valid stream; `passthrough` keeps every frame at its own
 * timestamp (variable frame rates survive, no frame is duplicated or dropped).
 */
export function chunkEncodeArgs(spec: ChunkEncodeSpec): string[] {
  const { width, height } = spec.size;
  const nvenc = spec.encoder === "nvenc";
  const nvdec = nvenc && usesNvdec(spec.media);
  const scale = width !== spec.media.video.width || height !== spec.media.video.height ? `scale=${width}:${height},` : "";
  const filter = nvenc ? `${nvdec ? "" : "format=nv12,hwupload_cuda,"}scale_cuda=${width}:${height}:format=nv12` : `${scale}format=yuv420p`;
  return [
    "-hide_banner", "-nostdin", "-v", "error", "-nostats", "-progress", "pipe:1", "-y",
    ...(nvdec ? ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"] : []), "-noautorotate", ...safeInputArgs(spec.input),
    "-map", "0:V:0", "-vf", filter, ...videoEncoderArgs(spec.encoder, spec.x264Preset), ...forcedKeyframeArgs(spec.encoder, spec.keyframeTimes),
    "-fps_mode", "passthrough", "-an", "-sn", "-dn", "-map_metadata", "-1", "-map_chapters", "-1", "-f", "mp4", spec.output,
  ];
}

/**
 * Pure: the chunk's frames the merge decodes (fingerprints and montage tiles: for each source time, the
 * first frame at or after it), as times from the chunk's first frame. The chunk makes keyframes exactly
 * there, so the merge decodes keyframes only, not the whole film. `frameTimes`: the segment's, in order.
 */
export function chunkKeyframeTimes(durationSec: number, sampleTimes: number[], chunk: { startSec: number; endSec: number }, formatStartSec: number, frameTimes: number[]): number[] {
  const first = frameTimes[0] ?? 0;
  const frames = frameTimes.map((t) => t - first);
  const wanted = [...sampleTimes, ...montageTimes(durationSec, montageGrid(durationSec))].map((t) => t + formatStartSec - chunk.startSec);
  const hits = wanted.map((t) => frames.find((f) => f >= t - 1e-6)).filter((f): f is number => f !== undefined && f > 0);
  return [...new Set(hits)].sort((a, b) => a - b);
}

/** The concat demuxer's list: each chunk lasts until the next one starts, so the joined timestamps are the source's. */
export function concatList(chunks: Array<{ file: string; startSec: number; endSec: number }>): string {
  return chunks.map((c, i) => `file '${c.file}'\n${i < chunks.length - 1 ? `duration ${(c.endSec - c.startSec).toFixed(6)}\n` : ""}`).join("");
}

export type MergeSpec = {
  /** The source, for its audio, subtitles and metadata (a presigned URL or a path). */
  source: string;
  media: MediaInfo;
  size: Size;
  /** Where the first chunk's first frame sits after the source's start. */
  videoOffsetSec: number;
  sampleTimes: number[];
  keyframeTimes: number[];
};

/**
 * The merge, shaped as the one-pass plan (runPass, verifyOutput and publish take it as they are): the
 * chunks joined by stream copy, the source's audio copied (or made AAC) once over the whole duration,
 * and from the joined video's keyframes the fingerprints and the montage. Runs where CONCAT_LIST is.
 */
export function buildMerge(spec: MergeSpec): PassPlan {
  const samples = sampleOutputs(spec.media, spec.size, spec.sampleTimes, []);
  const side = sideStreams(spec.media, 1);
  const args = [
    "-hide_banner", "-nostdin", "-v", "error", "-nostats", "-progress", "pipe:1", "-y",
    // Only keyframes are decoded (the chunks made one at every time sampled); the video itself is copied.
    "-noautorotate", "-skip_frame", "nokey", "-itsoffset", spec.videoOffsetSec.toFixed(6), "-f", "concat", "-i", CONCAT_LIST,
    ...networkArgs(spec.source), ...safeInputArgs(spec.source),
    "-filter_complex", ["[0:v:0]split=2[fp][mt]", ...samples.graph].join(";"),
    "-map", "0:v:0", "-c:v", "copy", ...side.args,
    "-max_muxing_queue_size", "4096", "-f", "mp4", PASS_FILES.output,
    ...samples.args,
  ];
  return { args, size: spec.size, audioCodecs: side.audioCodecs, keptSubtitles: side.keptSubtitles, montageGrid: samples.grid, preview: false, sampleTimes: spec.sampleTimes, keyframeTimes: spec.keyframeTimes, notes: side.notes };
}
