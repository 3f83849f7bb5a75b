// Frame fingerprints packed for the record index: 25 bytes a frame (time as a float64, the hash and the
// mirrored frame's hash as two 32-bit words each, a flag byte), stored as bytes (a base64 string a record
// in version 2 of the index). As JSON objects the same 16 frames take 1.2 KB and 16 schema checks to read
// back; packed they take 400 bytes, one check, and go into dedup's typed arrays without a string or an
// object made per frame.
import type { FrameFingerprint } from "../schemas.ts";

const FRAME_BYTES = 25;
const DARK = 1;
const HAS_FLIP = 2;

const word = (hex: string, from: number) => Number.parseInt(hex.slice(from, from + 8), 16);
const hex = (hi: number, lo: number) => hi.toString(16).padStart(8, "0") + lo.toString(16).padStart(8, "0");

export function packFrames(frames: readonly FrameFingerprint[]): Buffer {
  const buf = Buffer.alloc(frames.length * FRAME_BYTES);
  frames.forEach((f, i) => {
    const at = i * FRAME_BYTES;
    buf.writeDoubleLE(f.t, at);
    buf.writeUInt32LE(word(f.hash, 0), at + 8);
    buf.writeUInt32LE(word(f.hash, 8), at + 12);
    if (f.flip) {
      buf.writeUInt32LE(word(f.flip, 0), at + 16);
      buf.writeUInt32LE(word(f.flip, 8), at + 20);
    }
    buf[at + 24] = (f.dark ? DARK : 0) | (f.flip ? HAS_FLIP : 0);
  });
  return buf;
}

/** The packed frames a base64 string holds (version 2 of the index); undefined when it holds none. */
export function framesFromBase64(text: unknown): Buffer | undefined {
  if (typeof text !== "string") return undefined;
  const buf = Buffer.from(text, "base64");
  return buf.toString("base64") === text ? checkedFrames(buf) : undefined;
}

/** `packed` when it is a whole number of frames with times and flags in range; undefined otherwise. */
export function checkedFrames(packed: Buffer): Buffer | undefined {
  if (packed.length % FRAME_BYTES !== 0) return undefined;
  for (let at = 0; at < packed.length; at += FRAME_BYTES) {
    const t = packed.readDoubleLE(at);
    if (!Number.isFinite(t) || t < 0 || packed[at + 24] > (DARK | HAS_FLIP)) return undefined;
  }
  return packed;
}

/** Bytes of `count` packed frames. */
export const packedFrameBytes = (count: number) => count * FRAME_BYTES;
export const packedFrameCount = (packed: Buffer) => packed.length / FRAME_BYTES;

/**
 * Writes the packed frames into dedup's arrays from frame `start` on (see shared/dedup/entry.ts's
 * FrameStore): times, four words a frame (hash, then the mirrored frame's, zero when unknown), dark flags.
 */
export function unpackFramesInto(packed: Buffer, start: number, into: { t: Float32Array; words: Uint32Array; dark: Uint8Array }): { lit: number; mirrored: boolean } {
  let lit = 0;
  let mirrored = true;
  for (let at = 0, i = start; at < packed.length; at += FRAME_BYTES, i++) {
    const flags = packed[at + 24];
    into.t[i] = packed.readDoubleLE(at);
    into.words[4 * i] = packed.readUInt32LE(at + 8);
    into.words[4 * i + 1] = packed.readUInt32LE(at + 12);
    into.words[4 * i + 2] = flags & HAS_FLIP ? packed.readUInt32LE(at + 16) : 0;
    into.words[4 * i + 3] = flags & HAS_FLIP ? packed.readUInt32LE(at + 20) : 0;
    into.dark[i] = flags & DARK ? 1 : 0;
    if (!(flags & DARK)) lit++;
    if (!(flags & HAS_FLIP)) mirrored = false;
  }
  return { lit, mirrored };
}

/** The frames as the record holds them. */
export function unpackFrames(packed: Buffer): FrameFingerprint[] {
  const frames: FrameFingerprint[] = [];
  for (let at = 0; at < packed.length; at += FRAME_BYTES) {
    const flags = packed[at + 24];
    const frame: FrameFingerprint = { t: packed.readDoubleLE(at), hash: hex(packed.readUInt32LE(at + 8), packed.readUInt32LE(at + 12)), dark: (flags & DARK) !== 0 };
    if (flags & HAS_FLIP) frame.flip = hex(packed.readUInt32LE(at + 16), packed.readUInt32LE(at + 20));
    frames.push(frame);
  }
  return frames;
}
