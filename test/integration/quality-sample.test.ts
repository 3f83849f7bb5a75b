// The quality sample: the encode pass keeps every k-th source frame, scaled as the output's own, and the
// measurement decodes only the output. Real ffmpeg on a small generated video: the sample's figure must
// match the old every-frame comparison against the source, and a wrong output must score far lower.
// That measurement decodes every frame of the output with errors fatal and stands for verification's
// tail decode: a damaged or cut-short output must fail verification, never fall back and be published.
import { createHash } from "node:crypto";
import { copyFile, mkdtemp, open, rm, stat, truncate } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { buildPass } from "../../gpu-runner/encode-args.ts";
import { runPass } from "../../gpu-runner/encode.ts";
import { VerifyError, verifyMeasured } from "../../gpu-runner/verify.ts";
import { declaredFrames } from "../../shared/media/decode-check.ts";
import { countVideoFrames, probeMedia } from "../../shared/media/ffprobe.ts";
import { fingerprintAt } from "../../shared/media/fingerprint.ts";
import { measureQuality, measureSample } from "../../shared/media/quality.ts";
import { makeVideo } from "../kit/fixtures.ts";

/** The sample is NUT, which library inputs may not be (FORMAT_WHITELIST): counted here by name. */
const nutFrames = async (file: string) =>
  Number((await execa("ffprobe", ["-v", "error", "-f", "nut", "-count_frames", "-select_streams", "v:0", "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", file])).stdout.trim());

const tmp = await mkdtemp(path.join(os.tmpdir(), "rp-quality-sample-"));
afterAll(() => rm(tmp, { recursive: true, force: true }));

/**
 * The runner's pass over `source` as a one-pass job plans it, keeping one frame in `every` (veryfast makes
 * B-frames, so the MP4's times are reordered and edited as a real job's are).
 */
async function passWithSample(source: string, every: number) {
  const media = await probeMedia(source, { timeoutSec: 30 });
  const dir = await mkdtemp(path.join(tmp, "job-"));
  const plan = buildPass({ input: source, media, encoder: "x264", downscale: false, sampleTimes: [1, 3], keyframeTimes: [3], x264Preset: "veryfast", qualitySample: { every, maxFrames: 240 } });
  const pass = await runPass(plan, { dir, signal: new AbortController().signal });
  if (pass.kind !== "encoded" || !pass.qualitySample) throw new Error("the pass kept no sample");
  return { media, dir, plan, pass: { ...pass, qualitySample: pass.qualitySample } };
}

describe("the quality sample", () => {
  it("kept by the pass and compared with the output alone, matches the every-frame figure; a wrong output scores far lower", async () => {
    // Odd size (the pass scales it to 640×360) and 29.97 fps in Matroska (millisecond times): the hard case for pairing by time.
    const source = await makeVideo({ ext: "mkv", vcodec: "libx264", width: 641, height: 361, durationSec: 6, fps: 29.97, audio: true });
    const every = 5;
    const { media, dir, plan, pass } = await passWithSample(source, every);
    expect(plan.size).toEqual({ width: 640, height: 360 });

    // Both branches saw the same frames: the output has every source frame, the sample every fifth from frame 0.
    const [sourceFrames, outputFrames, sampleFrames] = await Promise.all([countVideoFrames(source, 30), countVideoFrames(pass.output, 30), nutFrames(pass.qualitySample.file)]);
    expect(outputFrames).toBe(sourceFrames);
    expect(sampleFrames).toBe(Math.ceil(sourceFrames / every));

    const size = plan.size;
    const [{ quality: sampled, outputFrames: decoded }, full] = await Promise.all([
      measureSample({ output: pass.output, sample: pass.qualitySample.file, every, stallSec: 60 }),
      measureQuality({ output: pass.output, source, size, windows: [{ startSec: 0 }], stallSec: 60 }),
    ]);
    expect(sampled).toMatchObject({ sampled: true, sampledEvery: every, frames: sampleFrames });
    // The same run decoded every frame of the output, not only those up to the last sample frame.
    expect(decoded).toBe(outputFrames);
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
    const { quality: off } = await measureSample({ output: shifted, sample: pass.qualitySample.file, every, stallSec: 60 });
    expect(off.ssim).toBeLessThan(sampled.ssim - 0.05);

    // Another picture at the same size and rate: far lower, under the default floor.
    const other = await makeVideo({ ext: "mp4", vcodec: "libx264", source: "smptebars", width: 640, height: 360, durationSec: 6, fps: 29.97 });
    const { quality: wrong } = await measureSample({ output: other, sample: pass.qualitySample.file, every, stallSec: 60 });
    expect(wrong.ssim).toBeLessThan(0.8);

  }, 120_000);

  it("decodes every frame of the output: a damaged or cut-short output fails verification, a missing sample falls back", async () => {
    const source = await makeVideo({ ext: "mkv", vcodec: "libx264", width: 640, height: 360, durationSec: 6, fps: 25, audio: true });
    const every = 5;
    const { media, dir, plan, pass } = await passWithSample(source, every);
    const expected = { source: media, plan, sourceFingerprints: await fingerprintAt(source, plan.keyframeTimes, { timeoutSec: 30 }), timeoutSec: 30 };
    const measure = { source, size: plan.size, windows: [{ startSec: 0 }], stallSec: 60, sample: pass.qualitySample };
    const reasons: string[] = [];
    const check = (output: string, sample = pass.qualitySample!) => verifyMeasured(output, expected, { ...measure, sample }, (why) => reasons.push(why));

    // A good output: measured on the sample, verified, no fallback.
    const good = await check(pass.output);
    const measured = await measureSample({ output: pass.output, sample: pass.qualitySample.file, every, stallSec: 60 });
    expect(good.quality).toEqual(measured.quality);
    expect(good.media.video.codec).toBe("h264");
    expect(reasons).toEqual([]);
    // The frames decoded are those the index declares, read also where a rotation adds side data to the stream.
    const rotated = path.join(tmp, "rotated.mp4");
    await execa("ffmpeg", ["-v", "error", "-y", "-i", pass.output, "-map", "0", "-c", "copy", "-metadata:s:v:0", "rotate=90", rotated]);
    expect(measured.outputFrames).toBeGreaterThan(100);
    expect(await declaredFrames(pass.output, 30)).toBe(measured.outputFrames);
    expect(await declaredFrames(rotated, 30)).toBe(measured.outputFrames);

    // No readable sample: the output decodes whole, so it is measured from the source again, and the reason is reported.
    const fallback = await check(pass.output, { file: path.join(dir, "missing.nut"), every });
    expect(fallback.quality).toEqual(await measureQuality({ output: pass.output, source, size: plan.size, windows: [{ startSec: 0 }], stallSec: 60 }));
    expect(reasons).toHaveLength(1);
    reasons.length = 0;

    // Damaged in the middle (about 1.5 s in, 1.5 s before the last 3 s the tail check decodes, index intact):
    // the sample's measurement fails on it, and so does the whole decode verification makes then.
    const size = (await stat(pass.output)).size;
    const damaged = path.join(tmp, "damaged.mp4");
    await copyFile(pass.output, damaged);
    const f = await open(damaged, "r+");
    await f.write(noise(4096), 0, 4096, Math.floor(size * 0.25));
    await f.close();
    await expect(measureSample({ output: damaged, sample: pass.qualitySample.file, every, stallSec: 60 })).rejects.toThrow(/measuring quality on the sample failed/);
    const broken = await check(damaged).catch((e: unknown) => e);
    expect(broken).toBeInstanceOf(VerifyError);
    expect((broken as Error).message).toMatch(/output failed verification: it does not decode/);
    expect(reasons).toHaveLength(1);

    // Cut short with its index in front (faststart, the index still promising every frame): probes as whole, does not decode.
    const front = path.join(tmp, "front.mp4");
    await execa("ffmpeg", ["-v", "error", "-y", "-i", pass.output, "-map", "0", "-c", "copy", "-movflags", "+faststart", front]);
    // Cut where a packet starts, ffmpeg 5.1 ends as at the file's end, exit 0 and silent even with -xerror:
    // only the count of frames decoded against the index's finds it.
    const starts = (await execa("ffprobe", ["-v", "error", "-show_entries", "packet=pos", "-of", "csv=p=0", front])).stdout.split("\n").map(Number);
    const atPacket = path.join(tmp, "at-packet.mp4");
    await copyFile(front, atPacket);
    await truncate(atPacket, starts[Math.floor(starts.length * 0.6)]);
    await truncate(front, Math.floor((await stat(front)).size * 0.7));
    for (const file of [front, atPacket]) await expect(probeMedia(file, { timeoutSec: 30 })).resolves.toMatchObject({ video: { codec: "h264" } });
    await expect(check(front)).rejects.toThrow(/output failed verification: it does not decode/);
    await expect(check(atPacket)).rejects.toThrow(/output failed verification: it does not decode: only \d+ of its \d+ video frames decode/);

    // Cut short with its index at the end, as the pass writes it: no index, a failed verification (not an unreadable source).
    const cut = path.join(tmp, "cut.mp4");
    await copyFile(pass.output, cut);
    await truncate(cut, Math.floor(size * 0.7));
    await expect(check(cut)).rejects.toBeInstanceOf(VerifyError);
  }, 120_000);
});

/** Bytes that are no valid H.264 or AAC, the same each run. */
function noise(n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i += 32) createHash("sha256").update(String(i)).digest().copy(out, i);
  return out;
}
