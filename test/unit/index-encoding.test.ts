// The record index's encodings: frames packed (bytes in a shard, a base64 string in version 2), a shard
// of version 3, and the ListObjectsV2 answer read without the SDK. Both read data anyone with bucket access can write, so anything not in
// their shape must come back as "not this" (undefined), never as wrong values.
import { describe, expect, it } from "vitest";
import { parseEtagPage, peekNextToken } from "../../shared/io/list-xml.ts";
import { FrameStore } from "../../shared/dedup/entry.ts";
import { decodeShard, encodeShard, type ShardEntry } from "../../shared/io/record-index.ts";
import { framesFromBase64, packFrames, unpackFrames } from "../../shared/rules/frame-codec.ts";
import type { FrameFingerprint } from "../../shared/schemas.ts";

const frames: FrameFingerprint[] = [
  { t: 0, hash: "0123456789abcdef", flip: "fedcba9876543210", dark: false },
  { t: 12.345678901234, hash: "ffffffffffffffff", dark: true },
  { t: 1e6 / 3, hash: "0000000000000000", flip: "8000000000000001", dark: false },
];

describe("packed frames", () => {
  it("give back exactly the frames packed, and fill dedup's arrays as the frames themselves do", () => {
    const text = packFrames(frames).toString("base64");
    expect(text.length).toBeLessThan(JSON.stringify(frames).length / 2);
    const packed = framesFromBase64(text)!;
    expect(unpackFrames(packed)).toEqual(frames);
    const fromObjects = new FrameStore();
    fromObjects.add(frames);
    const fromPacked = new FrameStore();
    expect(fromPacked.addPacked(packed)).toEqual({ start: 0, lit: 2, mirrored: false });
    expect([...fromPacked.words.slice(0, 12)]).toEqual([...fromObjects.words.slice(0, 12)]);
    expect([...fromPacked.t.slice(0, 3)]).toEqual([...fromObjects.t.slice(0, 3)]);
    expect([...fromPacked.dark.slice(0, 3)]).toEqual([1, 0, 1].map((_, i) => (frames[i].dark ? 1 : 0)));
    expect(unpackFrames(framesFromBase64(packFrames([]).toString("base64"))!)).toEqual([]);
  });

  it("refuse what is not packed frames", () => {
    const good = packFrames(frames);
    const bad = (mutate: (b: Buffer) => Buffer) => mutate(Buffer.from(good)).toString("base64");
    expect(framesFromBase64(undefined)).toBeUndefined();
    expect(framesFromBase64(42)).toBeUndefined();
    expect(framesFromBase64([good.toString("base64")])).toBeUndefined();
    expect(framesFromBase64(bad((b) => b.subarray(1)))).toBeUndefined();
    expect(framesFromBase64(`${good.toString("base64")}!`)).toBeUndefined();
    expect(framesFromBase64(bad((b) => (b.writeDoubleLE(-1, 0), b)))).toBeUndefined();
    expect(framesFromBase64(bad((b) => (b.writeDoubleLE(Number.NaN, 25), b)))).toBeUndefined();
    expect(framesFromBase64(bad((b) => ((b[24] = 4), b)))).toBeUndefined();
  });
});

describe("a shard of the index", () => {
  const entry = (key: string, fps: FrameFingerprint[]): ShardEntry => ({
    key, etag: `"${key.length}"`, bytes: 100 + key.length, frames: packFrames(fps),
    record: { key, size: 1, etag: "e", state: "probed", updatedAt: "2024-01-01T00:00:00.000Z" },
  });
  const entries = [entry("a/é.mp4", frames), entry("b.mp4", []), entry("c/d.mkv", frames.slice(1))];

  it("gives back every entry as encoded, frames as bytes in place", () => {
    const decoded = decodeShard(encodeShard(entries));
    expect(decoded.map(({ frames: f, ...rest }) => ({ ...rest, frames: f && unpackFrames(f) }))).toEqual(
      entries.map(({ frames: f, ...rest }) => ({ ...rest, frames: unpackFrames(f) })),
    );
    expect(decodeShard(encodeShard([]))).toEqual([]);
  });

  it("refuses a body that is not a shard, and leaves out only the frames of an entry whose frames are out of range", () => {
    const good = encodeShard(entries);
    const notShard = [
      Buffer.from("{not a shard"),
      Buffer.concat([good, Buffer.alloc(1)]),
      good.subarray(0, good.length - 1),
      Buffer.from(good).fill(0x78, 4, 8),
      encodeShard(entries).fill(0x20, 12, 13),
    ];
    for (const body of notShard) expect(() => decodeShard(body)).toThrow(SyntaxError);
    // A frame count that is not a count.
    const json = good.toString("utf8", 8, 8 + good.readUInt32LE(4)).replace(/,2\]\]}$/, ',"2"]]}');
    expect(json).toContain('"2"]]}');
    const head = Buffer.alloc(8);
    head.write("RPI3");
    head.writeUInt32LE(Buffer.byteLength(json), 4);
    expect(() => decodeShard(Buffer.concat([head, Buffer.from(json), good.subarray(8 + good.readUInt32LE(4))]))).toThrow(SyntaxError);
    // The flag byte of the first frame of the last entry out of range.
    const damaged = Buffer.from(good);
    damaged[damaged.length - 2 * 25 + 24] = 9;
    const decoded = decodeShard(damaged);
    expect(decoded[2].frames).toBeUndefined();
    expect(unpackFrames(decoded[0].frames!)).toEqual(frames);
  });
});

const page = (contents: string, tail = "<IsTruncated>false</IsTruncated>") =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>b</Name><Prefix></Prefix><MaxKeys>1000</MaxKeys>${tail}${contents}</ListBucketResult>`;
const contents = (key: string, etag: string, size: string) => `<Contents><Key>${key}</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified><ETag>${etag}</ETag><Size>${size}</Size><StorageClass>STANDARD</StorageClass></Contents>`;

describe("a ListObjectsV2 page read without the SDK", () => {
  it("reads keys, ETags and sizes, with XML's escapes resolved, and the token of the next page", () => {
    const xml = page(
      contents("a &amp; b &lt;c&gt; &#34;d&#34; &apos;e&quot; &#x1F600; é.json", "&#34;abc&#34;", "12") + contents("plain", "&quot;x-1&quot;", "0"),
      "<IsTruncated>true</IsTruncated><NextContinuationToken>dG9r+/=</NextContinuationToken>",
    );
    expect(parseEtagPage(xml)).toEqual({
      objects: [{ key: `a & b <c> "d" 'e" \u{1F600} é.json`, etag: '"abc"', size: 12 }, { key: "plain", etag: '"x-1"', size: 0 }],
      next: "dG9r+/=",
    });
    expect(parseEtagPage(page(""))).toEqual({ objects: [] });
  });

  it("reads quoted ETags with and without other escapes inside", () => {
    const etags = ["&quot;a&amp;b&quot;", "&quot;&quot;", "&#34;x&#34;", "&quot;y&#34;", "&quot;z"];
    expect(parseEtagPage(page(etags.map((e, i) => contents(`k${i}`, e, "1")).join("")))?.objects.map((o) => o.etag)).toEqual(['"a&b"', '""', '"x"', '"y"', '"z']);
  });

  it("gives the next page's token without reading the keys, so the next page is asked for at once", () => {
    const truncated = page(contents("k", '"e"', "1"), "<IsTruncated>true</IsTruncated><NextContinuationToken>dG9r&amp;+/=</NextContinuationToken>");
    expect(peekNextToken(truncated)).toBe("dG9r&+/=");
    expect(peekNextToken(truncated)).toBe(parseEtagPage(truncated)?.next);
    expect(peekNextToken(page(contents("k", '"e"', "1")))).toBeUndefined();
    expect(peekNextToken(page("", "<IsTruncated>true</IsTruncated>"))).toBeUndefined();
    expect(peekNextToken("<Error><Code>AccessDenied</Code></Error>")).toBeUndefined();
  });

  it("gives undefined for anything else, so the SDK is asked", () => {
    expect(parseEtagPage("<Error><Code>AccessDenied</Code></Error>")).toBeUndefined();
    expect(parseEtagPage(page(contents("k", '"e"', "1"), ""))).toBeUndefined();
    expect(parseEtagPage(page(contents("k", '"e"', "1"), "<IsTruncated>true</IsTruncated>"))).toBeUndefined();
    expect(parseEtagPage(page(contents("k", '"e"', "-1")))).toBeUndefined();
    expect(parseEtagPage(page(contents("k", '"e"', "x")))).toBeUndefined();
    expect(parseEtagPage(page("<Contents><Key>k</Key><Size>1</Size></Contents>"))).toBeUndefined();
    expect(parseEtagPage(page(`${contents("k", '"e"', "1")}<Contents><Key>j</Key>`))).toBeUndefined();
    expect(parseEtagPage(page("<CommonPrefixes><Prefix>a/</Prefix></CommonPrefixes>"))).toBeUndefined();
    expect(parseEtagPage(page(contents("k%20", '"e"', "1"), "<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>"))).toBeUndefined();
  });
});
