// Decoding a file to prove it whole. With `-xerror` ffmpeg ends on a decode or read error, and at `-v error`
// a concealed one still prints, so either fails the check. Neither catches a file cut exactly where its
// next packet would start: ffmpeg 5.1 ends there as at the file's end, exit 0 and silent (a file cut
// elsewhere prints "partial file" and still exits 0). So the video frames decoded are counted too
// (`-progress`) and compared with the count the container's index declares.
import { safeInputArgs } from "./ffprobe.ts";
import { MediaStalledError, runMedia } from "./run.ts";

/** Global options of a run that checks a decode: errors fatal, the frames counted on stdout. */
export const DECODE_CHECK_OPTIONS = ["-v", "error", "-xerror", "-nostats", "-progress", "pipe:1"];

/**
 * The output that decodes input `i`'s first video stream and its audio, every frame, into nothing. It must
 * be the run's first output: `-progress` counts the frames of the first video stream written.
 */
export const decodeAllOf = (i: number) => ["-map", `${i}:V:0`, "-map", `${i}:a?`, "-fps_mode", "passthrough", "-f", "null", "-"];

/** Pure: the last `frame=` of a `-progress` stream; undefined when there is none. */
export function progressFrames(progress: string): number | undefined {
  const all = [...progress.matchAll(/^frame=(\d+)\s*$/gm)];
  return all.length ? Number(all.at(-1)![1]) : undefined;
}

/** Pure: what a decode check's run found wrong (its exit status, or any error it printed); undefined when nothing. */
export function decodeError(r: { exitCode?: number; stderr: unknown }): string | undefined {
  const stderr = String(r.stderr ?? "").trim();
  if (r.exitCode === 0 && !stderr) return undefined;
  return stderr.split("\n")[0] || `exit ${r.exitCode}`;
}

/**
 * Pure: how the frames decoded fall short of those declared; undefined when they do not. The runner's own
 * MP4 always declares its count, so one that declares none fails too: the count is the only check that
 * catches a file cut exactly where a packet starts.
 */
export function missingFrames(decoded: number | undefined, declared: number | undefined): string | undefined {
  if (declared === undefined) return "the file declares no video frame count";
  if (decoded === undefined) return `no frame count came back (${declared} declared)`;
  return decoded === declared ? undefined : `only ${decoded} of its ${declared} video frames decode`;
}

/**
 * The video frames the container's index declares (an MP4's sample count); undefined when it declares none.
 * Throws when ffprobe itself fails (out of processes, say): the job is tried again, never passed unchecked.
 */
export async function declaredFrames(file: string, stallSec: number): Promise<number | undefined> {
  // JSON: csv adds a field for a stream's side data (a rotation's display matrix).
  const r = await runMedia("ffprobe", ["-v", "error", "-select_streams", "V:0", "-show_entries", "stream=nb_frames", "-of", "json", ...safeInputArgs(file)], { stallSec });
  if (r.stalled) throw new MediaStalledError(`ffprobe made no progress for ${stallSec}s reading the frame count`);
  if (r.exitCode !== 0) throw new Error(`ffprobe could not read the frame count of ${file}: ${decodeError(r)}`);
  const n = Number((JSON.parse(String(r.stdout)) as { streams?: Array<{ nb_frames?: string }> }).streams?.[0]?.nb_frames);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

/** Decodes every frame of `file`, video and audio, and checks it as above; bounded by progress, not time. */
export async function decodeWhole(file: string, stallSec: number, declared: number | undefined): Promise<string | undefined> {
  const r = await runMedia("ffmpeg", ["-hide_banner", "-nostdin", ...DECODE_CHECK_OPTIONS, ...safeInputArgs(file), ...decodeAllOf(0)], { stallSec });
  if (r.stalled) throw new MediaStalledError(`decoding ${file} made no progress for ${stallSec}s`);
  const problem = decodeError(r) ?? missingFrames(progressFrames(String(r.stdout)), declared);
  return problem && `it does not decode: ${problem}`;
}
