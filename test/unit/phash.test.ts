import { describe, expect, it } from "vitest";
import { PHASH_SIDE, hammingDistance, phashOf } from "../../shared/media/phash.ts";

const N = PHASH_SIDE;
const frame = (f: (x: number, y: number) => number) => Uint8Array.from({ length: N * N }, (_, i) => Math.max(0, Math.min(255, Math.round(f(i % N, Math.floor(i / N))))));
const scene = (x: number, y: number) => 100 + 40 * Math.sin(x / 4) + 30 * Math.cos(y / 5) + (x > 20 && y < 10 ? 30 : 0);

describe("phash", () => {
  it("is stable under brightness shifts and mild noise, and far for other content", () => {
    const a = phashOf(frame(scene));
    const brighter = phashOf(frame((x, y) => scene(x, y) + 15));
    const noisy = phashOf(frame((x, y) => scene(x, y) + ((x * 7 + y * 13) % 5) - 2));
    const other = phashOf(frame((x, y) => 128 + 80 * Math.sin((x + y) / 3)));
    expect(hammingDistance(a.hash, brighter.hash)).toBeLessThanOrEqual(2);
    expect(hammingDistance(a.hash, noisy.hash)).toBeLessThanOrEqual(6);
    expect(hammingDistance(a.hash, other.hash)).toBeGreaterThan(20);
    expect(a.dark).toBe(false);
  });

  it("marks dark and flat frames", () => {
    expect(phashOf(frame(() => 3)).dark).toBe(true);
    expect(phashOf(frame(() => 140)).dark).toBe(true);
    expect(phashOf(frame((x) => 5 + (x % 3))).dark).toBe(true);
  });

  it("counts differing bits", () => {
    expect(hammingDistance("0000000000000000", "ffffffffffffffff")).toBe(64);
    expect(hammingDistance("00000000000000f0", "0000000000000001")).toBe(5);
    expect(() => phashOf(new Uint8Array(10))).toThrow(/32×32/);
  });
});
