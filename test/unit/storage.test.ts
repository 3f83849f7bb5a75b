import { describe, expect, it } from "vitest";
import { checksumVerdict, type ObjectHead } from "../../shared/io/objects.ts";

const head = (o: Partial<ObjectHead> = {}): ObjectHead => ({ key: "k", size: 10, etag: '"a"', metadata: {}, ...o });
const sum = (algorithm: string, value: string, type = "FULL_OBJECT") => ({ algorithm, type, value });

describe("checksumVerdict", () => {
  it("proves equality only with SHA-256 or CRC64NVME plus size, computed by the store on both sides", () => {
    expect(checksumVerdict(head({ checksum: sum("CRC64NVME", "x") }), head({ etag: '"b"', checksum: sum("CRC64NVME", "x") }))).toBe(true);
    expect(checksumVerdict(head({ checksum: sum("SHA256", "x") }), head({ checksum: sum("SHA256", "x") }))).toBe(true);
    // Equal CRC32s are too weak to stand for equal bytes: only reading can tell.
    expect(checksumVerdict(head({ checksum: sum("CRC32", "x") }), head({ checksum: sum("CRC32", "x") }))).toBeUndefined();
    expect(checksumVerdict(head({ checksum: sum("CRC32C", "x") }), head({ checksum: sum("CRC32C", "x") }))).toBeUndefined();
    // Equal ETags (MD5) are no proof either.
    expect(checksumVerdict(head(), head())).toBeUndefined();
    expect(checksumVerdict(head({ checksum: sum("CRC64NVME", "x", "COMPOSITE") }), head({ checksum: sum("CRC64NVME", "x", "COMPOSITE") }))).toBeUndefined();
  });

  it("proves difference with any differing size or checksum of one algorithm", () => {
    expect(checksumVerdict(head(), head({ size: 11 }))).toBe(false);
    expect(checksumVerdict(head({ checksum: sum("CRC32", "x") }), head({ checksum: sum("CRC32", "y") }))).toBe(false);
    expect(checksumVerdict(head({ checksum: sum("CRC64NVME", "x") }), head({ checksum: sum("CRC64NVME", "y") }))).toBe(false);
    expect(checksumVerdict(head({ checksum: sum("CRC64NVME", "x") }), head({ checksum: sum("CRC32", "y") }))).toBeUndefined();
  });
});
