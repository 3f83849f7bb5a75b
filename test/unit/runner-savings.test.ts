import { describe, expect, it } from "vitest";
import { cannotSave, projectedSize, sizeBudget } from "../../gpu-runner/savings.ts";

describe("early abort", () => {
  const MB = 1_000_000;
  it("has a budget only for rows that must save", () => {
    expect(sizeBudget(100 * MB, 0.05)).toBe(95 * MB);
    expect(sizeBudget(100 * MB, 0)).toBeUndefined();
    expect(cannotSave({ outTimeSec: 50, bytes: 500 * MB }, 100, undefined)).toBeUndefined();
  });
  it("stops at once when the output is already over budget", () => {
    expect(cannotSave({ outTimeSec: 1, bytes: 96 * MB }, 600, 95 * MB)).toMatch(/already 96000000 bytes/);
  });
  it("stops on a projection only after the first seconds", () => {
    // 600 s video, 10 MB after 30 s → 200 MB projected against 95 MB; but 5 s in it is still noise.
    expect(projectedSize({ outTimeSec: 30, bytes: 10 * MB }, 600)).toBe(200 * MB);
    expect(cannotSave({ outTimeSec: 5, bytes: 2 * MB }, 600, 95 * MB)).toBeUndefined();
    expect(cannotSave({ outTimeSec: 30, bytes: 10 * MB }, 600, 95 * MB)).toMatch(/projected 200000000 bytes after 30.0 s of 600.0 s/);
    expect(cannotSave({ outTimeSec: 30, bytes: 4 * MB }, 600, 95 * MB)).toBeUndefined();
  });
});
