// ffprobe over a file or a (presigned) URL, with protocol and container whitelists, into MediaInfo.
import { MediaInfo } from "../schemas.ts";
import { MediaStalledError, runMedia, throwIfStoreFailed } from "./run.ts";

/** Network protocols for presigned URLs, file for local paths; nothing a playlist could smuggle in. */
export const PROTOCOL_WHITELIST = "file,http,https,tcp,tls,crypto";
/** Real containers only: hls, concat and friends would follow references inside the "video". */
export const FORMAT_WHITELIST = "mov,mp4,m4a,3gp,3g2,mj2,matroska,webm,avi,asf,flv,mpeg,mpegts,mpegvideo";

/** Input options every ffmpeg/ffprobe call on library content uses. */
export function safeInputArgs(input: string): string[] {
  return ["-protocol_whitelist", PROTOCOL_WHITELIST, "-format_whitelist", FORMAT_WHITELIST, "-i", input];
}

/** The input is not a video reelpress can work with; `message` is the one-line reason. */
export class UnreadableMediaError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UnreadableMediaError";
  }
}

type RawStream = {
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  bits_per_raw_sample?: string;
  avg_frame_rate?: string;
  bit_rate?: string;
  channels?: number;
  tags?: Record<string, string>;
  side_data_list?: Array<{ rotation?: number }>;
  disposition?: { attached_pic?: number };
};
type RawProbe = { format?: { format_name?: string; duration?: string; bit_rate?: string; size?: string; tags?: Record<string, string> }; streams?: RawStream[] };

const num = (v: string | undefined) => (v === undefined || v === "N/A" || Number.isNaN(Number(v)) ? undefined : Number(v));

function fps(rate: string | undefined): number | undefined {
  if (!rate) return undefined;
  const [a, b] = rate.split("/").map(Number);
  return b ? a / b : undefined;
}

function bitDepth(s: RawStream): number | undefined {
  const raw = num(s.bits_per_raw_sample);
  if (raw) return raw;
  const m = /p(9|10|12|14|16)(le|be)?$/.exec(s.pix_fmt ?? "");
  return m ? Number(m[1]) : s.pix_fmt ? 8 : undefined;
}

/** Pure: ffprobe's JSON → MediaInfo, or the reason it is not a usable video. */
export function mediaInfoFrom(raw: RawProbe, sizeBytes?: number): MediaInfo {
  const streams = raw.streams ?? [];
  const video = streams.find((s) => s.codec_type === "video" && !s.disposition?.attached_pic);
  if (!video) throw new UnreadableMediaError("no video stream");
  if (!video.width || !video.height) throw new UnreadableMediaError("video stream has no dimensions");
  const durationSec = num(raw.format?.duration) ?? 0;
  const size = sizeBytes ?? num(raw.format?.size);
  const bitrate = num(raw.format?.bit_rate) ?? (size && durationSec > 0 ? Math.round((size * 8) / durationSec) : undefined);
  const rotation = video.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? num(video.tags?.rotate);
  const tags: Record<string, string> = {};
  for (const [k, v] of Object.entries(raw.format?.tags ?? {})) tags[k.toLowerCase()] = String(v);
  return MediaInfo.parse({
    formatName: raw.format?.format_name ?? "unknown",
    durationSec,
    bitrate,
    video: {
      codec: video.codec_name ?? "unknown",
      width: video.width,
      height: video.height,
      pixFmt: video.pix_fmt,
      bitDepth: bitDepth(video),
      fps: fps(video.avg_frame_rate),
      rotation,
      bitrate: num(video.bit_rate),
    },
    audio: streams.filter((s) => s.codec_type === "audio").map((s) => ({ codec: s.codec_name ?? "unknown", channels: s.channels })),
    subtitles: streams.filter((s) => s.codec_type === "subtitle").map((s) => ({ codec: s.codec_name ?? "unknown" })),
    tags,
  });
}

/** What ffprobe said, on one line, without "[demuxer @ 0x…]" prefixes or the (presigned) input URL. */
function reasonFrom(stderr: string, input: string): string {
  const lines = stderr
    .split("\n")
    .map((l) => l.replace(/^\[[^\]]*\]\s*/, "").replace(`${input}: `, "").replace(/ '[^']*'$/, "").trim())
    .filter(Boolean);
  const reason = [...new Set(lines)].join("; ").slice(0, 200);
  return reason || "ffprobe could not read it";
}

export async function probeMedia(input: string, opts: { timeoutSec: number; sizeBytes?: number }): Promise<MediaInfo> {
  if (opts.sizeBytes === 0) throw new UnreadableMediaError("empty object (0 bytes)");
  const r = await runMedia(
    "ffprobe",
    ["-v", "error", "-rw_timeout", String(Math.round(opts.timeoutSec * 1e6)), "-show_format", "-show_streams", "-of", "json", ...safeInputArgs(input)],
    { stallSec: opts.timeoutSec, stripFinalNewline: true },
  );
  if (r.stalled) throw new MediaStalledError(`ffprobe made no progress for ${opts.timeoutSec}s`);
  if (r.exitCode !== 0) throwIfStoreFailed(r.stderr, "ffprobe");
  if (r.exitCode !== 0) throw new UnreadableMediaError(reasonFrom(String(r.stderr), input));
  return mediaInfoFrom(JSON.parse(String(r.stdout)) as RawProbe, opts.sizeBytes);
}

/** Packets of the first video stream, counted by reading the file without decoding (a frame each, as av1an counts). */
export async function countVideoFrames(file: string, timeoutSec: number): Promise<number> {
  const r = await runMedia("ffprobe", ["-v", "error", "-count_packets", "-select_streams", "V:0", "-show_entries", "stream=nb_read_packets", "-of", "csv=p=0", ...safeInputArgs(file)], { stallSec: timeoutSec });
  if (r.stalled) throw new MediaStalledError(`ffprobe made no progress for ${timeoutSec}s counting frames`);
  if (r.exitCode !== 0) throwIfStoreFailed(r.stderr, "ffprobe counting frames");
  // An MPEG-TS lists the stream twice (under its program, then alone): the first count is the one.
  const n = Number(String(r.stdout).split("\n").find((l) => l.trim()) ?? "");
  if (r.exitCode !== 0 || !Number.isInteger(n)) throw new UnreadableMediaError(reasonFrom(String(r.stderr), file));
  return n;
}

/** Frame (packet) times of the first video stream in order, its keyframes, where it ends, and the container's start. */
export async function videoFrameTimes(file: string, timeoutSec: number): Promise<{ times: number[]; keyframes: number[]; endSec: number; formatStartSec: number }> {
  const r = await runMedia("ffprobe", ["-v", "error", "-select_streams", "V:0", "-show_entries", "packet=pts_time,duration_time,flags:format=start_time", "-of", "json", ...safeInputArgs(file)], { stallSec: timeoutSec });
  if (r.stalled) throw new MediaStalledError(`ffprobe made no progress for ${timeoutSec}s reading frame times`);
  if (r.exitCode !== 0) throwIfStoreFailed(r.stderr, "ffprobe reading frame times");
  if (r.exitCode !== 0) throw new UnreadableMediaError(reasonFrom(String(r.stderr), file));
  const raw = JSON.parse(String(r.stdout)) as { packets?: Array<{ pts_time?: string; duration_time?: string; flags?: string }>; format?: { start_time?: string } };
  const times: number[] = [];
  const keyframes: number[] = [];
  let endSec = 0;
  for (const p of raw.packets ?? []) {
    const pts = num(p.pts_time);
    if (pts === undefined) continue;
    times.push(pts);
    if (p.flags?.startsWith("K")) keyframes.push(pts);
    endSec = Math.max(endSec, pts + (num(p.duration_time) ?? 0));
  }
  return { times: times.sort((a, b) => a - b), keyframes, endSec, formatStartSec: num(raw.format?.start_time) ?? 0 };
}
