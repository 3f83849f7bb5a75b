// The record index's encodings: frames packed into one base64 string a record, and the ListObjectsV2
// answer read without the SDK. Both read data anyone with bucket access can write, so anything not in
// their shape must come back as "not this" (undefined), never as wrong values.
import { describe, expect, it } from "vitest";
import { parseEtagPage, peekNextToken } from "../../shared/io/list-xml.ts";
import { FrameStore } from "../../shared/dedup/entry.ts";
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
