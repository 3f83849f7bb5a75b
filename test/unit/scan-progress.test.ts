import { describe, expect, it } from "vitest";
import { MAX_SAMPLES, RATE_WINDOW_MS, addSample, formatDuration, rateOf, scanLine, scanReport, type Sample } from "../../shared/rules/scan-progress.ts";
import type { ScanProgress } from "../../shared/schemas.ts";

const progress = (over: Partial<ScanProgress> = {}): ScanProgress => ({
  startedAt: "2026-01-01T00:00:00.000Z",
  updatedAt: "2026-01-01T00:10:00.000Z",
  listed: true,
  found: 1000,
  queued: 900,
  probed: 400,
  planned: 300,
  encoded: 20,
  samples: [],
  ...over,
});

describe("first scan progress: rate and ETA", () => {
  it("measures the rate over the last minute, not since the start", () => {
    let samples: Sample[] = [];
    // Slow at first (1/s for 5 minutes), then 10/s for the last 2 minutes, a sample every 2 s.
    let done = 0;
    for (let t = 0; t <= 420_000; t += 2000) {
      done += t <= 300_000 ? 2 : 20;
      samples = addSample(samples, [t, done]);
    }
    expect(samples.length).toBeLessThanOrEqual(MAX_SAMPLES);
    expect(samples.at(-1)![0] - samples[0][0]).toBeGreaterThanOrEqual(RATE_WINDOW_MS - 2000);
    expect(rateOf(samples)).toBeCloseTo(10, 5);
  });

  it("has no rate until two samples a second apart, and a zero rate when nothing moves", () => {
    expect(rateOf([])).toBeUndefined();
    expect(rateOf([[0, 5]])).toBeUndefined();
    expect(rateOf([[0, 5], [500, 9]])).toBeUndefined();
    expect(rateOf([[0, 5], [10_000, 5]])).toBe(0);
  });

  it("keeps samples in time order: a new sample replaces later ones (a clock set back)", () => {
    const samples = addSample([[1000, 1], [3000, 2]], [2000, 5]);
    expect(samples).toEqual([[1000, 1], [2000, 5]]);
  });

  it("gives an ETA from what is left at the current rate, only once the listing is done", () => {
    const samples: Sample[] = [[0, 100], [60_000, 700]]; // 10/s
    expect(scanReport(progress({ samples }))).toMatchObject({ left: 600, rate_per_sec: 10, eta_sec: 60 });
    expect(scanReport(progress({ samples, listed: false }))).toMatchObject({ left: 600, rate_per_sec: 10, eta_sec: null });
    expect(scanReport(progress({ samples: [[0, 100], [60_000, 100]] }))).toMatchObject({ rate_per_sec: 0, eta_sec: null });
    expect(scanReport(progress({ probed: 1000, finishedAt: "2026-01-01T00:11:00.000Z" }))).toMatchObject({ left: 0, eta_sec: 0, finished_at: "2026-01-01T00:11:00.000Z" });
  });

  it("says it in one line", () => {
    const r = scanReport(progress({ found: 12_300, probed: 4000, samples: [[0, 0], [100_000, 4000]] }));
    expect(scanLine(r)).toBe("listed: 12,300 found, 4,000 probed, 300 planned, 20 encoded, 8,300 left, 40/s, about 3 min left");
    expect(scanLine(scanReport(progress({ listed: false })))).toMatch(/^listing: 1,000 found, .* 600 left$/);
    expect(formatDuration(42)).toBe("42 s");
    expect(formatDuration(3900)).toBe("1 h 5 min");
  });
});
