// The one ffmpeg pass of a job, as a pure function of the source and the encoder: it encodes the MP4,
// fingerprints the frames it encodes at the source's sample times, tiles the montage and keeps the
// quality sample (the source frames the output is measured against), from one decode.
import { safeInputArgs } from "../shared/media/ffprobe.ts";
import { COMPRESSED_MARK } from "../shared/rules/decision.ts";
import { FINGERPRINT_FILTER, selectAt } from "../shared/media/fingerprint.ts";
import type { FrameFingerprint, MediaInfo } from "../shared/schemas.ts";
import { previewOutput, previewSize } from "../shared/media/preview.ts";
import { type QualitySample, sampleSelect } from "../shared/media/quality.ts";

export type EncoderKind = "nvenc" | "x264";

/** Names of the files the pass writes, relative to its job folder (ffmpeg runs there). */
export const PASS_FILES = {
  output: "output.mp4",
  fingerprints: "fingerprints.gray",
  fingerprintTimes: "fingerprints.txt",
  montage: "montage.jpg",
  /** The montage's frames, one by one: tiled into PASS_FILES.montage after the pass (montageArgs). */
  montageTiles: "montage-tiles.nut",
  preview: "preview.webm",
  qualitySample: "quality-sample.nut",
} as const;

export type PassSpec = {
  /** A presigned URL or a local path. */
  input: string;
  media: MediaInfo;
  encoder: EncoderKind;
  downscale: boolean;
  /** The source fingerprints' times: the pass fingerprints its own frames at the same instants. */
  sampleTimes: number[];
  /** Times verification decodes the output at: forced keyframes there make each one a single-frame decode. */
  keyframeTimes: number[];
  /** libx264 speed preset; tests use a fast one. */
  x264Preset: string;
  /** The profile's video encoder options (gpu-runner/profile-args.ts) and the codec they make; compat's by default. */
  videoArgs?: string[];
  videoCodec?: string;
  /** Keep these source frames, exactly as the encoder gets them, in PASS_FILES.qualitySample (shared/media/quality.ts). */
  qualitySample?: QualitySample;
};

export type Size = { width: number; height: number };

export type PassPlan = {
  args: string[];
  /** Stored (not displayed) dimensions of the output video. */
  size: Size;
  audioCodecs: Array<"copy" | "aac">;
  /** Text subtitle streams kept as mov_text. */
  keptSubtitles: number;
  montageGrid: number;
  /** The pass also writes PASS_FILES.preview (none for a video too small for AV1). */
  preview: boolean;
  sampleTimes: number[];
  keyframeTimes: number[];
  /** Why something of the source is not in the output (dropped subtitle streams). */
  notes: string[];
  /** The codec the pass's video comes out in; h264 when absent. */
  videoCodec?: string;
  /** The pass also writes PASS_FILES.qualitySample, these frames of the source. */
  qualitySample?: QualitySample;
};

/** Landscape box; portrait frames fit the same box turned, 1080×1920. */
const FIT_LONG = 1920;
const FIT_SHORT = 1080;
const MONTAGE_TILE = 320;

/** Quality comparable settings: NVENC constant-quality VBR and x264 CRF land close in size and look. */
const NVENC_CQ = "24";
const X264_CRF = "23";

/** Audio MP4 carries as it is; anything else (PCM, Vorbis, WMA, FLAC, MP2…) becomes AAC. */
const MP4_AUDIO = new Set(["aac", "mp3", "ac3", "eac3", "alac", "opus"]);
/** Text subtitles convert to mov_text; bitmap ones (PGS, VobSub, DVB) cannot and are dropped. */
const TEXT_SUBTITLES = new Set(["subrip", "srt", "ass", "ssa", "webvtt", "mov_text", "text"]);
/** What NVDEC decodes straight to GPU memory; other sources decode on the CPU and are uploaded. */
const NVDEC_CODECS = new Set(["h264", "hevc", "av1", "vp8", "vp9", "mpeg1video", "mpeg2video", "mpeg4", "vc1", "wmv3", "mjpeg"]);
const NVDEC_PIXFMTS = new Set(["yuv420p", "yuvj420p", "nv12", "yuv420p10le", "p010le"]);

const even = (n: number) => Math.max(2, Math.round(n / 2) * 2);

/** Output dimensions: even always, and inside 1920×1080 (1080×1920 for portrait) when downscaling. */
export function targetSize(width: number, height: number, downscale: boolean): Size {
  if (!downscale) return { width: Math.max(2, width - (width % 2)), height: Math.max(2, height - (height % 2)) };
  const [boxW, boxH] = width >= height ? [FIT_LONG, FIT_SHORT] : [FIT_SHORT, FIT_LONG];
  const s = Math.min(1, boxW / width, boxH / height);
  return { width: even(width * s), height: even(height * s) };
}

/** N of the N×N contact sheet (videoArchiver): ⌊ln(duration/2 + 1)⌋, within 1..10. */
export function montageGrid(durationSec: number): number {
  return Math.min(10, Math.max(1, Math.floor(Math.log(Math.max(0, durationSec) / 2 + 1))));
}

/** N² instants, each in the middle of its slice of the video. */
export function montageTimes(durationSec: number, grid: number): number[] {
  const tiles = grid * grid;
  return Array.from({ length: tiles }, (_, i) => Math.round(((i + 0.5) * durationSec * 1000) / tiles) / 1000);
}

/** The filters that turn stored pixels upright, as ffmpeg's autorotate does (ffprobe's rotation is counter-clockwise). */
export function uprightFilters(rotation: number | undefined): string[] {
  switch ((((Math.round(rotation ?? 0) % 360) + 360) % 360)) {
    case 90:
      return ["transpose=cclock"];
    case 180:
      return ["hflip", "vflip"];
    case 270:
      return ["transpose=clock"];
    default:
      return [];
  }
}

/** Encoder options; also used by the one-frame test encode, so a setting a GPU lacks fails there. */
export function videoEncoderArgs(encoder: EncoderKind, x264Preset: string): string[] {
  if (encoder === "nvenc") {
    return [
      "-c:v", "h264_nvenc", "-preset", "p5", "-tune", "hq", "-profile:v", "high",
      "-rc", "vbr", "-cq", NVENC_CQ, "-b:v", "0",
      "-spatial-aq", "1", "-temporal-aq", "1", "-rc-lookahead", "32", "-bf", "3",
    ];
  }
  return ["-c:v", "libx264", "-preset", x264Preset, "-crf", X264_CRF, "-profile:v", "high", "-pix_fmt", "yuv420p"];
}

/** Frames verification checks in the encoded file: a few, spread out; more only add decode time. */
export const VERIFY_FRAMES = 4;

/** Up to VERIFY_FRAMES of the source's sample times with a picture (dark frames prove nothing), evenly spread. */
export function pickVerifyTimes(fingerprints: FrameFingerprint[], count = VERIFY_FRAMES): number[] {
  const usable = fingerprints.filter((f) => !f.dark).map((f) => f.t);
  if (usable.length <= count) return usable;
  return Array.from({ length: count }, (_, i) => usable[Math.floor(((i + 0.5) * usable.length) / count)]);
}

export function forcedKeyframeArgs(encoder: EncoderKind, times: number[]): string[] {
  if (times.length === 0) return [];
  const forced = ["-force_key_frames", times.map((t) => t.toFixed(6)).join(",")];
  // NVENC turns forced frames into plain I-frames unless told to make them IDR (seekable) frames.
  return encoder === "nvenc" ? [...forced, "-forced-idr", "1"] : forced;
}

export function usesNvdec(media: MediaInfo): boolean {
  return NVDEC_CODECS.has(media.video.codec) && NVDEC_PIXFMTS.has(media.video.pixFmt ?? "");
}

/** The first stage of the graph: decoded frames scaled to `size`, 8-bit 4:2:0, split for the outputs (the preview's and the quality sample's too when asked). */
function scaleStage(spec: PassSpec, size: Size, preview: boolean): string {
  const { width, height } = spec.media.video;
  const outs = ["enc", "fp", "mt", ...(preview ? ["pv"] : []), ...(spec.qualitySample ? ["qs"] : [])];
  const split = `split=${outs.length}${outs.map((o) => `[${o}]`).join("")}`;
  if (spec.encoder === "nvenc") {
    const upload = usesNvdec(spec.media) ? "" : "format=nv12,hwupload_cuda,";
    return `[0:V:0]${upload}scale_cuda=${size.width}:${size.height}:format=nv12,${split}`;
  }
  const scale = size.width !== width || size.height !== height ? `scale=${size.width}:${size.height},` : "";
  return `[0:V:0]${scale}format=yuv420p,${split}`;
}

/** The preview branch, fed by `[pv]`: GPU frames are made small before they come back to the CPU. */
function previewStage(spec: PassSpec, size: Size): { graph: string[]; audioGraph?: string; args: string[] } {
  const nvenc = spec.encoder === "nvenc";
  const down = nvenc ? [`[pv]scale_cuda=${size.width}:${size.height}:format=nv12,hwdownload,format=nv12[pvd]`] : [];
  const out = previewOutput(spec.media, 0, nvenc ? "pvd" : "pv", size, uprightFilters(spec.media.video.rotation), PASS_FILES.preview);
  return { graph: [...down, ...out.graph], audioGraph: out.audioGraph, args: out.args };
}

/** Montage tiles: the displayed frame with its long side MONTAGE_TILE pixels. */
function tileSize(size: Size, rotation: number | undefined): Size {
  const turned = uprightFilters(rotation)[0]?.startsWith("transpose") ?? false;
  const display = turned ? { width: size.height, height: size.width } : size;
  const s = MONTAGE_TILE / Math.max(display.width, display.height);
  const tile = { width: even(display.width * s), height: even(display.height * s) };
  return turned ? { width: tile.height, height: tile.width } : tile;
}

/** The source's audio and subtitle streams in the MP4 (input `input`), with the container's metadata. */
export function sideStreams(media: MediaInfo, input: number): { args: string[]; audioCodecs: Array<"copy" | "aac">; keptSubtitles: number; notes: string[] } {
  const audioCodecs = media.audio.map((a) => (MP4_AUDIO.has(a.codec) ? ("copy" as const) : ("aac" as const)));
  const notes: string[] = [];
  const subtitleMaps: string[] = [];
  media.subtitles.forEach((s, i) => {
    if (TEXT_SUBTITLES.has(s.codec)) subtitleMaps.push("-map", `${input}:s:${i}`);
    else notes.push(`subtitle stream ${i} (${s.codec}) dropped: MP4 holds text subtitles only`);
  });
  const args = [
    "-map", `${input}:a?`, ...audioCodecs.flatMap((c, i) => (c === "copy" ? [`-c:a:${i}`, "copy"] : [`-c:a:${i}`, "aac", `-b:a:${i}`, "160k"])),
    ...subtitleMaps, ...(subtitleMaps.length ? ["-c:s", "mov_text"] : []),
    "-map_metadata", String(input), "-map_chapters", String(input), "-metadata", `comment=${COMPRESSED_MARK}`,
  ];
  return { args, audioCodecs, keptSubtitles: subtitleMaps.length / 2, notes };
}

/** The ffmpeg arguments that tile the pass's montage frames into PASS_FILES.montage (run in the job folder). */
export function montageArgs(grid: number): string[] {
  return [
    "-hide_banner", "-nostdin", "-v", "error", "-y", "-protocol_whitelist", "file", "-f", "nut", "-i", PASS_FILES.montageTiles,
    "-vf", grid > 1 ? `tile=${grid}x${grid}` : "null", "-frames:v", "1", "-q:v", "3", "-update", "1", "-f", "image2", PASS_FILES.montage,
  ];
}

/**
 * The fingerprint and montage branches of the graph, fed by `[fp]` and `[mt]` (frames of `size`; `download`
 * brings GPU frames back), and the outputs that write them.
 */
export function sampleOutputs(media: MediaInfo, size: Size, sampleTimes: number[], download: string[]): { graph: string[]; args: string[]; grid: number } {
  const grid = montageGrid(media.durationSec);
  const upright = uprightFilters(media.video.rotation);
  const tile = tileSize(size, media.video.rotation);
  const graph = [
    // Frames are tagged and their times printed, so each fingerprint is matched to its sample time.
    `[fp]${[selectAt(sampleTimes), ...download, "metadata=mode=add:key=reelpress:value=fp", `metadata=mode=print:file=${PASS_FILES.fingerprintTimes}`, FINGERPRINT_FILTER, ...upright].join(",")}[fpo]`,
    // Not tiled here: ffmpeg reports no progress until every output of the pass has its first frame, and a
    // tile comes out only once its last frame is in, near the end of the video.
    `[mt]${[selectAt(montageTimes(media.durationSec, grid)), ...download, `scale=${tile.width}:${tile.height}`, ...upright, "format=yuv420p"].join(",")}[mto]`,
  ];
  const args = [
    "-map", "[fpo]", "-fps_mode", "passthrough", "-f", "rawvideo", PASS_FILES.fingerprints,
    "-map", "[mto]", "-fps_mode", "passthrough", "-frames:v", String(grid * grid), "-c:v", "rawvideo", "-f", "nut", PASS_FILES.montageTiles,
  ];
  return { graph, args, grid };
}

/** Options that let ffmpeg ride out a dropped connection to a presigned URL. */
export function networkArgs(input: string): string[] {
  return /^https?:/.test(input) ? ["-reconnect", "1", "-reconnect_on_network_error", "1", "-reconnect_delay_max", "30", "-rw_timeout", "60000000"] : [];
}

/**
 * The quality sample's branch, fed by `[qs]`: the very frames the encoder gets (scaled, GPU frames brought
 * back), raw in a NUT with their times, each frame as it comes (no frame dropped or repeated), at most
 * `maxFrames` (its disk bound).
 */
function qualitySampleStage(sample: QualitySample, download: string[]): { graph: string[]; args: string[] } {
  return {
    graph: [`[qs]${[sampleSelect(sample), ...download].join(",")}[qso]`],
    args: ["-map", "[qso]", "-fps_mode", "passthrough", "-frames:v", String(sample.maxFrames), "-c:v", "rawvideo", "-f", "nut", PASS_FILES.qualitySample],
  };
}

export function buildPass(spec: PassSpec): PassPlan {
  const { media, encoder } = spec;
  const size = targetSize(media.video.width, media.video.height, spec.downscale);
  const download = encoder === "nvenc" ? ["hwdownload", "format=nv12"] : [];
  const samples = sampleOutputs(media, size, spec.sampleTimes, download);
  const previewAt = previewSize(media.video.width, media.video.height);
  const preview: ReturnType<typeof previewStage> = previewAt ? previewStage(spec, previewAt) : { graph: [], args: [] };
  const quality = spec.qualitySample ? qualitySampleStage(spec.qualitySample, download) : { graph: [], args: [] };
  const graph = [scaleStage(spec, size, !!previewAt), ...samples.graph, ...preview.graph, ...quality.graph].join(";");
  const side = sideStreams(media, 0);
  const hwInput = encoder === "nvenc" && usesNvdec(media) ? ["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"] : [];
  const videoArgs = spec.videoArgs ?? videoEncoderArgs(encoder, spec.x264Preset);
  const args = [
    "-hide_banner", "-nostdin", "-v", "error", "-nostats", "-progress", "pipe:1", "-y",
    // Rotation stays a display matrix, copied to the output, rather than turned pixels.
    ...hwInput, "-noautorotate", ...networkArgs(spec.input), ...safeInputArgs(spec.input),
    "-filter_complex", graph,
    // The video graph keeps one input, so the source's display matrix reaches the output.
    ...(preview.audioGraph ? ["-filter_complex", preview.audioGraph] : []),
    // Every frame at its own time: a variable frame rate is kept, no frame duplicated (the frame count is the source's).
    "-map", "[enc]", "-fps_mode:v:0", "passthrough", ...videoArgs, ...forcedKeyframeArgs(encoder, spec.keyframeTimes),
    ...side.args,
    "-max_muxing_queue_size", "4096", "-f", "mp4", PASS_FILES.output,
    ...samples.args,
    ...preview.args,
    ...quality.args,
  ];
  return {
    args, size, audioCodecs: side.audioCodecs, keptSubtitles: side.keptSubtitles, montageGrid: samples.grid, preview: !!previewAt, sampleTimes: spec.sampleTimes,
    keyframeTimes: spec.keyframeTimes, notes: side.notes, videoCodec: spec.videoCodec, ...(spec.qualitySample ? { qualitySample: spec.qualitySample } : {}),
  };
}
