import { describe, expect, it } from "vitest";
import { STAGES, StageClock, jobProgress, overallPercent } from "../../shared/rules/job-progress.ts";

describe("overallPercent", () => {
  it("adds the stages before to the share of the current one, in order", () => {
    expect(overallPercent("read", 0, true)).toBe(0);
    expect(overallPercent("read", 1, true)).toBeCloseTo(10);
    expect(overallPercent("split", 0.5, true)).toBeCloseTo(15);
    expect(overallPercent("chunks", 0.5, true)).toBeCloseTo(50);
    expect(overallPercent("merge", 1, true)).toBeCloseTo(95);
    expect(overallPercent("publish", 1, true)).toBeCloseTo(100);
    expect(overallPercent("encode", 0.5)).toBeCloseTo(47.5);
    // Out of range or unknown fractions never leave 0–100.
    expect(overallPercent("chunks", 7, true)).toBeCloseTo(80);
    expect(overallPercent("chunks", Number.NaN, true)).toBeCloseTo(20);
  });
  it("reads a one-pass encode of a long source (split fell back) against one-pass weights", () => {
    expect(overallPercent("encode", 1, true)).toBeCloseTo(95);
  });
  it("never goes down while a chunked job moves forward through its stages", () => {
    let last = 0;
    for (const stage of ["read", "split", "chunks", "merge", "publish"] as const) {
      for (let f = 0; f <= 1; f += 0.125) {
        const p = overallPercent(stage, f, true);
        expect(p).toBeGreaterThanOrEqual(last);
        last = p;
      }
    }
  });
});

describe("jobProgress", () => {
  it("gives no ETA before the stage's pace is known, and none without progress", () => {
    expect(jobProgress(40, { atMs: 0, percent: 30 }, 1000)).toEqual({ percent: 40 });
    expect(jobProgress(30, { atMs: 0, percent: 30 }, 60_000)).toEqual({ percent: 30 });
  });
  it("projects the rest at the current stage's pace", () => {
    // 10 points in 10 s: 50 points left take 50 s.
    expect(jobProgress(50, { atMs: 0, percent: 40 }, 10_000)).toEqual({ percent: 50, etaSec: 50 });
  });
  it("never says 100 % before the end, nor an ETA of 0 while work is left (the '88 % … ETA 0:00' of the issue)", () => {
    expect(jobProgress(99.97, { atMs: 0, percent: 1 }, 3_000)).toEqual({ percent: 99, etaSec: 1 });
    expect(jobProgress(100, { atMs: 0, percent: 1 }, 3_000)).toEqual({ percent: 100, etaSec: 0 });
    // A sweep over many states: whenever an ETA is given it agrees with the percentage.
    for (const stage of STAGES) {
      for (const f of [0, 0.001, 0.3, 0.88, 0.9999, 1]) {
        for (const elapsed of [0, 500, 2000, 60_000]) {
          const p = overallPercent(stage, f, stage !== "encode");
          const { percent, etaSec } = jobProgress(p, { atMs: 0, percent: 0 }, elapsed);
          expect(percent).toBeGreaterThanOrEqual(0);
          expect(percent).toBeLessThanOrEqual(100);
          if (percent < 100) expect(etaSec === undefined || etaSec >= 1).toBe(true);
          else expect(etaSec).toBe(0);
        }
      }
    }
  });
});

describe("StageClock", () => {
  it("starts a new pace at each stage, and says when the stage changed", () => {
    const clock = new StageClock(true);
    expect(clock.view(0)).toBeUndefined();
    expect(clock.update("read", 0, 0)).toBe(true);
    expect(clock.update("read", 1, 100)).toBe(false);
    expect(clock.update("split", 0, 100)).toBe(true);
    expect(clock.update("split", 0.5, 5_100)).toBe(false);
    // 5 points in 5 s since the split began (not since the instant read): 85 points left, 85 s.
    expect(clock.view(5_100)).toEqual({ stage: "split", percent: 15, etaSec: 85 });
  });
});
