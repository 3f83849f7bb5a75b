// The decision table (DESIGN.md, compress_v3): what to do with one probed object, as a pure function.
import { extensionOf, isLegacyCompressedKey } from "./naming.ts";
import type { Decision, EncodeProfile, MediaInfo } from "../schemas.ts";
import { COMPAT } from "./profiles.ts";

/** The state value reelpress writes into user metadata and the MP4 container tag of its outputs. */
export const COMPRESSED_MARK = "compressed_h264_v4";
/** What the v2 system wrote into its HEVC outputs. */
export const LEGACY_V2_MARK = "compressed_hevc_v2";
export const STATE_METADATA_KEY = "reelpress-state";

/** Below this an MP4 H.264 file is already small enough: skip. */
export const SKIP_BELOW_BPS = 500_000;
/** The rows that re-encode for size must save at least this fraction, or the file becomes `_skip`. */
export const MUST_SAVE = 0.05;

/** Tags hold the mark under whatever name the writer used (comment, reelpress-state, …): match on the value. */
function tagged(tags: Record<string, string>, mark: string): boolean {
  return Object.values(tags).some((v) => v.trim() === mark);
}

export function isCompressedMedia(media: Pick<MediaInfo, "tags">): boolean {
  return tagged(media.tags, COMPRESSED_MARK);
}

export function isCompressedMetadata(metadata: Record<string, string>): boolean {
  return metadata[STATE_METADATA_KEY] === COMPRESSED_MARK;
}

/** 4K: max side ≥ 3840 or min side ≥ 2160, so portrait and ultra-wide clips count too. */
export function is4k(width: number, height: number): boolean {
  return Math.max(width, height) >= 3840 || Math.min(width, height) >= 2160;
}

/** The container's bitrate, else size×8/duration; undefined when neither is known. */
export function bitrateOf(media: MediaInfo, sizeBytes?: number): number | undefined {
  if (media.bitrate !== undefined && media.bitrate > 0) return media.bitrate;
  if (sizeBytes !== undefined && media.durationSec > 0) return Math.round((sizeBytes * 8) / media.durationSec);
  return undefined;
}

const mbps = (bps: number) => `${(bps / 1e6).toFixed(2)} Mbit/s`;

const CODEC_NAMES: Record<string, string> = { h264: "H.264", hevc: "HEVC", av1: "AV1", vp9: "VP9", mpeg4: "MPEG-4", vp8: "VP8" };
const codecName = (codec: string) => CODEC_NAMES[codec] ?? codec;

const encode = (reason: string, downscale: boolean, mustSave: number): Decision => ({ action: "encode", downscale, mustSave, reason });

/**
 * Decides encode, skip or ignore for one object from what ffprobe read, the key it lives at and its
 * folder's profile; every encode row names the profile. `sizeBytes` gives the bitrate when the
 * container has none.
 */
export function decide(media: MediaInfo, key: string, sizeBytes?: number, profile: EncodeProfile = COMPAT): Decision {
  if (isCompressedMedia(media)) {
    return { action: "ignore", downscale: false, mustSave: 0, reason: `already compressed (${COMPRESSED_MARK} tag)` };
  }
  // The archive keeps every stream at full size: the per-stream rule (gpu-runner/stream-savings.ts) decides what saves.
  if (profile.base === "archive") {
    return { action: "encode", downscale: false, mustSave: 0, reason: `profile ${profile.name}: every stream kept, each re-encoded only where it saves ≥ 10 %, in MKV`, profile };
  }
  const decision = compatRow(media, key, sizeBytes);
  if (decision.action !== "encode") return decision;
  return { ...decision, reason: profile.name === COMPAT.name ? decision.reason : `profile ${profile.name}: ${decision.reason}`, profile };
}

/** compress v3's table, the rows of the compat profile and of custom profiles built on it. */
function compatRow(media: MediaInfo, key: string, sizeBytes?: number): Decision {
  const { codec, width, height } = media.video;
  const k4 = is4k(width, height);
  const dims = `${width}×${height}`;
  // Legacy v2 outputs and their `_compressed` renames are HEVC: back to H.264 for compatibility.
  if (tagged(media.tags, LEGACY_V2_MARK) || isLegacyCompressedKey(key)) {
    const what = tagged(media.tags, LEGACY_V2_MARK) ? `legacy v2 output (${LEGACY_V2_MARK})` : "legacy _compressed file without the v4 tag";
    return encode(`${what}: re-encode to H.264${k4 ? `, downscale ${dims}` : ""}`, k4, 0);
  }
  const ext = extensionOf(key);
  if (ext !== "mp4") {
    return k4
      ? encode(`not MP4 (.${ext}), 4K ${dims}: H.264, downscale to 1080p`, true, 0)
      : encode(`not MP4 (.${ext}), below 4K: H.264 MP4`, false, 0);
  }
  if (k4) return encode(`MP4 ${codecName(codec)}, 4K ${dims}: H.264, downscale to 1080p`, true, 0);
  if (codec === "hevc" || codec === "av1") return encode(`MP4 ${codecName(codec)}: H.264 for compatibility`, false, 0);
  if (codec === "h264") {
    const bps = bitrateOf(media, sizeBytes);
    if (bps === undefined) return encode(`MP4 H.264, bitrate unknown: H.264, must save ≥ ${MUST_SAVE * 100} %`, false, MUST_SAVE);
    if (bps < SKIP_BELOW_BPS) {
      return { action: "skip", downscale: false, mustSave: 0, reason: `MP4 H.264 at ${mbps(bps)}, below ${mbps(SKIP_BELOW_BPS)}: skip` };
    }
    return encode(`MP4 H.264 at ${mbps(bps)}: H.264, must save ≥ ${MUST_SAVE * 100} %`, false, MUST_SAVE);
  }
  return encode(`MP4 ${codecName(codec)}: H.264, must save ≥ ${MUST_SAVE * 100} %`, false, MUST_SAVE);
}
