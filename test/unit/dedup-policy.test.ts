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
    expect(winnerReason("best_quality", hevc)).toBe("best_quality: 1920×1080, hevc 3.00 Mbit/s, 60.0 s");
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
