// What dedup keeps of a manifest record: a few numbers, and its frames in a store shared by all
// entries (flat typed arrays), so 100k records take tens of MB and are read front to back; a parsed
// record with media details and hex strings is ten times that.
import { packedFrameCount, unpackFramesInto } from "../rules/frame-codec.ts";
import { isSystemKey } from "../rules/naming.ts";
import type { FrameFingerprint, ManifestRecord, ManifestState, PictureStats } from "../schemas.ts";

/** Frames of every entry, appended as records stream in. */
export class FrameStore {
  t = new Float32Array(1024);
  /** Per frame: hash high and low 32 bits, then the mirrored frame's (zero when unknown). */
  words = new Uint32Array(4096);
  dark = new Uint8Array(1024);
  length = 0;

  /** Room for `count` more frames; where they start. */
  private reserve(count: number): number {
    const start = this.length;
    const need = start + count;
    if (need > this.t.length) {
      const size = Math.max(need, 2 * this.t.length);
      const grow = <T extends Float32Array | Uint32Array | Uint8Array>(a: T, n: number): T => {
        const b = new (a.constructor as new (n: number) => T)(n);
        b.set(a);
        return b;
      };
      this.t = grow(this.t, size);
      this.words = grow(this.words, 4 * size);
      this.dark = grow(this.dark, size);
    }
    this.length = need;
    return start;
  }

  /** Appends frames packed by the record index (shared/rules/frame-codec.ts); where they start, how many are lit, whether all are mirrored. */
  addPacked(packed: Buffer): { start: number; lit: number; mirrored: boolean } {
    const start = this.reserve(packedFrameCount(packed));
    return { start, ...unpackFramesInto(packed, start, this) };
  }

  /** Appends frames and returns where they start. */
  add(fps: readonly FrameFingerprint[]): number {
    const start = this.reserve(fps.length);
    fps.forEach((f, k) => {
      const i = start + k;
      this.t[i] = f.t;
      this.words[4 * i] = parseInt(f.hash.slice(0, 8), 16);
      this.words[4 * i + 1] = parseInt(f.hash.slice(8), 16);
      if (f.flip) {
        this.words[4 * i + 2] = parseInt(f.flip.slice(0, 8), 16);
        this.words[4 * i + 3] = parseInt(f.flip.slice(8), 16);
      }
      this.dark[i] = f.dark ? 1 : 0;
    });
    return start;
  }
}

/** An entry's frames: `count` frames of `store` from `start`. */
export type Frames = {
  store: FrameStore;
  start: number;
  count: number;
  /** How many frames are not dark: the only ones that count as evidence. */
  lit: number;
  /** Whether the mirrored frames' hashes are known. */
  mirrored: boolean;
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
  /** What the picture really holds (probe's picture stats); unknown for records probed before them. */
  picture?: PictureStats;
  montageKey?: string;
  previewKey?: string;
  /** The output's SSIM against its source, where the runner measured it. */
  ssim?: number;
  thumbnailKey?: string;
  frames?: Frames;
};

/** Objects being replaced right now, or that are not readable video, are left out of the report. */
const EXCLUDED: ReadonlySet<ManifestState> = new Set(["encoding", "failed"]);

export function isCandidate(record: Pick<ManifestRecord, "key" | "state" | "size">, backupPrefix: string): boolean {
  return !EXCLUDED.has(record.state) && record.size > 0 && !isSystemKey(record.key, backupPrefix);
}

function framesOf(record: ManifestRecord, store: FrameStore, packed?: Buffer): Frames | undefined {
  if (packed) {
    const count = packedFrameCount(packed);
    return count === 0 ? undefined : { store, count, ...store.addPacked(packed) };
  }
  const fps = record.fingerprints ?? [];
  if (fps.length === 0) return undefined;
  return { store, start: store.add(fps), count: fps.length, lit: fps.filter((f) => !f.dark).length, mirrored: fps.every((f) => f.flip) };
}

/** `packed`: the record's frames as the index packs them, in place of its `fingerprints`. */
export function entryFrom(record: ManifestRecord, id: number, store: FrameStore, packed?: Buffer): Entry {
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
    picture: record.picture,
    montageKey: record.montageKey,
    previewKey: record.previewKey,
    ssim: record.state === "compressed" ? record.quality?.ssim : undefined,
    thumbnailKey: record.thumbnailKey,
    frames: framesOf(record, store, packed),
  };
}

function popcount32(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  x = (x + (x >>> 4)) & 0x0f0f0f0f;
  return Math.imul(x, 0x01010101) >>> 24;
}

/** Hamming distance between frame i of `a` (its mirror image when `mirrorA`) and frame j of `b`. */
export function distanceAt(a: Frames, i: number, mirrorA: boolean, b: Frames, j: number): number {
  const x = 4 * (a.start + i) + (mirrorA ? 2 : 0);
  const y = 4 * (b.start + j);
  const wa = a.store.words;
  const wb = b.store.words;
  return popcount32((wa[x] ^ wb[y]) >>> 0) + popcount32((wa[x + 1] ^ wb[y + 1]) >>> 0);
}
