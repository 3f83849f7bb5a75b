// Chunked jobs across the containers and stream layouts a library holds (issue 19): each source is cut
// at its 2 s keyframes, encoded in chunks and merged, or, where it cannot be cut, encoded in one pass;
// either way the output has the source's frames, duration and audio. Small generated files, x264
// ultrafast, REELPRESS_CHUNK_MIN_SEC 4 and REELPRESS_CHUNK_SEC 2, all jobs queued at once.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRunner, type Runner } from "../../gpu-runner/runner.ts";
import { countVideoFrames, probeMedia } from "../../shared/media/ffprobe.ts";
import { presignedGetUrl } from "../../shared/io/objects.ts";
import type { EncodeJob } from "../../shared/schemas.ts";
import { until } from "../kit/wait.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { planJob } from "./runner-kit.ts";

/** 8 s of 320×240 at 25 fps; x264 with B-frames and a keyframe exactly every `gop` frames. */
const video = () => ["-f", "lavfi", "-i", "testsrc=size=320x240:rate=25:duration=8"];
const x264 = (gop = 50) => ["-c:v", "libx264", "-preset", "veryfast", "-crf", "12", "-bf", "2", "-g", String(gop), "-keyint_min", String(gop), "-sc_threshold", "0", "-pix_fmt", "yuv420p"];
const sine = (freq: number, durationSec = 8) => ["-f", "lavfi", "-i", `sine=frequency=${freq}:duration=${durationSec}`];

type Case = { name: string; key: string; expect: "chunked" | "one pass"; args: string[] };
const CASES: Case[] = [
  // The reported case: Matroska, x264 2 s GOP with B-frames (first DTS -0.08 s), FLAC audio.
  { name: "MKV x264 2 s GOP + FLAC", key: "films/mkv-flac.mkv", expect: "chunked", args: [...video(), ...sine(440), "-map", "0:v", "-map", "1:a", ...x264(), "-c:a", "flac"] },
  { name: "MP4 with B-frames + AAC", key: "films/bframes.mp4", expect: "chunked", args: [...video(), ...sine(440), "-map", "0:v", "-map", "1:a", ...x264(), "-c:a", "aac", "-b:a", "96k"] },
  // A DVR recording: MPEG-TS starts at about 1.4 s.
  { name: "MPEG-TS (.ts) + AAC", key: "dvr/news.ts", expect: "chunked", args: [...video(), ...sine(440), "-map", "0:v", "-map", "1:a", ...x264(), "-c:a", "aac", "-b:a", "96k", "-f", "mpegts"] },
  { name: "AVCHD-like .m2ts + AC-3", key: "AVCHD/00001.m2ts", expect: "chunked", args: [...video(), ...sine(440), "-map", "0:v", "-map", "1:a", ...x264(), "-c:a", "ac3", "-b:a", "128k", "-f", "mpegts", "-mpegts_m2ts_mode", "1"] },
  { name: "MKV with two audio tracks", key: "films/two-audio.mkv", expect: "chunked", args: [...video(), ...sine(440), ...sine(660), "-map", "0:v", "-map", "1:a", "-map", "2:a", ...x264(), "-c:a", "aac", "-b:a", "96k"] },
  { name: "MKV with audio starting 1 s after video", key: "films/late-audio.mkv", expect: "chunked", args: [...video(), "-itsoffset", "1", ...sine(440, 7), "-map", "0:v", "-map", "1:a", ...x264(), "-c:a", "aac", "-b:a", "96k"] },
  // One keyframe in 8 s: nothing to cut at, so the one-pass encode, not a failure.
  { name: "MKV with a single keyframe", key: "films/one-gop.mkv", expect: "one pass", args: [...video(), ...sine(440), "-map", "0:v", "-map", "1:a", ...x264(1000), "-c:a", "flac"] },
];

type Span = { start: number; end: number };
/** Where a stream's packets start and end, in the file's own timestamps. */
async function span(file: string, stream: string): Promise<Span> {
  const r = await execa("ffprobe", ["-v", "error", "-select_streams", stream, "-show_entries", "packet=pts_time,duration_time", "-of", "csv=p=0", file]);
  const rows = r.stdout.split("\n").filter(Boolean).map((l) => l.split(",").map(Number));
  const start = Math.min(...rows.map(([pts]) => pts));
  const end = Math.max(...rows.map(([pts, d]) => pts + (Number.isFinite(d) ? d : 0)));
  return { start, end };
}

/** Each audio stream's start (from the video's first frame) and length; the video's length. */
async function layout(file: string, audioStreams: number) {
  const v = await span(file, "v:0");
  const audio = await Promise.all(Array.from({ length: audioStreams }, (_, i) => span(file, `a:${i}`)));
  return { video: v.end - v.start, audio: audio.map((a) => ({ offset: a.start - v.start, length: a.end - a.start })) };
}

describe("chunked jobs across containers (embedded store, real ffmpeg)", () => {
  let stack: TestStack;
  let tmp: string;
  let runner: Runner;
  type Event = { event: string } & Record<string, unknown>;
  const events: Event[] = [];
  const jobs = new Map<string, { job: EncodeJob; file: string }>();
  const results: string[] = [];

  beforeAll(async () => {
    stack = await startTestStack({ REELPRESS_FINGERPRINTS: "4" });
    tmp = await mkdtemp(path.join(os.tmpdir(), "reelpress-containers-"));
    const files = await Promise.all(CASES.map(async (c, i) => {
      const file = path.join(tmp, `src-${i}${path.extname(c.key)}`);
      await execa("ffmpeg", ["-hide_banner", "-v", "error", "-y", ...c.args, file]);
      return file;
    }));
    runner = await startRunner(stack, {
      encoder: "x264",
      concurrency: 2,
      settings: { visibilitySec: 10, x264Preset: "ultrafast", chunks: { minSec: 4, chunkSec: 2 } },
      log: (event, fields) => void events.push({ event, ...fields }),
      workBase: path.join(tmp, "work"),
    });
    for (const [i, c] of CASES.entries()) jobs.set(c.key, { job: await planJob(stack, files[i], c.key), file: files[i] });
    await until("every job's outcome", () => CASES.every((c) => events.some((e) => e.key === c.key && (/^job_(compressed|skipped|dropped)$/.test(e.event) || (e.event === "job_failed" && e.final)))), 240_000, 250);
  }, 300_000);
  afterAll(async () => {
    await runner?.stop();
    await stack?.stop();
    await rm(tmp, { recursive: true, force: true });
    if (results.length) console.log(`chunk container matrix:\n${results.join("\n")}`);
  });

  const check = async (c: Case) => {
    const { job, file } = jobs.get(c.key)!;
    const mine = events.filter((e) => e.key === c.key);
    expect(mine.filter((e) => e.event === "job_failed")).toEqual([]);
    const done = mine.find((e) => e.event === "job_compressed");
    expect(done, `outcome of ${c.key}: ${JSON.stringify(mine.map((e) => e.event))}`).toMatchObject({ outputKey: job.outputKey });
    const split = mine.find((e) => e.event === "job_split");
    const note = mine.find((e) => e.event === "job_note" && /one pass, not in chunks/.test(String(e.note)));
    const mode = split ? "chunked" : "one pass";
    expect(mode, String(note?.note ?? "")).toBe(c.expect);
    if (c.expect === "one pass") expect(note).toBeDefined();

    const out = path.join(tmp, `out-${path.basename(file)}.mp4`);
    await execa("curl", ["-sf", "-o", out, await presignedGetUrl(stack, job.outputKey)]);
    const [src, got] = await Promise.all([probeMedia(file, { timeoutSec: 30 }), probeMedia(out, { timeoutSec: 30 })]);
    const [srcFrames, outFrames] = await Promise.all([countVideoFrames(file, 30), countVideoFrames(out, 30)]);
    const [a, b] = await Promise.all([layout(file, src.audio.length), layout(out, got.audio.length)]);
    results.push(`  ${c.name}: ${mode}${split ? ` (${split.chunks} chunks)` : ""}, frames ${outFrames}/${srcFrames}, duration ${got.durationSec.toFixed(3)}/${src.durationSec.toFixed(3)} s, audio ${b.audio.map((x) => `+${x.offset.toFixed(3)} ${x.length.toFixed(3)} s`).join(", ")} / ${a.audio.map((x) => `+${x.offset.toFixed(3)} ${x.length.toFixed(3)} s`).join(", ")}`);

    expect(outFrames).toBe(srcFrames);
    expect(Math.abs(got.durationSec - src.durationSec)).toBeLessThan(0.1);
    expect(Math.abs(b.video - a.video)).toBeLessThan(0.05);
    expect(got.audio).toHaveLength(src.audio.length);
    // Every audio track whole and where it was against the picture (AAC priming aside).
    for (const [i, want] of a.audio.entries()) {
      expect(Math.abs(b.audio[i].length - want.length), `audio ${i} length`).toBeLessThan(0.1);
      expect(Math.abs(b.audio[i].offset - want.offset), `audio ${i} start`).toBeLessThan(0.05);
    }
  };
  for (const c of CASES) it(c.name, () => check(c));
});
