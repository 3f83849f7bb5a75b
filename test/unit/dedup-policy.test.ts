import { describe, expect, it } from "vitest";
import type { Entry } from "../../shared/dedup/entry.ts";
import type { Policy } from "../../shared/dedup/options.ts";
import { comparator, loserReason, winnerReason } from "../../shared/dedup/policy.ts";
import { entriesOf, syntheticRecord } from "../kit/dedup-synthetic.ts";

const winner = (policy: Policy, entries: Entry[]) => [...entries].sort(comparator(policy))[0].key;

describe("winner policies", () => {
  const [hd, sd, hevc, trimmed, old] = entriesOf([
    syntheticRecord("hd.mp4", { width: 1920, height: 1080, bitrate: 4e6, durationSec: 60, lastModified: "2024-03-01T00:00:00Z" }),
    syntheticRecord("sd.mp4", { width: 854, height: 480, bitrate: 9e6, durationSec: 60, lastModified: "2024-02-01T00:00:00Z" }),
    syntheticRecord("hevc.mp4", { width: 1920, height: 1080, bitrate: 3e6, codec: "hevc", durationSec: 60, lastModified: "2024-04-01T00:00:00Z" }),
    syntheticRecord("trimmed.mp4", { width: 1920, height: 1080, bitrate: 4.2e6, durationSec: 55, lastModified: "2024-05-01T00:00:00Z" }),
    syntheticRecord("old.avi", { width: 640, height: 360, bitrate: 1e6, codec: "mpeg4", durationSec: 60, lastModified: "2020-01-01T00:00:00Z" }),
  ]);
  const all = [hd, sd, hevc, trimmed, old];

  it("best_quality: resolution, then codec-aware bitrate, then duration, then age", () => {
    // HEVC at 3 Mbit/s carries about as much as H.264 at 4.8: it beats the H.264 copy at 4.
    expect(winner("best_quality", all)).toBe("hevc.mp4");
    expect(winner("best_quality", [hd, sd, trimmed])).toBe("hd.mp4");
    expect(loserReason("best_quality", sd, hd)).toMatch(/^lower resolution \(854×480 < 1920×1080\)$/);
    expect(loserReason("best_quality", hd, hevc)).toMatch(/^lower codec-aware bitrate \(h264 4\.00 Mbit\/s/);
    // 5 % more bitrate is noise; 5 s less footage is not.
    expect(loserReason("best_quality", trimmed, hd)).toBe("shorter (55.0 s < 60.0 s)");
    expect(winnerReason("best_quality", hevc)).toBe("best_quality: 1920×1080, hevc 3.00 Mbit/s ≈ 4.80 Mbit/s H.264, 60.0 s");
  });

  it("best_quality trusts nominal size when a smaller copy reads as richer than the larger one (the measure is off)", () => {
    // Hard-edged test pictures read as 1/8 detail in the original and full detail in its downscale.
    const [original, downscale] = entriesOf([
      syntheticRecord("original.mkv", { width: 320, height: 240, bitrate: 0.8e6, picture: { detail: 0.125, chroma: 50, staticEdges: 0.1 } }),
      syntheticRecord("downscale.mkv", { width: 192, height: 144, bitrate: 0.45e6, picture: { detail: 1, chroma: 50, staticEdges: 0.1 } }),
    ]);
    expect(winner("best_quality", [downscale, original])).toBe("original.mkv");
    expect(loserReason("best_quality", downscale, original)).toMatch(/^lower resolution \(192×144 < 320×240/);
  });

  it("best_quality by the picture a file really holds: colour, real detail, no overlay, bits per pixel", () => {
    const full = { detail: 1, chroma: 50, staticEdges: 0.17 };
    const [source, upscale, grey, marked, small] = entriesOf([
      syntheticRecord("source.mp4", { width: 640, height: 360, bitrate: 1e6, picture: full }),
      // Four times the pixels and twice the bits, but the detail of 640×360.
      syntheticRecord("upscale.mp4", { width: 1280, height: 720, bitrate: 2e6, picture: { ...full, detail: 0.5 } }),
      syntheticRecord("grey.mp4", { width: 1280, height: 720, bitrate: 3e6, picture: { ...full, chroma: 0.4 } }),
      syntheticRecord("marked.mp4", { width: 640, height: 360, bitrate: 1.05e6, picture: { ...full, staticEdges: 0.23 } }),
      syntheticRecord("small.mp4", { width: 320, height: 180, bitrate: 1e6, picture: full }),
    ]);
    expect(winner("best_quality", [source, upscale, grey, marked, small])).toBe("source.mp4");
    expect(loserReason("best_quality", upscale, source)).toMatch(/^upscaled: 1280×720 holds the detail of 640×360/);
    expect(loserReason("best_quality", grey, source)).toMatch(/^grayscale/);
    expect(loserReason("best_quality", marked, source)).toMatch(/^edges that never move/);
    // An upscale still holds more than a copy smaller than its source.
    expect(winner("best_quality", [small, upscale])).toBe("upscale.mp4");
    expect(loserReason("best_quality", small, upscale)).toBe("lower resolution (320×180 < 1280×720, whose real detail is 640×360)");
    expect(winnerReason("best_quality", upscale)).toBe("best_quality: 1280×720, real detail 640×360, colour, h264 2.00 Mbit/s ≈ 2.00 Mbit/s H.264, 60.0 s");
    // Records probed before picture stats: nominal resolution, as before.
    const [bare] = entriesOf([syntheticRecord("bare.mp4", { width: 1280, height: 720, bitrate: 2e6 })]);
    expect(winner("best_quality", [source, bare])).toBe("bare.mp4");
  });

  it("oldest, newest, smallest, largest", () => {
    expect(winner("oldest", all)).toBe("old.avi");
    expect(winner("newest", all)).toBe("trimmed.mp4");
    expect(winner("smallest", all)).toBe("old.avi");
    expect(winner("largest", all)).toBe("sd.mp4");
    expect(loserReason("oldest", hd, old)).toMatch(/^newer \(2024-03-01 00:00:00 after 2020-01-01 00:00:00\)$/);
    expect(loserReason("largest", hd, sd)).toMatch(/^smaller/);
  });

  it("settles full ties by key, so the same manifest gives the same report", () => {
    const [a, b] = entriesOf([syntheticRecord("b.mp4"), syntheticRecord("a.mp4")]);
    expect(winner("best_quality", [a, b])).toBe("a.mp4");
    expect(loserReason("best_quality", a, b)).toBe("identical by every measure; a.mp4 sorts first");
  });
});
