// Small real videos made by ffmpeg from lavfi test sources, cached by the hash of their recipe.
import { createHash } from "node:crypto";
import { mkdir, rename, stat, writeFile, readFile, truncate } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

export const FIXTURE_DIR = path.resolve(import.meta.dirname, "../../.cache/fixtures");

export type VideoSpec = {
  ext: string;
  vcodec: string;
  width?: number;
  height?: number;
  durationSec?: number;
  fps?: number;
  /** A lavfi video source; testsrc2 by default. */
  source?: string;
  /** Extra video filters applied after the source (e.g. "hflip"). */
  filter?: string;
  pixFmt?: string;
  bitrate?: string;
  /** Forces a constant bitrate with filler, so the container's bitrate is what was asked. */
  cbr?: boolean;
  audio?: boolean;
  acodec?: string;
  faststart?: boolean;
  extra?: string[];
};

const ENCODER_ARGS: Record<string, string[]> = {
  libx264: ["-preset", "ultrafast"],
  libx265: ["-preset", "ultrafast", "-x265-params", "log-level=error"],
  "libvpx-vp9": ["-deadline", "realtime", "-cpu-used", "8", "-row-mt", "1"],
  libsvtav1: ["-preset", "12"],
  mpeg4: ["-q:v", "5"],
};

const DEFAULT_AUDIO: Record<string, string> = { avi: "libmp3lame", webm: "libopus", mkv: "aac", mp4: "aac", mov: "aac" };

export function videoArgs(spec: VideoSpec, out: string): string[] {
  const w = spec.width ?? 320;
  const h = spec.height ?? 240;
  const d = spec.durationSec ?? 4;
  const fps = spec.fps ?? 25;
  const vf = [spec.filter].filter(Boolean).join(",");
  const args = ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", `${spec.source ?? "testsrc2"}=size=${w}x${h}:rate=${fps}:duration=${d}`];
  if (spec.audio) args.push("-f", "lavfi", "-i", `sine=frequency=440:sample_rate=48000:duration=${d}`);
  if (vf) args.push("-vf", vf);
  args.push("-c:v", spec.vcodec, ...(ENCODER_ARGS[spec.vcodec] ?? []));
  if (spec.pixFmt) args.push("-pix_fmt", spec.pixFmt);
  if (spec.bitrate) {
    args.push("-b:v", spec.bitrate);
    if (spec.cbr) args.push("-minrate", spec.bitrate, "-maxrate", spec.bitrate, "-bufsize", spec.bitrate, "-x264-params", "nal-hrd=cbr:force-cfr=1");
  }
  if (spec.audio) args.push("-c:a", spec.acodec ?? DEFAULT_AUDIO[spec.ext] ?? "aac", "-b:a", "64k", "-shortest");
  if (spec.faststart) args.push("-movflags", "+faststart");
  args.push(...(spec.extra ?? []), out);
  return args;
}

async function exists(p: string): Promise<boolean> {
  return stat(p).then(() => true, () => false);
}

async function cached(recipe: unknown, ext: string, make: (tmp: string) => Promise<void>): Promise<string> {
  const hash = createHash("sha256").update(JSON.stringify(recipe)).digest("hex").slice(0, 16);
  const file = path.join(FIXTURE_DIR, `${hash}.${ext}`);
  if (await exists(file)) return file;
  await mkdir(FIXTURE_DIR, { recursive: true });
  // Parallel test files may make the same fixture: write aside, then rename atomically.
  const tmp = path.join(FIXTURE_DIR, `.${hash}.${process.pid}.${Date.now()}.${ext}`);
  await make(tmp);
  await rename(tmp, file);
  return file;
}

/** A real video made by ffmpeg, cached between runs. */
export function makeVideo(spec: VideoSpec): Promise<string> {
  return cached({ v: 1, spec }, spec.ext, async (tmp) => {
    await execa("ffmpeg", videoArgs(spec, tmp));
  });
}

/** The test kit's named fixtures: one per container and codec the decision table cares about. */
export const VIDEO_FIXTURES = {
  avi_mpeg4: { ext: "avi", vcodec: "mpeg4", audio: true },
  mkv_h264: { ext: "mkv", vcodec: "libx264", audio: true },
  mov_h264: { ext: "mov", vcodec: "libx264", audio: true },
  webm_vp9: { ext: "webm", vcodec: "libvpx-vp9", audio: true },
  mp4_hevc8: { ext: "mp4", vcodec: "libx265", pixFmt: "yuv420p", audio: true },
  mp4_hevc10: { ext: "mp4", vcodec: "libx265", pixFmt: "yuv420p10le" },
  mp4_av1: { ext: "mp4", vcodec: "libsvtav1", pixFmt: "yuv420p" },
  mp4_h264_300k: { ext: "mp4", vcodec: "libx264", width: 640, height: 360, bitrate: "300k", cbr: true },
  mp4_h264_3m: { ext: "mp4", vcodec: "libx264", width: 640, height: 360, bitrate: "3M", cbr: true, audio: true },
  mp4_4k: { ext: "mp4", vcodec: "libx264", width: 3840, height: 2160, durationSec: 1, fps: 10 },
  mp4_4k_portrait: { ext: "mp4", vcodec: "libx264", width: 2160, height: 3840, durationSec: 1, fps: 10, audio: true },
  mp4_h264_noaudio: { ext: "mp4", vcodec: "libx264", faststart: true },
} satisfies Record<string, VideoSpec>;
export type VideoFixture = keyof typeof VIDEO_FIXTURES;

export function videoFixture(name: VideoFixture): Promise<string> {
  return makeVideo(VIDEO_FIXTURES[name]);
}

/** Inputs that must fail cleanly: the object stays untouched and its record says why. */
export const BROKEN_FIXTURES = ["zero_bytes.mp4", "truncated.mp4", "text.mkv", "playlist.mp4", "audio_only.mp4"] as const;
export type BrokenFixture = (typeof BROKEN_FIXTURES)[number];

export function brokenFixture(name: BrokenFixture): Promise<string> {
  const ext = path.extname(name).slice(1);
  return cached({ v: 1, broken: name }, ext, async (tmp) => {
    switch (name) {
      case "zero_bytes.mp4":
        return writeFile(tmp, "");
      case "truncated.mp4": {
        // moov at the end, cut at half: the header ffprobe needs is gone.
        const whole = await makeVideo({ ext: "mp4", vcodec: "libx264", durationSec: 4 });
        await writeFile(tmp, await readFile(whole));
        const { size } = await stat(tmp);
        return truncate(tmp, Math.floor(size / 2));
      }
      case "text.mkv":
        return writeFile(tmp, "This is a shopping list, not a video.\nmilk\neggs\n");
      case "playlist.mp4":
        return writeFile(tmp, "#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:10,\nfile:///etc/passwd\n#EXT-X-ENDLIST\n");
      case "audio_only.mp4":
        await execa("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "aac", tmp]);
        return;
    }
  });
}

/** 16 s of 320×240 with AAC audio: 25 fps, but frames 125–175 last 2/25 s each (a variable frame rate stretch), a keyframe every second. */
export function vfrVideo(): Promise<string> {
  return cached({ v: 1, vfr: "stretch" }, "mkv", async (tmp) => {
    await execa("ffmpeg", [
      "-hide_banner", "-loglevel", "error", "-y", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=14",
      "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=16",
      "-vf", "setpts='(N+min(max(N-125\\,0)\\,50))/25/TB'", "-fps_mode", "vfr",
      "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-c:a", "aac", "-b:a", "64k", tmp,
    ]);
  });
}
