// best_quality on pairs made by ffmpeg: a source against copies that look bigger or richer on paper
// (upscale, re-encodes at higher bitrate) but carry less picture. Picture stats come from the same
// sampling the probe runs.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { beforeAll, describe, expect, it } from "vitest";
import { FrameStore, entryFrom, type Entry } from "../../shared/dedup/entry.ts";
import { comparator, loserReason, winnerReason } from "../../shared/dedup/policy.ts";
import { probeMedia } from "../../shared/media/ffprobe.ts";
import { sampleTimes } from "../../shared/media/fingerprint.ts";
import { sampleVideo } from "../../shared/media/sample.ts";

const X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-g", "25"];
/** Filters and encoder settings after the source (mandelbrot, 320×240, colour, 4 s). */
const VARIANTS: Record<string, string[]> = {
  source: X264,
  upscale2: ["-vf", "scale=640:480", ...X264],
  upscale4: ["-vf", "scale=1280:960", ...X264],
  grayscale: ["-vf", "format=gray", ...X264],
  low: [...X264, "-crf", "45"],
  // A burnt-in logo (a framed box, 5 % of the picture), re-encoded at a higher bitrate than the source.
  watermark: ["-vf", "drawbox=x=iw-110:y=ih-44:w=100:h=36:color=white@0.8:t=4,drawbox=x=iw-90:y=ih-32:w=60:h=12:color=white@0.6:t=fill", ...X264, "-crf", "18"],
};

async function entryOf(name: string, args: string[], id: number, store: FrameStore): Promise<Entry> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-winner-"));
  try {
    const file = path.join(dir, `${name}.mp4`);
    await execa("ffmpeg", ["-hide_banner", "-loglevel", "error", "-f", "lavfi", "-i", "mandelbrot=size=320x240:rate=25", "-t", "4", ...args, file]);
    const media = await probeMedia(file, { timeoutSec: 30 });
    const { fingerprints, picture } = await sampleVideo(file, media, { times: sampleTimes(media.durationSec, 16), timeoutSec: 30, dir });
    const record = { key: `${name}.mp4`, size: 1, etag: `"${name}"`, state: "probed" as const, media, fingerprints, picture, updatedAt: "2024-01-01T00:00:00.000Z" };
    return entryFrom(record, id, store);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe("best_quality on ffmpeg-made pairs (real ffmpeg)", () => {
  const e: Record<string, Entry> = {};
  beforeAll(async () => {
    const store = new FrameStore();
    const names = Object.keys(VARIANTS);
    const entries = await Promise.all(names.map((n, i) => entryOf(n, VARIANTS[n], i, store)));
    names.forEach((n, i) => (e[n] = entries[i]));
  });
  const keep = (a: Entry, b: Entry) => [a, b].sort(comparator("best_quality"))[0].key;

  it("measures what each copy really carries", () => {
    expect(e.source.picture).toMatchObject({ detail: 1 });
    expect(e.upscale2.picture).toMatchObject({ detail: 0.5 });
    expect(e.upscale4.picture).toMatchObject({ detail: 0.25 });
    expect(e.grayscale.picture!.chroma).toBeLessThan(1);
    expect(e.source.picture!.chroma).toBeGreaterThan(20);
    expect(e.watermark.picture!.staticEdges).toBeGreaterThan(e.source.picture!.staticEdges + 0.03);
  });

  it("keeps the source against an upscale, a grayscale, a low-quality and a watermarked copy", () => {
    for (const copy of ["upscale2", "upscale4", "grayscale", "low", "watermark"]) {
      expect(keep(e.source, e[copy]), copy).toBe("source.mp4");
      expect(keep(e[copy], e.source), copy).toBe("source.mp4");
    }
    expect(loserReason("best_quality", e.upscale4, e.source)).toMatch(/^upscaled: 1280×960 holds the detail of 320×240/);
    expect(loserReason("best_quality", e.grayscale, e.source)).toMatch(/^grayscale/);
    expect(loserReason("best_quality", e.low, e.source)).toMatch(/codec-aware bitrate/);
    expect(loserReason("best_quality", e.watermark, e.source)).toMatch(/^edges that never move/);
    expect(winnerReason("best_quality", e.source)).toMatch(/^best_quality: 320×240, full detail, colour, h264/);
    expect(winnerReason("best_quality", e.upscale4)).toMatch(/^best_quality: 1280×960, real detail 320×240, colour/);
  });
});
