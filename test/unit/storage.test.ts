import { describe, expect, it } from "vitest";
import { copyMatches, type ObjectHead } from "../../shared/storage.ts";

const head = (over: Partial<ObjectHead> = {}): ObjectHead => ({ key: "k", size: 100, etag: '"abc"', metadata: {}, ...over });
const crc = (value: string) => ({ algorithm: "CRC64NVME", type: "FULL_OBJECT", value });

describe("copyMatches", () => {
  it("decides by full-object checksums when both sides have the same algorithm", () => {
    expect(copyMatches(head({ etag: '"a-3"', checksum: crc("x") }), head({ etag: '"b"', checksum: crc("x") }), false)).toBe(true);
    expect(copyMatches(head({ etag: '"a-3"', checksum: crc("x") }), head({ etag: '"b"', checksum: crc("y") }), false)).toBe(false);
    expect(copyMatches(head({ checksum: crc("x") }), head({ checksum: crc("y") }), true)).toBe(false);
  });

  it("falls back to the ETag, or to the size alone where ETags depend on parts", () => {
    expect(copyMatches(head(), head(), false)).toBe(true);
    expect(copyMatches(head(), head({ etag: '"other"' }), false)).toBe(false);
    expect(copyMatches(head({ etag: '"a-3"' }), head({ etag: '"b"' }), false)).toBe(true);
    expect(copyMatches(head(), head({ etag: '"b-2"' }), true)).toBe(true);
    expect(copyMatches(head(), head({ size: 99 }), true)).toBe(false);
    expect(copyMatches(head({ checksum: crc("x") }), head({ etag: '"zzz"', checksum: { algorithm: "CRC32", type: "FULL_OBJECT", value: "q" } }), false)).toBe(false);
  });
});
