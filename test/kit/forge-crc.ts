// What a hostile writer can do in milliseconds: other bytes with the same size and CRC64NVME as a file.
// A CRC is affine in the message over GF(2), so the last 8 bytes of random data can be solved for.
import { randomBytes } from "node:crypto";
import { Crc64Nvme } from "@aws-sdk/checksums/crc";

async function crc64(data: Buffer): Promise<bigint> {
  const c = new Crc64Nvme();
  c.update(data);
  return Buffer.from(await c.digest()).readBigUInt64BE();
}

/** Random bytes of `original`'s length whose CRC64NVME equals `original`'s. */
export async function forgeSameCrc64(original: Buffer): Promise<Buffer> {
  if (original.length < 8) throw new Error("too short to forge");
  const target = await crc64(original);
  const forged = randomBytes(original.length);
  const base = await crc64(forged);
  const end = forged.length - 8;
  // Column i: how flipping bit i of the last 8 bytes changes the CRC.
  const columns: bigint[] = [];
  for (let i = 0; i < 64; i++) {
    forged[end + (i >> 3)] ^= 1 << (i & 7);
    columns.push((await crc64(forged)) ^ base);
    forged[end + (i >> 3)] ^= 1 << (i & 7);
  }
  // Gaussian elimination over GF(2): rows are (column value, which bits make it).
  const rows = columns.map((value, i) => ({ value, bits: 1n << BigInt(i) }));
  const pivots: typeof rows = [];
  for (let bit = 63n; bit >= 0n; bit--) {
    const mask = 1n << bit;
    const at = rows.findIndex((r) => r.value & mask);
    if (at < 0) continue;
    const [pivot] = rows.splice(at, 1);
    for (const r of [...rows, ...pivots]) if (r.value & mask) {
      r.value ^= pivot.value;
      r.bits ^= pivot.bits;
    }
    pivots.push(pivot);
  }
  let want = target ^ base;
  let flips = 0n;
  for (const p of pivots) {
    const top = 1n << BigInt(p.value.toString(2).length - 1);
    if (want & top) {
      want ^= p.value;
      flips ^= p.bits;
    }
  }
  if (want !== 0n) throw new Error("no solution (the CRC's columns are not full rank)");
  for (let i = 0; i < 64; i++) if ((flips >> BigInt(i)) & 1n) forged[end + (i >> 3)] ^= 1 << (i & 7);
  if ((await crc64(forged)) !== target) throw new Error("forgery check failed");
  return forged;
}
