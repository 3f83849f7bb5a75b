// Synthetic manifest records for dedup's unit tests and bench: content as a sequence of scenes, each
// with a frame hash and the hash of its mirror image; copies sample that content at their own times,
// shifted, noisy, darkened or mirrored as a real copy would be.
import { sampleTimes } from "../../shared/media/fingerprint.ts";
import { FrameStore, entryFrom, type Entry } from "../../shared/dedup/entry.ts";
import type { FrameFingerprint, ManifestRecord } from "../../shared/schemas.ts";


export function randomHash(r: () => number): string {
  const word = () => Math.floor(r() * 2 ** 32).toString(16).padStart(8, "0");
  return word() + word();
}

/** `hash` with `bits` distinct random bits flipped. */
export function flipBits(hash: string, bits: number, r: () => number): string {
  let v = BigInt(`0x${hash}`);
  const chosen = new Set<number>();
  while (chosen.size < bits) chosen.add(Math.floor(r() * 64));
  for (const b of chosen) v ^= 1n << BigInt(b);
  return v.toString(16).padStart(16, "0");
}

export type Content = { scenes: Array<{ hash: string; mirror: string }>; sceneSec: number };

export function randomContent(r: () => number, durationSec: number, sceneSec = 1): Content {
  return { scenes: Array.from({ length: Math.ceil(durationSec / sceneSec) + 1 }, () => ({ hash: randomHash(r), mirror: randomHash(r) })), sceneSec };
}

export type CopyOptions = {
  durationSec: number;
  /** Where in the content this copy starts (a head trim), or negative for black added in front. */
  start?: number;
  count?: number;
  /** Bits each frame differs from the content (re-encoding). */
  noise?: number;
  mirrored?: boolean;
  /** Frames before this time (in the copy) are black. */
  darkUntil?: number;
};

export function fingerprintsOf(content: Content, o: CopyOptions, r: () => number): FrameFingerprint[] {
  return sampleTimes(o.durationSec, o.count ?? 16).map((t) => {
    const at = t + (o.start ?? 0);
    const scene = content.scenes[Math.max(0, Math.min(content.scenes.length - 1, Math.floor(at / content.sceneSec)))];
    const dark = at < 0 || t < (o.darkUntil ?? 0);
    const [hash, flip] = o.mirrored ? [scene.mirror, scene.hash] : [scene.hash, scene.mirror];
    const noise = o.noise ?? 0;
    return { t, hash: dark ? "0000000000000000" : flipBits(hash, noise, r), flip: dark ? "0000000000000000" : flipBits(flip, noise, r), dark };
  });
}

export type RecordOptions = {
  size?: number;
  durationSec?: number;
  width?: number;
  height?: number;
  codec?: string;
  bitrate?: number;
  lastModified?: string;
  fingerprints?: FrameFingerprint[];
} & Partial<Pick<ManifestRecord, "sha256" | "partialHash" | "checksum" | "montageKey" | "thumbnailKey" | "state" | "picture">>;

export function syntheticRecord(key: string, o: RecordOptions = {}): ManifestRecord {
  const durationSec = o.durationSec ?? 60;
  const bitrate = o.bitrate ?? 2_000_000;
  return {
    key,
    size: o.size ?? Math.round((bitrate * durationSec) / 8),
    etag: `"${key.length.toString(16)}${Math.round(durationSec)}"`,
    lastModified: o.lastModified ?? "2024-01-01T00:00:00.000Z",
    state: o.state ?? "probed",
    checksum: o.checksum,
    sha256: o.sha256,
    partialHash: o.partialHash,
    montageKey: o.montageKey,
    thumbnailKey: o.thumbnailKey,
    picture: o.picture,
    media: {
      formatName: "mov,mp4,m4a,3gp,3g2,mj2",
      durationSec,
      bitrate,
      video: { codec: o.codec ?? "h264", width: o.width ?? 1920, height: o.height ?? 1080 },
      audio: [],
      subtitles: [],
      tags: {},
    },
    fingerprints: o.fingerprints,
    updatedAt: "2024-01-01T00:00:00.000Z",
  };
}

/** Entries in the given order, numbered as the stages expect. */
export function entriesOf(records: ManifestRecord[]): Entry[] {
  const store = new FrameStore();
  return records.map((r, i) => entryFrom(r, i, store));
}
