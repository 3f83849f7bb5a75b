// Every stream of a file in order, and how many bytes each one's packets take in the file's first
// seconds: what the archive profile compares an encoded stream against (gpu-runner/stream-savings.ts).
import { safeInputArgs } from "./ffprobe.ts";
import { MediaStalledError, runMedia, throwIfStoreFailed } from "./run.ts";
import { UnreadableMediaError } from "./ffprobe.ts";

export type StreamType = "video" | "audio" | "subtitle" | "data" | "attachment";

export type StreamInfo = {
  /** The stream's index in the file; the output keeps this order. */
  index: number;
  type: StreamType;
  codec: string;
  /** A cover picture (a video stream of one frame), never encoded. */
  attachedPic: boolean;
  /** Packet bytes with a time in the first `windowSec` of the file. */
  windowBytes: number;
};

type RawStreams = {
  streams?: Array<{ index?: number; codec_type?: string; codec_name?: string; disposition?: { attached_pic?: number } }>;
  packets?: Array<{ stream_index?: number; size?: string; pts_time?: string; dts_time?: string }>;
  format?: { start_time?: string };
};

const TYPES: ReadonlySet<string> = new Set(["video", "audio", "subtitle", "data", "attachment"]);

/** Pure: ffprobe's JSON → the streams, with the bytes of each in [start, start + windowSec) (all of them without a window). */
export function streamsFrom(raw: RawStreams, windowSec = Infinity): StreamInfo[] {
  const start = Number(raw.format?.start_time ?? 0) || 0;
  const bytes = new Map<number, number>();
  for (const p of raw.packets ?? []) {
    const t = Number(p.pts_time ?? p.dts_time);
    if (p.stream_index === undefined || !Number.isFinite(t) || t >= start + windowSec) continue;
    bytes.set(p.stream_index, (bytes.get(p.stream_index) ?? 0) + (Number(p.size) || 0));
  }
  return (raw.streams ?? []).map((s, i) => {
    const index = s.index ?? i;
    return {
      index,
      type: (TYPES.has(s.codec_type ?? "") ? s.codec_type : "data") as StreamType,
      codec: s.codec_name ?? "unknown",
      attachedPic: s.disposition?.attached_pic === 1,
      windowBytes: bytes.get(index) ?? 0,
    };
  });
}

/** Reads the stream list and the packets of the first `windowSec` (and a little more) only; all packets without a window. */
export async function probeStreams(input: string, opts: { windowSec?: number; timeoutSec: number }): Promise<StreamInfo[]> {
  const r = await runMedia(
    "ffprobe",
    [
      "-v", "error", ...(opts.windowSec === undefined ? [] : ["-read_intervals", `%+${opts.windowSec + 1}`]),
      "-show_entries", "stream=index,codec_type,codec_name:stream_disposition=attached_pic:packet=stream_index,size,pts_time,dts_time:format=start_time",
      "-of", "json", ...safeInputArgs(input),
    ],
    { stallSec: opts.timeoutSec },
  );
  if (r.stalled) throw new MediaStalledError(`ffprobe made no progress for ${opts.timeoutSec}s reading streams`);
  if (r.exitCode !== 0) throwIfStoreFailed(r.stderr, "ffprobe reading streams");
  if (r.exitCode !== 0) throw new UnreadableMediaError(String(r.stderr).split("\n")[0] || "ffprobe could not read its streams");
  return streamsFrom(JSON.parse(String(r.stdout)) as RawStreams, opts.windowSec);
}

/** Packet bytes of a file's one stream (a probe segment), without the container's own bytes. */
export async function streamBytes(file: string, timeoutSec: number): Promise<number> {
  const streams = await probeStreams(file, { timeoutSec });
  return streams.reduce((n, s) => n + s.windowBytes, 0);
}
