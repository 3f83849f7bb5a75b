// A profile's video encoder options, as ffmpeg arguments: the compat profile is exactly the encode of
// before profiles; others set encoder, CRF (NVENC: constant quality), preset and checked encoder params.
import { COMPAT, profileRefusal, type EncodeProfile } from "../shared/rules/profiles.ts";
import { type EncoderKind, videoEncoderArgs } from "./encode-args.ts";

/** NVENC's presets for x264's names: the slower the x264 preset, the slower (better) the NVENC one. */
const NVENC_PRESETS: Record<string, string> = {
  ultrafast: "p1", superfast: "p1", veryfast: "p2", faster: "p3", fast: "p4", medium: "p5", slow: "p6", slower: "p7", veryslow: "p7", placebo: "p7",
};

/** The codec a profile's video streams come out in, as ffprobe names it. */
export function profileCodec(profile: EncodeProfile | undefined): "h264" | "hevc" {
  return profile?.encoder === "x265" ? "hevc" : "h264";
}

/**
 * The video encoder options of `profile` for the output stream `stream` ("v", or an output stream's
 * index such as "2" when an MKV holds several). `runnerPreset`: REELPRESS_X264_PRESET, for profiles that set none. `container`:
 * an MP4 gets 8-bit 4:2:0 High/Main for players; the archive's MKV keeps the source's pixel format.
 */
export function profileVideoArgs(encoder: EncoderKind, profile: EncodeProfile = COMPAT, runnerPreset: string, stream = "v", container: "mp4" | "mkv" = "mp4"): string[] {
  const refused = profileRefusal(profile);
  // The job check refuses such a job first; this is the last guard before anything reaches ffmpeg.
  if (refused) throw new Error(`profile refused: ${refused}`);
  if (profile.name === COMPAT.name && stream === "v" && container === "mp4") return videoEncoderArgs(encoder, runnerPreset);
  const o = (name: string) => `-${name}:${stream}`;
  const mp4 = container === "mp4";
  const hevc = profile.encoder === "x265";
  if (encoder === "nvenc") {
    return [
      o("c"), hevc ? "hevc_nvenc" : "h264_nvenc", o("preset"), NVENC_PRESETS[profile.preset ?? runnerPreset] ?? "p5", o("tune"), "hq",
      ...(mp4 ? [o("profile"), hevc ? "main" : "high"] : []),
      o("rc"), "vbr", o("cq"), String(profile.quality), o("b"), "0", o("spatial-aq"), "1", o("temporal-aq"), "1", o("rc-lookahead"), "32",
      ...(hevc ? [] : [o("bf"), "3"]),
    ];
  }
  const params = Object.entries(profile.params ?? {}).map(([k, v]) => `${k}=${v}`);
  const args = [o("c"), hevc ? "libx265" : "libx264", o("preset"), profile.preset ?? runnerPreset, o("crf"), String(profile.quality)];
  if (mp4) args.push(...(hevc ? [o("tag"), "hvc1"] : [o("profile"), "high"]), o("pix_fmt"), "yuv420p");
  if (hevc) args.push(o("x265-params"), ["log-level=error", ...params].join(":"));
  else if (params.length) args.push(o("x264-params"), params.join(":"));
  return args;
}
