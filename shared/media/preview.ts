// The preview (videoArchiver's preview level): AV1 halved until both sides are under 1000 px, every audio
// stream mixed into one 10 kbit/s Opus stream, nothing else and no metadata, in a WebM browsers play.
// The runner makes it in the encode's decode pass; makePreview makes one alone for a video no job encodes.
import type { MediaInfo } from "../schemas.ts";
import { safeInputArgs } from "./ffprobe.ts";
import { MediaStalledError, runMedia, throwIfStoreFailed } from "./run.ts";

/** Both sides end under this. */
export const PREVIEW_MAX_SIDE = 1000;
/** SVT-AV1 refuses frames smaller than this on either side: such a video gets no preview. */
export const PREVIEW_MIN_SIDE = 64;
export const PREVIEW_VIDEO_ARGS = ["-c:v", "libsvtav1", "-crf", "63", "-preset", "8"] as const;
export const PREVIEW_AUDIO_ARGS = ["-c:a", "libopus", "-b:a", "10k"] as const;
/** SVT-AV1 prints its banner whatever ffmpeg's log level is; 1 keeps its errors only. */
export const PREVIEW_ENV = { SVT_LOG: "1" } as const;

const even = (n: number) => Math.max(2, Math.floor(n / 2) * 2);

/** Pure: the stored size halved until both sides are under PREVIEW_MAX_SIDE; undefined when too small for AV1. */
export function previewSize(width: number, height: number): { width: number; height: number } | undefined {
  let w = width;
  let h = height;
  while (w >= PREVIEW_MAX_SIDE || h >= PREVIEW_MAX_SIDE) {
    w /= 2;
    h /= 2;
  }
  const size = { width: even(w), height: even(h) };
  return size.width < PREVIEW_MIN_SIDE || size.height < PREVIEW_MIN_SIDE ? undefined : size;
}

/**
 * Pure: the preview of input `input`, its video taken from `videoIn` (a graph label of decoded frames,
 * already on the CPU): `graph` joins the caller's video graph, `audioGraph` is a filter graph of its own
 * (ffmpeg copies the source's display matrix only to outputs of a graph with one input), `args` are the
 * output's. Rotation stays a display matrix in the source; the preview has no metadata, so its pixels
 * are turned upright here.
 */
export function previewOutput(media: MediaInfo, input: number, videoIn: string, size: { width: number; height: number }, upright: string[], file: string): { graph: string[]; audioGraph?: string; args: string[] } {
  const graph = [`[${videoIn}]${[`scale=${size.width}:${size.height}`, "format=yuv420p", ...upright].join(",")}[pvv]`];
  const audio = media.audio.map((_, i) => `[${input}:a:${i}]`);
  // One stream, mono or stereo: Opus at 10 kbit/s has no bits for more channels.
  const audioGraph = audio.length ? `${audio.join("")}${audio.length > 1 ? `amix=inputs=${audio.length},` : ""}aformat=channel_layouts=stereo|mono[pva]` : undefined;
  const args = [
    "-map", "[pvv]", ...PREVIEW_VIDEO_ARGS,
    ...(audioGraph ? ["-map", "[pva]", ...PREVIEW_AUDIO_ARGS] : []),
    "-map_metadata", "-1", "-map_chapters", "-1", "-fflags", "+bitexact", "-f", "webm", file,
  ];
  return { graph, audioGraph, args };
}

/** Makes the preview of `input` (a presigned URL or a path) at `file`, alone; false when the video is too small for one. */
export async function makePreview(input: string, media: MediaInfo, file: string, opts: { inputOptions?: string[]; upright: string[]; stallSec: number }): Promise<boolean> {
  const size = previewSize(media.video.width, media.video.height);
  if (!size) return false;
  const out = previewOutput(media, 0, "0:V:0", size, opts.upright, file);
  const r = await runMedia(
    "ffmpeg",
    [
      "-hide_banner", "-nostdin", "-v", "error", "-y", "-noautorotate", ...(opts.inputOptions ?? []), ...safeInputArgs(input),
      "-filter_complex", out.graph.join(";"), ...(out.audioGraph ? ["-filter_complex", out.audioGraph] : []), ...out.args,
    ],
    { env: PREVIEW_ENV, stallSec: opts.stallSec },
  );
  if (r.stalled) throw new MediaStalledError("making the preview stalled");
  if (r.exitCode !== 0) {
    throwIfStoreFailed(r.stderr, "making the preview");
    throw new Error(`making the preview failed: ${String(r.stderr).trim().split("\n")[0] || `exit ${r.exitCode}`}`);
  }
  return true;
}
