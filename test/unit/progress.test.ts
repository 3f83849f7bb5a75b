import { describe, expect, it } from "vitest";
import { renderProgress } from "../../cli/progress.ts";
import { formatDuration } from "../../shared/rules/format.ts";

describe("progress bar", () => {
  it("shows done/total, percent, speed and time left", () => {
    const line = renderProgress({ done: 50 * 1024 ** 2, total: 100 * 1024 ** 2, perSec: 5 * 1024 ** 2, unit: "bytes", label: "3/12 files" }, 120);
    expect(line).toMatch(/^3\/12 files \[█+░+\]  50%  50\.0 MiB\/100\.0 MiB  5\.0 MiB\/s  ETA 0:10$/);
  });

  it("never reaches the last column, however narrow the terminal or long the label", () => {
    for (const width of [30, 60, 80, 120, 200]) {
      const line = renderProgress({ done: 1, total: 3, perSec: 0, unit: "items", label: "x".repeat(100) }, width);
      expect(line.length).toBeLessThan(width);
      if (width >= 80) expect(line).toContain(" 33%  1/3  --/s  ETA --:--");
    }
  });

  it("shows item rates with one decimal", () => {
    expect(renderProgress({ done: 3, total: 10, perSec: 0.16750418, unit: "items" }, 80)).toContain(" 30%  3/10  0.2/s  ETA 0:42");
  });

  it("formats durations as m:ss or h:mm:ss", () => {
    expect(formatDuration(0)).toBe("0:00");
    expect(formatDuration(75)).toBe("1:15");
    expect(formatDuration(3725)).toBe("1:02:05");
    expect(formatDuration(Infinity)).toBe("--:--");
  });
});
