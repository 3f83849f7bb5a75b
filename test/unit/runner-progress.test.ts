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
  it("shows media time encoded, elapsed, remaining and speed within the width", () => {
    const line = renderJobLine({ label: "films/a.avi", durationSec: 120, outTimeSec: 30, startedAt: 0, speed: 2.5 }, 10_000, 100);
    expect(line).toBe("films/a.avi [██████░░░░░░░░░░░░░░░░░░]  25%  0:30/2:00  elapsed 0:10  ETA 0:30  2.5x");
  });
  it("shortens a long label from the left and never overflows", () => {
    const line = renderJobLine({ label: `${"very/deep/".repeat(10)}clip.mkv`, durationSec: 60, outTimeSec: 0, startedAt: 0 }, 1000, 80);
    expect(line.length).toBeLessThan(80);
    expect(line).toMatch(/^….*clip\.mkv \[░{24}\]   0%  0:00\/1:00  elapsed 0:01  ETA --:--/);
  });
});
