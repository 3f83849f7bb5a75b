import { describe, expect, it } from "vitest";
import { completeRequest, deleteRequest, el, parseXmlBody, xmlDocument } from "../xml.ts";

const read = async (text: string | Buffer) => parseXmlBody(Buffer.from(text));

describe("store XML", () => {
  it("escapes every text once, in the document", () => {
    expect(xmlDocument(el("R", el("Key", `a&b<"'>`), el("N", 3), undefined, el("T", true)))).toBe(
      '<?xml version="1.0" encoding="UTF-8"?>\n<R xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Key>a&#38;b&#60;&#34;&#39;&#62;</Key><N>3</N><T>true</T></R>',
    );
  });

  it("reads DeleteObjects keys as sent, decoding XML's own entities and character references", async () => {
    const doc = await read(`<?xml version="1.0"?><Delete><Object><Key> a&amp;b&lt;&#x0D;&#233;.mp4</Key></Object>\n<Object><Key>c</Key><VersionId>1</VersionId></Object><Quiet> True </Quiet></Delete>`);
    expect(deleteRequest(doc)).toEqual({ quiet: true, keys: [" a&b<\ré.mp4", "c"] });
  });

  it("expands no DOCTYPE entities", async () => {
    const doc = await read(`<!DOCTYPE d [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;">]><Delete><Object><Key>&b;</Key></Object></Delete>`);
    expect(deleteRequest(doc).keys).toEqual(["&b;"]);
  });

  it("reads CompleteMultipartUpload parts in the order listed", async () => {
    const doc = await read(`<CompleteMultipartUpload><Part><PartNumber> 2 </PartNumber><ETag>&quot;ab&quot;</ETag></Part><Part><ETag>"cd"</ETag><PartNumber>1</PartNumber></Part></CompleteMultipartUpload>`);
    expect(completeRequest(doc)).toEqual([{ number: 2, etag: '"ab"', checksums: {} }, { number: 1, etag: '"cd"', checksums: {} }]);
    await expect(read(`<CompleteMultipartUpload><Part><PartNumber>x</PartNumber></Part></CompleteMultipartUpload>`).then(completeRequest)).rejects.toMatchObject({ code: "MalformedXML", status: 400 });
  });

  it.each([
    ["not XML", "garbage"],
    ["an unclosed element", "<Delete><Object><Key>x</Key></Delete>"],
    ["an empty body", ""],
    ["a body over 2 MiB", `<Delete>${" ".repeat(2 * 1024 * 1024)}</Delete>`],
  ])("refuses %s as MalformedXML", async (_, text) => {
    await expect(read(text)).rejects.toMatchObject({ code: "MalformedXML", status: 400 });
  });
});
