// 64-bit DCT perceptual hash of one 32×32 grey frame, and the Hamming distance between two hashes.
export const PHASH_SIDE = 32;
const LOW = 8;

/** Frames this dark or this flat carry no identity (black intros, fades, title cards). */
const DARK_MEAN = 16;
const FLAT_STDDEV = 4;

const COS: Float64Array = (() => {
  const table = new Float64Array(LOW * PHASH_SIDE);
  for (let u = 0; u < LOW; u++)
    for (let x = 0; x < PHASH_SIDE; x++) table[u * PHASH_SIDE + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * PHASH_SIDE));
  return table;
})();

export type FrameHash = { hash: string; dark: boolean };

/** `grey` is PHASH_SIDE×PHASH_SIDE 8-bit luma, row-major. */
export function phashOf(grey: Uint8Array): FrameHash {
  if (grey.length !== PHASH_SIDE * PHASH_SIDE) throw new Error(`phashOf needs ${PHASH_SIDE}×${PHASH_SIDE} luma, got ${grey.length} bytes`);
  let sum = 0;
  let sumSq = 0;
  for (const v of grey) {
    sum += v;
    sumSq += v * v;
  }
  const n = grey.length;
  const mean = sum / n;
  const stddev = Math.sqrt(Math.max(0, sumSq / n - mean * mean));
  // Separable 2-D DCT, keeping only the 8×8 lowest frequencies.
  const rows = new Float64Array(PHASH_SIDE * LOW);
  for (let y = 0; y < PHASH_SIDE; y++)
    for (let u = 0; u < LOW; u++) {
      let s = 0;
      for (let x = 0; x < PHASH_SIDE; x++) s += grey[y * PHASH_SIDE + x] * COS[u * PHASH_SIDE + x];
      rows[y * LOW + u] = s;
    }
  const coeffs = new Float64Array(LOW * LOW);
  for (let v = 0; v < LOW; v++)
    for (let u = 0; u < LOW; u++) {
      let s = 0;
      for (let y = 0; y < PHASH_SIDE; y++) s += rows[y * LOW + u] * COS[v * PHASH_SIDE + y];
      coeffs[v * LOW + u] = s;
    }
  // Median of the AC terms (DC excluded: it is only brightness).
  const median = Array.from(coeffs.subarray(1)).sort((a, b) => a - b)[31];
  let bits = 0n;
  for (let i = 0; i < 64; i++) bits = (bits << 1n) | (coeffs[i] > median ? 1n : 0n);
  return { hash: bits.toString(16).padStart(16, "0"), dark: mean < DARK_MEAN || stddev < FLAT_STDDEV };
}

const POPCOUNT = Uint8Array.from({ length: 256 }, (_, i) => {
  let c = 0;
  for (let v = i; v; v >>= 1) c += v & 1;
  return c;
});

export function hammingDistance(a: string, b: string): number {
  let d = 0;
  for (let i = 0; i < 16; i += 2) d += POPCOUNT[parseInt(a.slice(i, i + 2), 16) ^ parseInt(b.slice(i, i + 2), 16)];
  return d;
}
