// The ffmpeg commands of the archive profile (videoArchiver), as pure functions: a probe segment per
// stream, then one pass that writes every stream in the source's order into MKV (each video and audio
// stream encoded or kept as the per-stream rule said), with all metadata, and from the same decode the
// fingerprints and the montage.
import { safeInputArgs } from "../shared/media/ffprobe.ts";
import type { StreamInfo } from "../shared/media/streams.ts";
import { COMPRESSED_MARK, STATE_METADATA_KEY } from "../shared/rules/decision.ts";
import type { EncodeProfile } from "../shared/rules/profiles.ts";
import type { MediaInfo } from "../shared/schemas.ts";
import { type EncoderKind, networkArgs, sampleOutputs } from "./encode-args.ts";
import { profileCodec, profileVideoArgs } from "./profile-args.ts";

export const ARCHIVE_OUTPUT = "output.mkv";
/** videoArchiver's audio: Opus at 128 kbit/s. */
export const ARCHIVE_AUDIO = ["libopus", "128k"] as const;
/** The container tag naming the profile an output was made with. */
export const PROFILE_TAG = "reelpress-profile";

/** The streams the per-stream rule decides on: video (not cover pictures) and audio. */
export function isEncodable(s: StreamInfo): boolean {
  return (s.type === "video" && !s.attachedPic) || s.type === "audio";
}

/** Encoder options for one encodable stream, as output stream `out` (an index, or "v"/"a" in a probe segment). */
export function streamCodecArgs(s: StreamInfo, out: string, encoder: EncoderKind, profile: EncodeProfile, x264Preset: string): string[] {
  if (s.type === "audio") return [`-c:${out}`, ARCHIVE_AUDIO[0], `-b:${out}`, ARCHIVE_AUDIO[1]];
  return [...profileVideoArgs(encoder, profile, x264Preset, out, "mkv"), `-fps_mode:${out}`, "passthrough"];
}

/** The first `seconds` of one stream, alone, encoded as the pass would: its bytes decide keep or encode. */
export function probeSegmentArgs(input: string, s: StreamInfo, seconds: number, encoder: EncoderKind, profile: EncodeProfile, x264Preset: string, output: string): string[] {
  const out = s.type === "audio" ? "a" : "v";
  return [
    "-hide_banner", "-nostdin", "-v", "error", "-y", "-noautorotate", ...networkArgs(input), ...safeInputArgs(input),
    "-map", `0:${s.index}`, "-t", String(seconds), ...streamCodecArgs(s, out, encoder, profile, x264Preset),
    "-map_metadata", "-1", "-f", "matroska", output,
  ];
}

export type ArchiveStream = { index: number; type: string; action: "encoded" | "kept"; codec: string; reason: string };

export type ArchivePlan = {
  args: string[];
  /** The output's streams in order: the source stream each comes from, and the codec it must probe as. */
  streams: ArchiveStream[];
  /** The video options encoded streams get (recorded with the output). */
  videoArgs: string[];
  sampleTimes: number[];
  /** The montage's tiles a side (sampleOutputs). */
  montageGrid: number;
  /** Why a source stream is not in the output (MKV holds no data streams). */
  notes: string[];
};

export type ArchiveSpec = {
  input: string;
  media: MediaInfo;
  streams: StreamInfo[];
  /** Per source stream index the per-stream rule ruled on: what it said and why. */
  verdicts: ReadonlyMap<number, { action: "encoded" | "kept"; reason: string }>;
  encoder: EncoderKind;
  profile: EncodeProfile;
  x264Preset: string;
  sampleTimes: number[];
};

export function buildArchivePass(spec: ArchiveSpec): ArchivePlan {
  const { encoder, profile, x264Preset, media } = spec;
  const size = { width: media.video.width, height: media.video.height };
  const samples = sampleOutputs(media, size, spec.sampleTimes, []);
  const graph = ["[0:V:0]format=yuv420p,split=2[fp][mt]", ...samples.graph].join(";");
  const maps: string[] = [];
  const streams: ArchiveStream[] = [];
  const notes: string[] = [];
  for (const s of spec.streams) {
    if (s.type === "data") {
      notes.push(`stream ${s.index} (data, ${s.codec}) dropped: MKV holds no data streams`);
      continue;
    }
    const out = String(streams.length);
    const verdict = spec.verdicts.get(s.index);
    maps.push("-map", `0:${s.index}`);
    if (isEncodable(s) && verdict?.action === "encoded") {
      maps.push(...streamCodecArgs(s, out, encoder, profile, x264Preset));
      streams.push({ index: s.index, type: s.type, action: "encoded", codec: s.type === "audio" ? "opus" : profileCodec(profile), reason: verdict.reason });
    } else if (s.type === "subtitle" && s.codec === "mov_text") {
      // MP4's own text subtitles have no place in MKV: the same text as SubRip.
      maps.push(`-c:${out}`, "srt");
      streams.push({ index: s.index, type: s.type, action: "kept", codec: "subrip", reason: "mov_text as SubRip, the same text" });
    } else {
      maps.push(`-c:${out}`, "copy");
      streams.push({ index: s.index, type: s.type, action: "kept", codec: s.codec, reason: verdict?.reason ?? "passed through" });
    }
  }
  const encoded = streams.find((s) => s.action === "encoded" && s.type === "video");
  const args = [
    "-hide_banner", "-nostdin", "-v", "error", "-nostats", "-progress", "pipe:1", "-y",
    "-noautorotate", ...networkArgs(spec.input), ...safeInputArgs(spec.input),
    "-filter_complex", graph,
    ...maps,
    // Global tags, chapters and each stream's tags pass through; the mark keeps the output from being a source again.
    "-map_metadata", "0", "-map_chapters", "0",
    "-metadata", `${STATE_METADATA_KEY}=${COMPRESSED_MARK}`, "-metadata", `${PROFILE_TAG}=${profile.name}`,
    "-max_muxing_queue_size", "4096", "-f", "matroska", ARCHIVE_OUTPUT,
    ...samples.args,
  ];
  return {
    args,
    streams,
    videoArgs: encoded ? profileVideoArgs(encoder, profile, x264Preset, "v", "mkv") : [],
    sampleTimes: spec.sampleTimes,
    montageGrid: samples.grid,
    notes,
  };
}
