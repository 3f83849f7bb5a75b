import { describe, expect, it } from "vitest";
import type { Entry } from "../../shared/dedup/entry.ts";
import { findExact, type Hasher } from "../../shared/dedup/exact.ts";
import { entriesOf, syntheticRecord } from "../kit/dedup-synthetic.ts";

/** A hasher over made-up contents, recording every read. */
function fakeHasher(contents: Record<string, string>, failing: string[] = []) {
  const reads: string[] = [];
  const hasher: Hasher = {
    async partial(e: Entry) {
      reads.push(`partial ${e.key}`);
      if (failing.includes(e.key)) throw new Error("gone");
      return `p:${contents[e.key].slice(0, 4)}`;
    },
    async full(e: Entry) {
      reads.push(`full ${e.key}`);
      return `f:${contents[e.key]}`;
    },
  };
  return { hasher, reads };
}

const keysOf = (groups: Entry[][]) => groups.map((g) => g.map((e) => e.key).sort()).sort();

describe("exact duplicates", () => {
  it("never reads an object of unique size", async () => {
    const entries = entriesOf([syntheticRecord("a", { size: 10 }), syntheticRecord("b", { size: 11 }), syntheticRecord("c", { size: 12 })]);
    const { hasher, reads } = fakeHasher({});
    const { groups, stats } = await findExact(entries, hasher);
    expect(groups).toEqual([]);
    expect(reads).toEqual([]);
    expect(stats).toMatchObject({ sizeGroups: 0, sizeCollisions: 0 });
  });

  it("settles a size by full-object checksums and recorded SHA-256 without reading", async () => {
    const crc = (value: string) => ({ algorithm: "CRC64NVME", type: "FULL_OBJECT", value });
    const entries = entriesOf([
      syntheticRecord("a", { size: 5, checksum: crc("x") }),
      syntheticRecord("b", { size: 5, checksum: crc("x") }),
      syntheticRecord("c", { size: 5, checksum: crc("y") }),
      syntheticRecord("d", { size: 7, sha256: "s1" }),
      syntheticRecord("e", { size: 7, sha256: "s1" }),
      // A composite (per-part) checksum depends on part sizes: it proves nothing.
      syntheticRecord("f", { size: 9, checksum: { algorithm: "CRC32", type: "COMPOSITE", value: "z" } }),
      syntheticRecord("g", { size: 9, checksum: { algorithm: "CRC32", type: "COMPOSITE", value: "z" } }),
    ]);
    const { hasher, reads } = fakeHasher({ f: "same-bytes", g: "other-bytes" });
    const { groups, stats } = await findExact(entries, hasher);
    expect(keysOf(groups)).toEqual([["a", "b"], ["d", "e"]]);
    expect(reads.sort()).toEqual(["partial f", "partial g"]);
    expect(stats.settledWithoutReading).toBe(2);
  });

  it("never takes equal CRC32/CRC32C values for equal bytes: those are hashed, while differing ones still tell apart", async () => {
    const sum = (algorithm: string, value: string) => ({ algorithm, type: "FULL_OBJECT", value });
    const entries = entriesOf([
      syntheticRecord("a", { size: 5, checksum: sum("CRC32", "x") }),
      syntheticRecord("b", { size: 5, checksum: sum("CRC32", "x") }),
      syntheticRecord("c", { size: 6, checksum: sum("CRC32C", "x") }),
      syntheticRecord("d", { size: 6, checksum: sum("CRC32C", "y") }),
    ]);
    // a and b collide on CRC32 but hold different bytes.
    const { hasher, reads } = fakeHasher({ a: "AAAA-1", b: "AAAA-2" });
    const { groups } = await findExact(entries, hasher);
    expect(groups).toEqual([]);
    expect(reads.sort()).toEqual(["full a", "full b", "partial a", "partial b"]);
  });

  it("reads a partial hash, and the whole object only where partial hashes agree", async () => {
    const entries = entriesOf([
      syntheticRecord("a", { size: 100 }),
      syntheticRecord("b", { size: 100 }),
      syntheticRecord("c", { size: 100 }),
      syntheticRecord("d", { size: 100 }),
    ]);
    // a and b are equal; c shares their first bytes but not the rest; d differs early.
    const { hasher, reads } = fakeHasher({ a: "AAAA-1", b: "AAAA-1", c: "AAAA-2", d: "DDDD-1" });
    const { groups, stats } = await findExact(entries, hasher);
    expect(keysOf(groups)).toEqual([["a", "b"]]);
    expect(reads.filter((r) => r.startsWith("full")).sort()).toEqual(["full a", "full b", "full c"]);
    expect(stats).toMatchObject({ partialHashed: 4, fullHashed: 3 });
  });

  it("reads one member of a cluster already known equal, and uses hashes recorded earlier", async () => {
    const entries = entriesOf([
      syntheticRecord("a", { size: 50, sha256: "f:same", partialHash: "p:same" }),
      syntheticRecord("b", { size: 50, sha256: "f:same" }),
      syntheticRecord("c", { size: 50 }),
    ]);
    const { hasher, reads } = fakeHasher({ a: "same", b: "same", c: "same" });
    const { groups } = await findExact(entries, hasher);
    expect(keysOf(groups)).toEqual([["a", "b", "c"]]);
    expect(reads).toEqual(["partial c", "full c"]);
  });

  it("leaves out what cannot be read, and reads nothing without a hasher", async () => {
    const entries = entriesOf([syntheticRecord("a", { size: 1 }), syntheticRecord("b", { size: 1 }), syntheticRecord("c", { size: 1 })]);
    const { hasher } = fakeHasher({ a: "x", b: "x", c: "x" }, ["c"]);
    const { groups, stats } = await findExact(entries, hasher);
    expect(keysOf(groups)).toEqual([["a", "b"]]);
    expect(stats.unreadable).toBe(1);
    expect((await findExact(entries, undefined)).groups).toEqual([]);
  });
});
