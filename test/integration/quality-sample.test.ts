// The quality sample: the encode pass keeps every k-th source frame, scaled as the output's own, and the
// measurement decodes only the output. Real ffmpeg on a small generated video: the sample's figure must
// match the old every-frame comparison against the source, and a wrong output must score far lower.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { buildPass } from "../../gpu-runner/encode-args.ts";
import { runPass } from "../../gpu-runner/encode.ts";
import { countVideoFrames, probeMedia } from "../../shared/media/ffprobe.ts";
import { measureOutput, measureQuality, measureSample } from "../../shared/media/quality.ts";
import { makeVideo } from "../kit/fixtures.ts";

/** The sample is NUT, which library inputs may not be (FORMAT_WHITELIST): counted here by name. */
const nutFrames = async (file: string) =>
  Number((await execa("ffprobe", ["-v", "error", "-f", "nut", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", file])).stdout.trim());

const tmp = await mkdtemp(path.join(os.tmpdir(), "rp-quality-sample-"));
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe("the quality sample", () => {
  it("kept by the pass and compared with the output alone, matches the every-frame figure; a wrong output scores far lower", async () => {
    // Odd size (the pass scales it to 640×360) and 29.97 fps in Matroska (millisecond times): the hard case for pairing by time.
    const source = await makeVideo({ ext: "mkv", vcodec: "libx264", width: 641, height: 361, durationSec: 6, fps: 29.97, audio: true });
    const media = await probeMedia(source, { timeoutSec: 30 });
    const every = 5;
    const dir = await mkdtemp(path.join(tmp, "job-"));
    // veryfast makes B-frames, so the MP4's times are reordered and edited as a real job's are.
    const plan = buildPass({ input: source, media, encoder: "x264", downscale: false, sampleTimes: [1, 3], keyframeTimes: [3], x264Preset: "veryfast", qualitySample: { every, maxFrames: 240 } });
    expect(plan.size).toEqual({ width: 640, height: 360 });
    const pass = await runPass(plan, { dir, signal: new AbortController().signal });
    if (pass.kind !== "encoded" || !pass.qualitySample) throw new Error("the pass kept no sample");

    // Both branches saw the same frames: the output has every source frame, the sample every fifth from frame 0.
    const [sourceFrames, outputFrames, sampleFrames] = await Promise.all([countVideoFrames(source, 30), countVideoFrames(pass.output, 30), nutFrames(pass.qualitySample.file)]);
    expect(outputFrames).toBe(sourceFrames);
    expect(sampleFrames).toBe(Math.ceil(sourceFrames / every));

    const size = plan.size;
    const [sampled, full] = await Promise.all([
      measureSample({ output: pass.output, sample: pass.qualitySample.file, every, stallSec: 60 }),
      measureQuality({ output: pass.output, source, size, windows: [{ startSec: 0 }], stallSec: 60 }),
    ]);
    expect(sampled).toMatchObject({ sampled: true, sampledEvery: every, frames: sampleFrames });
    expect(full.frames).toBe(sourceFrames);
    expect(full.ssim).toBeGreaterThan(0.95);
    expect(Math.abs(sampled.ssim - full.ssim)).toBeLessThan(0.003);
    expect(Math.abs(sampled.psnr - full.psnr)).toBeLessThan(1);

    // Windows that seek (chunked and archive jobs) pair the same frames though the two files' first frames
    // sit at different times (Matroska's milliseconds against the MP4's ticks): placed from each file's
    // own first frame, they score as every frame does. Cut from each file's start instead, they paired
    // neighbouring frames and scored about 0.91 against 0.99.
    const windows = await measureQuality({ output: pass.output, source, size, windows: [{ startSec: 1, durationSec: 1.5 }, { startSec: 3.4, durationSec: 1.5 }], stallSec: 60 });
    expect(windows).toMatchObject({ sampled: true, sampledSec: 3 });
    expect(Math.abs(windows.ssim - full.ssim)).toBeLessThan(0.003);

    // Shifted by one frame (frame i of the output is the source's i+1): clearly lower, so frames really pair by time.
    const shifted = path.join(tmp, "shifted.mp4");
    await execa("ffmpeg", ["-v", "error", "-y", "-i", pass.output, "-vf", "trim=start_frame=1,setpts=PTS-STARTPTS", "-c:v", "libx264", "-preset", "veryfast", "-crf", "23", "-fps_mode", "passthrough", "-an", shifted]);
    const off = await measureSample({ output: shifted, sample: pass.qualitySample.file, every, stallSec: 60 });
    expect(off.ssim).toBeLessThan(sampled.ssim - 0.05);

    // Another picture at the same size and rate: far lower, under the default floor.
    const other = await makeVideo({ ext: "mp4", vcodec: "libx264", source: "smptebars", width: 640, height: 360, durationSec: 6, fps: 29.97 });
    const wrong = await measureSample({ output: other, sample: pass.qualitySample.file, every, stallSec: 60 });
    expect(wrong.ssim).toBeLessThan(0.8);

    // No readable sample: measured from the source again, as before, and the reason is reported.
    const reasons: string[] = [];
    const fallback = await measureOutput(
      { output: pass.output, sample: { file: path.join(dir, "missing.nut"), every }, source, size, windows: [{ startSec: 0 }], stallSec: 60 },
      (why) => reasons.push(why),
    );
    expect(fallback).toEqual(full);
    expect(reasons).toHaveLength(1);
  }, 120_000);
});
