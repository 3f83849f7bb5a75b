// Runs the segmenter (args.ts segmentArgs) and hands each segment over as soon as it is complete, one at
// a time: ffmpeg lists a segment only once it is closed, just before it opens the next file, and it is
// paused (SIGSTOP) as soon as that file appears, while the segments it finished are handled (stored, then
// removed). So the job folder holds the segment being handled and the start of the next, never the whole
// split: a stream copy writes far faster than an upload takes it.
import { watch } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { ProgressParser } from "../ffmpeg-progress.ts";
import { SEGMENT_LIST, segmentFile } from "./args.ts";

/** How often the list is read while ffmpeg runs, besides when a segment file appears. */
const POLL_MS = 200;
const SEGMENT_FILE = /^seg-\d{4}\.mkv$/;

export type Part = { index: number; startSec: number; file: string };

/** Pure: the complete lines of the segmenter's CSV list ("seg-0001.mkv,2.021000,4.021000\n"), as parts. */
export function listedParts(csv: string, dir: string): Part[] {
  const lines = csv.split("\n");
  lines.pop(); // a line still being written has no newline yet
  return lines.filter(Boolean).map((line, index) => {
    const [name, start] = line.split(",");
    // The name comes from ffmpeg's pattern; anything else is not a file to pick up.
    if (name !== segmentFile(index)) throw new Error(`the segmenter listed ${JSON.stringify(name)} as segment ${index}`);
    return { index, startSec: Number(start), file: path.join(dir, name) };
  });
}

/**
 * Runs ffmpeg with `args` in `dir` and awaits `onPart` for each finished segment, in order, while ffmpeg is
 * paused. Throws what `onPart` throws (ffmpeg is killed then); returns ffmpeg's exit code and error output.
 */
export async function segmentInParts(args: string[], dir: string, signal: AbortSignal, on: { progress(outSec: number): void; part(p: Part): Promise<void> }): Promise<{ exitCode: number | undefined; stderr: string }> {
  const child = execa("ffmpeg", args, { cwd: dir, reject: false, cancelSignal: signal, stdin: "ignore", buffer: { stdout: false, stderr: true } });
  const parser = new ProgressParser();
  child.stdout!.on("data", (d: Buffer) => {
    for (const p of parser.push(d.toString())) on.progress(p.outTimeSec);
  });
  let exited = false;
  const ended = child.then((r) => {
    exited = true;
    return r;
  });
  let handled = 0;
  let paused = false;
  const pause = () => {
    if (!paused && !exited) paused = child.kill("SIGSTOP");
  };
  const resume = () => {
    if (paused) child.kill("SIGCONT");
    paused = false;
  };
  let wake = () => {};
  // A new segment file means the one before is closed and listed: stop ffmpeg at once, before it writes far into the next.
  const watcher = watch(dir, (_type, name) => {
    if (name && SEGMENT_FILE.test(name)) pause();
    wake();
  });
  const listed = async () => listedParts(await readFile(path.join(dir, SEGMENT_LIST), "utf8").catch(() => ""), dir).slice(handled);
  try {
    while (!exited) {
      await Promise.race([ended, sleep(POLL_MS), new Promise<void>((r) => (wake = r))]);
      if (exited) break;
      const parts = await listed();
      if (parts.length === 0) {
        resume();
        continue;
      }
      pause();
      try {
        for (const part of parts) {
          await on.part(part);
          handled++;
        }
      } finally {
        resume();
      }
    }
    const r = await ended;
    if (r.exitCode === 0) {
      for (const part of await listed()) {
        await on.part(part);
        handled++;
      }
    }
    return { exitCode: r.exitCode, stderr: String(r.stderr) };
  } catch (err) {
    // A stopped process takes only SIGKILL: it ends at once whatever it was doing.
    child.kill("SIGKILL");
    await ended;
    throw err;
  } finally {
    watcher.close();
  }
}
