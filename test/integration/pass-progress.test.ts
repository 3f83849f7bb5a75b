// The encode pass reports progress from its start. ffmpeg 5.1 prints no progress until every output of a
// pass has its first frame; a montage tiled in the pass comes out only near the end, so jobs showed 0 %
// until then (then 88 %). The montage's frames now leave the pass one by one and are tiled after it.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { execa } from "execa";
import { PASS_FILES, buildPass, montageGrid, montageTimes } from "../../gpu-runner/encode-args.ts";
import { runPass } from "../../gpu-runner/encode.ts";
import { probeMedia } from "../../shared/media/ffprobe.ts";
import { makeVideo } from "../kit/fixtures.ts";

const tmp = await mkdtemp(path.join(os.tmpdir(), "rp-pass-progress-"));
afterAll(() => rm(tmp, { recursive: true, force: true }));

describe("the encode pass", () => {
  it("reports progress before the montage's last frame, and still makes the montage", async () => {
    const source = await makeVideo({ ext: "mp4", vcodec: "libx264", width: 640, height: 360, durationSec: 20, fps: 25 });
    const media = await probeMedia(source, { timeoutSec: 30 });
    const lastTile = Math.max(...montageTimes(media.durationSec, montageGrid(media.durationSec)));
    expect(lastTile).toBeGreaterThan(15);
    const plan = buildPass({ input: source, media, encoder: "x264", downscale: false, sampleTimes: [1, 10, 19], keyframeTimes: [10], x264Preset: "medium" });
    const seen: number[] = [];
    const dir = await mkdtemp(path.join(tmp, "job-"));
    const pass = await runPass(plan, { dir, signal: new AbortController().signal, onProgress: (p) => seen.push(p.outTimeSec) });
    if (pass.kind !== "encoded") throw new Error("the pass stopped");
    expect(seen.filter((t) => t > 0 && t < lastTile).length).toBeGreaterThan(0);
    // The montage: one JPEG, a 2×2 grid of the frames the pass kept.
    const size = async (file: string, format: string[] = []) =>
      (await execa("ffprobe", ["-v", "error", ...format, "-select_streams", "v:0", "-show_entries", "stream=codec_name,width,height", "-of", "csv=p=0", file])).stdout.trim().split(",");
    const [codec, width, height] = await size(pass.montage);
    const [, tileWidth, tileHeight] = await size(path.join(dir, PASS_FILES.montageTiles), ["-f", "nut"]);
    expect(montageGrid(media.durationSec)).toBe(2);
    expect([codec, Number(width), Number(height)]).toEqual(["mjpeg", 2 * Number(tileWidth), 2 * Number(tileHeight)]);
    expect(pass.fingerprints.map((f) => f.t)).toEqual([1, 10, 19]);
  }, 120_000);
});
