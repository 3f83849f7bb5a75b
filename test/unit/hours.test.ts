import { describe, expect, it } from "vitest";
import { closing, isOpen, nextOpening, parseHours } from "../../gpu-runner/hours.ts";

/** Local time on a fixed day: the window is local time, whatever the machine's zone. */
const at = (h: number, m = 0, day = 10) => new Date(2026, 2, day, h, m, 0, 0);

describe("encode windows (REELPRESS_RUNNER_HOURS)", () => {
  it("parses START-END, with minutes or without", () => {
    expect(parseHours("22-07")).toEqual({ start: 22 * 60, end: 7 * 60, text: "22-07" });
    expect(parseHours(" 9:30-17:15 ")).toEqual({ start: 570, end: 1035, text: "9:30-17:15" });
    expect(parseHours(undefined)).toBeUndefined();
    expect(parseHours("")).toBeUndefined();
  });

  it.each(["22", "22-", "25-07", "22-07-09", "night", "7-7", "0-24", "10:60-11"])("refuses %s with one sentence naming the variable", (bad) => {
    expect(() => parseHours(bad)).toThrow(/^Bad setting REELPRESS_RUNNER_HOURS = ".*": must be START-END in local time/);
  });

  it("a window over midnight is open late and early, closed in the day", () => {
    const night = parseHours("22-07")!;
    expect(isOpen(night, at(22))).toBe(true);
    expect(isOpen(night, at(3, 30))).toBe(true);
    expect(isOpen(night, at(6, 59))).toBe(true);
    expect(isOpen(night, at(7))).toBe(false);
    expect(isOpen(night, at(12))).toBe(false);
    expect(isOpen(night, at(21, 59))).toBe(false);
  });

  it("a day window is open only between its ends", () => {
    const day = parseHours("09:30-17")!;
    expect(isOpen(day, at(9, 29))).toBe(false);
    expect(isOpen(day, at(9, 30))).toBe(true);
    expect(isOpen(day, at(16, 59))).toBe(true);
    expect(isOpen(day, at(17))).toBe(false);
  });

  it("says when it opens next: later today, tomorrow, or now", () => {
    const night = parseHours("22-07")!;
    expect(nextOpening(night, at(12))).toEqual(at(22));
    expect(nextOpening(night, at(3))).toEqual(at(3));
    const day = parseHours("9-17")!;
    expect(nextOpening(day, at(18))).toEqual(at(9, 0, 11));
    expect(nextOpening(day, at(8, 15))).toEqual(at(9));
  });

  it("says when an open window closes: later today or tomorrow morning", () => {
    const night = parseHours("22-07")!;
    expect(closing(night, at(23))).toEqual(at(7, 0, 11));
    expect(closing(night, at(3))).toEqual(at(7));
    expect(closing(parseHours("9-17")!, at(10))).toEqual(at(17));
  });
});
