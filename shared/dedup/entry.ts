// What dedup keeps of a manifest record: a few numbers and the frame hashes as typed arrays, so 100k
// records fit in tens of MB (a parsed record with media details and hex strings is ten times that).
import { isSystemKey } from "../naming.ts";
import type { ManifestRecord, ManifestState } from "../schemas.ts";

export type Frames = {
  t: Float64Array;
  /** Hash and mirrored-frame hash, as high and low 32-bit halves: [hi0, lo0, hi1, lo1, …]. */
  hash: Uint32Array;
  flip?: Uint32Array;
  dark: Uint8Array;
  /** How many frames are not dark: the only ones that count as evidence. */
  lit: number;
};

export type Entry = {
  /** Position in the entry list; indexes per-entry arrays in the stages. */
  id: number;
  key: string;
  size: number;
  etag: string;
  state: ManifestState;
  lastModified: number;
  /** A full-object checksum as "ALGORITHM:value": equal values mean equal bytes. */
  checksum?: string;
  sha256?: string;
  partialHash?: string;
  durationSec: number;
  width: number;
  height: number;
  codec: string;
  bitrate: number;
  montageKey?: string;
  frames?: Frames;
};

/** Objects being replaced right now, or that are not readable video, are left out of the report. */
const EXCLUDED: ReadonlySet<ManifestState> = new Set(["encoding", "failed"]);

export function isCandidate(record: Pick<ManifestRecord, "key" | "state" | "size">, backupPrefix: string): boolean {
  return !EXCLUDED.has(record.state) && record.size > 0 && !isSystemKey(record.key, backupPrefix);
}

function framesOf(record: ManifestRecord): Frames | undefined {
  const fps = record.fingerprints ?? [];
  if (fps.length === 0) return undefined;
  const n = fps.length;
  const hash = new Uint32Array(2 * n);
  const flip = fps.every((f) => f.flip) ? new Uint32Array(2 * n) : undefined;
  const dark = new Uint8Array(n);
  const t = new Float64Array(n);
  let lit = 0;
  fps.forEach((f, i) => {
    t[i] = f.t;
    hash[2 * i] = parseInt(f.hash.slice(0, 8), 16);
    hash[2 * i + 1] = parseInt(f.hash.slice(8), 16);
    if (flip) {
      flip[2 * i] = parseInt(f.flip!.slice(0, 8), 16);
      flip[2 * i + 1] = parseInt(f.flip!.slice(8), 16);
    }
    dark[i] = f.dark ? 1 : 0;
    if (!f.dark) lit++;
  });
  return { t, hash, flip, dark, lit };
}

export function entryFrom(record: ManifestRecord, id: number): Entry {
  const media = record.media;
  const durationSec = media?.durationSec ?? 0;
  // The container's figure for everyone: stream bitrates are missing in some containers (MKV).
  const bitrate = media?.bitrate ?? (durationSec > 0 ? (record.size * 8) / durationSec : 0);
  const checksum = record.checksum?.type === "FULL_OBJECT" ? `${record.checksum.algorithm}:${record.checksum.value}` : undefined;
  return {
    id,
    key: record.key,
    size: record.size,
    etag: record.etag,
    state: record.state,
    lastModified: Date.parse(record.lastModified ?? record.updatedAt) || 0,
    checksum,
    sha256: record.sha256,
    partialHash: record.partialHash,
    durationSec,
    width: media?.video.width ?? 0,
    height: media?.video.height ?? 0,
    codec: media?.video.codec ?? "unknown",
    bitrate,
    montageKey: record.montageKey,
    frames: framesOf(record),
  };
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Hamming distance between hash i of `a` and hash j of `b` (each a [hi, lo, …] array). */
export function distanceAt(a: Uint32Array, i: number, b: Uint32Array, j: number): number {
  return popcount32((a[2 * i] ^ b[2 * j]) >>> 0) + popcount32((a[2 * i + 1] ^ b[2 * j + 1]) >>> 0);
}
