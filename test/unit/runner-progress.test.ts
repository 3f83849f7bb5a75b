import { describe, expect, it } from "vitest";
import { ProgressParser } from "../../gpu-runner/ffmpeg-progress.ts";
import { renderJobLine } from "../../gpu-runner/progress.ts";

describe("ProgressParser", () => {
  it("turns -progress blocks split across chunks into updates", () => {
    const p = new ProgressParser();
    expect(p.push("frame=10\ntotal_size=1000\nout_time_us=2000000\nspe")).toEqual([]);
    expect(p.push("ed=2.5x\nprogress=continue\ntotal_size=N/A\nout_time_us=N/A\nprogress=continue\n")).toEqual([{ outTimeSec: 2, bytes: 1000, speed: 2.5 }]);
    expect(p.push("total_size=5000\nout_time_us=4000000\nspeed=N/A\nprogress=end\n")).toEqual([{ outTimeSec: 4, bytes: 5000 }]);
  });
});

describe("renderJobLine", () => {
  it("shows the stage, the job's percentage, elapsed, ETA and speed within the width", () => {
    const line = renderJobLine({ label: "films/a.avi", stage: "encode", percent: 25, etaSec: 30, startedAt: 0, speed: 2.5 }, 10_000, 100);
    expect(line).toBe("films/a.avi [██████░░░░░░░░░░░░░░░░░░] encode  25%  elapsed 0:10  ETA 0:30  2.5x");
  });
  it("shortens a long label from the left, never overflows, and shows an unknown ETA as unknown", () => {
    const line = renderJobLine({ label: `${"very/deep/".repeat(10)}clip.mkv`, stage: "read", percent: 0, startedAt: 0 }, 1000, 80);
    expect(line.length).toBeLessThan(80);
    expect(line).toMatch(/^….*clip\.mkv \[░{24}\] read   0%  elapsed 0:01  ETA --:--/);
  });
});
