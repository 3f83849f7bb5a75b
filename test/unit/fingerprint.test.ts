import { describe, expect, it } from "vitest";
import { FINGERPRINT_FILTER, FINGERPRINT_SIDE, contentBox, fingerprintFrame, sampleTimes, seekBackSec, seekTo } from "../../shared/media/fingerprint.ts";
import { hammingDistance } from "../../shared/media/phash.ts";
import { FrameFingerprint } from "../../shared/schemas.ts";

const N = FINGERPRINT_SIDE;
const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));
/** A picture as a function of (u, v) in [0, 1)², drawn into the box [x0,x1)×[y0,y1) of a black frame. */
function frame(pic: (u: number, v: number) => number, box = { x0: 0, y0: 0, x1: N, y1: N }): Uint8Array {
  const out = new Uint8Array(N * N);
  for (let y = box.y0; y < box.y1; y++)
    for (let x = box.x0; x < box.x1; x++) out[y * N + x] = clamp(pic((x - box.x0 + 0.5) / (box.x1 - box.x0), (y - box.y0 + 0.5) / (box.y1 - box.y0)));
  return out;
}
const scene = (u: number, v: number) => 110 + 60 * Math.sin(u * 9) + 40 * Math.cos(v * 7) + (u > 0.6 && v < 0.3 ? 50 : 0);
const other = (u: number, v: number) => 120 + 90 * Math.sin((u + 2 * v) * 12);

describe("fingerprintFrame", () => {
  it("crops letterbox and pillarbox bars before hashing", () => {
    const plain = fingerprintFrame(frame(scene), 1);
    const letterbox = frame(scene, { x0: 0, y0: 8, x1: N, y1: N - 8 });
    const pillarbox = frame(scene, { x0: 10, y0: 0, x1: N - 10, y1: N });
    expect(contentBox(letterbox)).toEqual({ x0: 0, y0: 8, x1: N, y1: N - 8 });
    expect(contentBox(pillarbox)).toEqual({ x0: 10, y0: 0, x1: N - 10, y1: N });
    expect(hammingDistance(plain.hash, fingerprintFrame(letterbox, 1).hash)).toBeLessThanOrEqual(4);
    expect(hammingDistance(plain.hash, fingerprintFrame(pillarbox, 1).hash)).toBeLessThanOrEqual(4);
    expect(hammingDistance(plain.hash, fingerprintFrame(frame(other), 1).hash)).toBeGreaterThan(16);
  });

  it("gives the mirrored frame's hash as `flip`", () => {
    const a = fingerprintFrame(frame(scene), 2);
    const mirrored = fingerprintFrame(frame((u, v) => scene(1 - u, v)), 2);
    expect(hammingDistance(a.hash, mirrored.hash)).toBeGreaterThan(10);
    expect(hammingDistance(a.flip!, mirrored.hash)).toBeLessThanOrEqual(2);
    expect(hammingDistance(a.hash, mirrored.flip!)).toBeLessThanOrEqual(2);
    expect(FrameFingerprint.parse(a)).toEqual(a);
  });

  it("marks black and flat frames dark and does not crop them away", () => {
    const black = new Uint8Array(N * N);
    expect(contentBox(black)).toEqual({ x0: 0, y0: 0, x1: N, y1: N });
    expect(fingerprintFrame(black, 0).dark).toBe(true);
    expect(fingerprintFrame(frame(() => 150), 0).dark).toBe(true);
    // A title card: a little text on black stays dark, whatever the crop makes of it.
    const title = frame((u, v) => (Math.abs(v - 0.5) < 0.02 && Math.abs(u - 0.5) < 0.1 ? 200 : 0));
    expect(contentBox(title)).toEqual({ x0: 0, y0: 0, x1: N, y1: N });
    expect(fingerprintFrame(title, 0).dark).toBe(true);
    expect(fingerprintFrame(frame(scene), 0.1234).t).toBe(0.123);
  });

  it("rejects frames of the wrong size", () => {
    expect(() => fingerprintFrame(new Uint8Array(32 * 32), 0)).toThrow(/64×64/);
    expect(FINGERPRINT_FILTER).toContain(`scale=${N}:${N}`);
  });
});

describe("seekTo", () => {
  it("seeks an MPEG-TS 10 s early and keeps the first frame at or after the time; other containers seek straight", () => {
    expect(seekBackSec("mpegts")).toBe(10);
    expect(seekBackSec("matroska,webm")).toBe(0);
    expect(seekTo(1.003)).toEqual({ ss: "1.003", pick: "" });
    expect(seekTo(12.5, 10)).toEqual({ ss: "2.500", pick: "select='gte(t,9.999999)'," });
    expect(seekTo(3, 10)).toEqual({ ss: "0.000", pick: "select='gte(t,2.999999)'," });
  });
});

describe("sampleTimes", () => {
  it("spreads evenly, never at 0 nor at the end", () => {
    expect(sampleTimes(8, 4)).toEqual([1, 3, 5, 7]);
    const t = sampleTimes(10, 16);
    expect(t).toHaveLength(16);
    expect(t[0]).toBeGreaterThan(0);
    expect(t[15]).toBeLessThan(10);
    expect(sampleTimes(0, 16)).toEqual([0]);
  });
});
