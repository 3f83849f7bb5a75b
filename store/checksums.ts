// The checksums S3 computes for a body as it streams: MD5 for the ETag, plus the one a client sends or asks for.
import { createHash, type Hash } from "node:crypto";
import { crc32 } from "node:zlib";
import { Crc32c, Crc64Nvme } from "@aws-sdk/checksums/crc";

export const CHECKSUM_ALGORITHMS = ["crc64nvme", "crc32", "crc32c", "sha1", "sha256"] as const;
export type ChecksumAlgorithm = (typeof CHECKSUM_ALGORITHMS)[number];

export function checksumAlgorithm(name: string | undefined): ChecksumAlgorithm | undefined {
  const lower = name?.toLowerCase();
  return (CHECKSUM_ALGORITHMS as readonly string[]).includes(lower ?? "") ? (lower as ChecksumAlgorithm) : undefined;
}

type Digest = { update(chunk: Buffer): void; digest(): Promise<string> };

function digestOf(algorithm: ChecksumAlgorithm): Digest {
  switch (algorithm) {
    case "crc32": {
      let value = 0;
      return {
        update: (chunk) => void (value = crc32(chunk, value)),
        digest: async () => {
          const out = Buffer.alloc(4);
          out.writeUInt32BE(value >>> 0);
          return out.toString("base64");
        },
      };
    }
    case "crc32c":
    case "crc64nvme": {
      const c = algorithm === "crc32c" ? new Crc32c() : new Crc64Nvme();
      return { update: (chunk) => c.update(chunk), digest: async () => Buffer.from(await c.digest()).toString("base64") };
    }
    case "sha1":
    case "sha256": {
      const h: Hash = createHash(algorithm);
      return { update: (chunk) => void h.update(chunk), digest: async () => h.digest("base64") };
    }
  }
}

/** MD5 (hex, for the ETag) and any checksums asked for, over the same bytes. */
export class BodyDigests {
  readonly md5 = createHash("md5");
  private readonly digests = new Map<ChecksumAlgorithm, Digest>();
  bytes = 0;
  constructor(algorithms: Iterable<ChecksumAlgorithm>) {
    for (const a of algorithms) this.digests.set(a, digestOf(a));
  }
  update(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.md5.update(chunk);
    for (const d of this.digests.values()) d.update(chunk);
  }
  /** MD5 as raw bytes plus the checksums, base64 as S3 writes them. */
  async finish(): Promise<{ md5: Buffer; checksums: Partial<Record<ChecksumAlgorithm, string>> }> {
    const checksums: Partial<Record<ChecksumAlgorithm, string>> = {};
    for (const [a, d] of this.digests) checksums[a] = await d.digest();
    return { md5: this.md5.digest(), checksums };
  }
}
