// S3's XML both ways. Responses are built as element trees and escaped in one place, here. Request bodies are
// read with a real parser: size-limited, refused as MalformedXML unless well-formed, and with no entity
// expansion beyond XML's five named entities and character references (a DOCTYPE's entities stay text).
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { s3Error } from "./errors.ts";

const DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';
const S3_NAMESPACE = "http://s3.amazonaws.com/doc/2006-03-01/";
/** Request bodies are lists of keys or parts: 1000 keys or 10,000 parts fit well within this. */
export const MAX_XML_BODY = 2 * 1024 * 1024;

export type XmlChild = XmlElement | XmlRendered | string | number | boolean | undefined;
export type XmlElement = { readonly tag: string; readonly children: readonly XmlChild[] };
/** Only this module holds it, so only textElement below (which escapes its text) can make an XmlRendered. */
const RENDERED = Symbol("rendered");
/** An element already rendered by textElement, its text escaped there; put out as it is. */
export type XmlRendered = { readonly [RENDERED]: string };

/** An element; undefined children are left out, so an optional one reads `cond ? el(...) : undefined`. */
export function el(tag: string, ...children: Array<XmlChild | readonly XmlChild[]>): XmlElement {
  // A loop, not .flat(): a listing of 1000 keys makes 6000 elements, and .flat() is several times slower.
  const flat: XmlChild[] = [];
  for (const c of children) {
    if (Array.isArray(c)) for (const d of c) flat.push(d);
    else flat.push(c as XmlChild);
  }
  return { tag, children: flat };
}

const SPECIAL = /[&<>"']/;

function escapeXml(text: string): string {
  return SPECIAL.test(text) ? text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`) : text;
}

/** `node`'s children as XML, appended to `out`: by concatenation, a listing of 1000 keys is 10,000 elements. */
function renderChildren(node: XmlElement, out: string): string {
  for (const child of node.children) {
    if (child === undefined) continue;
    if (typeof child !== "object") out += escapeXml(String(child));
    else if (RENDERED in child) out += child[RENDERED];
    else out = `${renderChildren(child, `${out}<${child.tag}>`)}</${child.tag}>`;
  }
  return out;
}

/**
 * `<tag>` holding elements of text only (`[tag, text]` each), rendered at once: a listing's `Contents`,
 * 10⁶ of them in a listing of the manifest, without an element object per field.
 */
export function textElement(tag: string, fields: ReadonlyArray<readonly [string, string | number | boolean]>): XmlRendered {
  let out = `<${tag}>`;
  for (const [name, value] of fields) out += `<${name}>${escapeXml(String(value))}</${name}>`;
  return { [RENDERED]: `${out}</${tag}>` };
}

/** A whole response body: the declaration, then `root`, in S3's namespace unless it is an error. */
export function xmlDocument(root: XmlElement, opts: { namespace: boolean } = { namespace: true }): string {
  const attr = opts.namespace ? ` xmlns="${S3_NAMESPACE}"` : "";
  return `${renderChildren(root, `${DECLARATION}<${root.tag}${attr}>`)}</${root.tag}>`;
}

function unescapeXml(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|amp|lt|gt|quot|apos);/gi, (_, e: string) => {
    const named: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };
    if (named[e.toLowerCase()]) return named[e.toLowerCase()];
    return String.fromCodePoint(e[1].toLowerCase() === "x" ? Number.parseInt(e.slice(2), 16) : Number(e.slice(1)));
  });
}

const parser = new XMLParser({
  ignoreAttributes: true,
  ignoreDeclaration: true,
  ignorePiTags: true,
  // Keys keep their spaces and digits stay text: what the client sent, decoded by unescapeXml alone.
  trimValues: false,
  parseTagValue: false,
  processEntities: false,
  htmlEntities: false,
  isArray: (tag) => tag === "Object" || tag === "Part",
});

type Parsed = Record<string, unknown>;

/** Parses a small XML request body; S3's MalformedXML when it is too large or not well-formed. */
export function parseXmlBody(bytes: Buffer): Parsed {
  if (bytes.length > MAX_XML_BODY) throw s3Error("MalformedXML", "The XML you provided is too large.");
  const text = bytes.toString("utf8");
  if (XMLValidator.validate(text) !== true) throw s3Error("MalformedXML");
  return parser.parse(text) as Parsed;
}

/** An element's text, decoded; an element where text belongs is malformed. */
function textOf(value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw s3Error("MalformedXML");
  return unescapeXml(value);
}

const listOf = (value: unknown): Parsed[] => (Array.isArray(value) ? value.filter((v): v is Parsed => typeof v === "object" && v !== null) : []);
const childOf = (doc: Parsed, tag: string): Parsed => (typeof doc[tag] === "object" && doc[tag] !== null ? (doc[tag] as Parsed) : {});

/** A DeleteObjects body: the keys in order, and whether only errors are reported. */
export function deleteRequest(doc: Parsed): { quiet: boolean; keys: string[] } {
  const root = childOf(doc, "Delete");
  const keys = listOf(root.Object).flatMap((o) => textOf(o.Key) ?? []);
  return { quiet: textOf(root.Quiet)?.trim().toLowerCase() === "true", keys };
}

/**
 * A CompleteMultipartUpload body: the parts as listed, with any Checksum<ALG> they name (lower-case
 * algorithm → value); a missing or non-numeric part number is malformed.
 */
export function completeRequest(doc: Parsed): Array<{ number: number; etag: string; checksums: Record<string, string> }> {
  return listOf(childOf(doc, "CompleteMultipartUpload").Part).map((p) => {
    const number = textOf(p.PartNumber)?.trim() ?? "";
    if (!/^\d+$/.test(number)) throw s3Error("MalformedXML");
    const checksums: Record<string, string> = {};
    for (const [tag, value] of Object.entries(p)) if (tag.startsWith("Checksum") && tag !== "ChecksumType") checksums[tag.slice("Checksum".length).toLowerCase()] = textOf(value)?.trim() ?? "";
    return { number: Number(number), etag: textOf(p.ETag) ?? "", checksums };
  });
}
