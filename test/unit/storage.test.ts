import { describe, expect, it } from "vitest";
import { isProvenOwnCopy, provenDifferent, type ObjectHead } from "../../shared/io/objects.ts";

const head = (o: Partial<ObjectHead> = {}): ObjectHead => ({ key: "k", size: 10, etag: '"a"', metadata: {}, ...o });
const sum = (algorithm: string, value: string, type = "FULL_OBJECT") => ({ algorithm, type, value });

describe("provenDifferent", () => {
  it.each([
    ["sizes differ", head(), head({ size: 11 }), true],
    ["same-algorithm full-object checksums differ", head({ checksum: sum("CRC32", "x") }), head({ checksum: sum("CRC32", "y") }), true],
    ["CRC64NVME differs", head({ checksum: sum("CRC64NVME", "x") }), head({ checksum: sum("CRC64NVME", "y") }), true],
    ["equal CRC64NVME is never proof of equality", head({ checksum: sum("CRC64NVME", "x") }), head({ etag: '"b"', checksum: sum("CRC64NVME", "x") }), false],
    ["no checksums", head(), head(), false],
    ["different algorithms", head({ checksum: sum("CRC64NVME", "x") }), head({ checksum: sum("CRC32", "y") }), false],
    ["composite checksums depend on part sizes", head({ checksum: sum("CRC64NVME", "x", "COMPOSITE") }), head({ checksum: sum("CRC64NVME", "y", "COMPOSITE") }), false],
  ])("%s", (_, a, b, expected) => expect(provenDifferent(a, b)).toBe(expected));
});

describe("isProvenOwnCopy (proof rule a)", () => {
  const source = head({ key: "s", checksum: sum("CRC64NVME", "x") });
  const copy = head({ key: "c", etag: '"made"', checksum: sum("CRC64NVME", "x") });
  it.each([
    ["the copy this job made, still that version, with the source's full-object CRC64NVME", copy, '"made"', true],
    ["an ETag other than the one the create returned: someone replaced it", copy, '"other"', false],
    ["no ETag recorded from the create", copy, "", false],
    ["its checksum differs", head({ key: "c", etag: '"made"', checksum: sum("CRC64NVME", "y") }), '"made"', false],
    ["no checksum to compare: only SHA-256 over both can tell", head({ key: "c", etag: '"made"' }), '"made"', false],
    ["CRC32 is too weak even against accidents", head({ key: "c", etag: '"made"', checksum: sum("CRC32", "x") }), '"made"', false],
    ["sizes differ", head({ key: "c", etag: '"made"', size: 11, checksum: sum("CRC64NVME", "x") }), '"made"', false],
  ])("%s", (_, c, etag, expected) => expect(isProvenOwnCopy(source, c, etag)).toBe(expected));
  it("needs the source's checksum too", () => expect(isProvenOwnCopy(head({ key: "s" }), copy, '"made"')).toBe(false));
});
