// Object actions: GET and HEAD (ranges, conditions), PUT, copy (with its source conditions), DELETE and
// DeleteObjects, and the empty tag set.
import { isUtf8 } from "node:buffer";
import { rm } from "node:fs/promises";
import { checksumAlgorithm } from "../checksums.ts";
import { S3Error, s3Error } from "../errors.ts";
import { bareEtag, type ObjectInfo } from "../folder.ts";
import { type Reply, type Req, assertMayWrite, conditions, headersAndMetadata } from "../request.ts";
import { deleteRequest, el, type XmlElement } from "../xml.ts";
import { checksumHeaders, readXmlRequest, receiveBody } from "./body.ts";
import type { StoreContext } from "./context.ts";
import { rangeBounds } from "../range.ts";

/**
 * A user metadata value as S3 answers it: as stored while it is printable US-ASCII, else RFC 2047-encoded
 * ("=?UTF-8?B?…?="), to be mail-safe as S3 makes it; raw non-ASCII bytes in a header are not something
 * every client reads back alike. A value is stored as it came: one char per byte of the header.
 */
function mailSafe(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  // Wider chars than a byte: a value stored as text (by an older sidecar), not as a header's bytes.
  const bytes = /[^\x00-\xff]/.test(value) ? Buffer.from(value, "utf8") : Buffer.from(value, "latin1");
  return `=?${isUtf8(bytes) ? "UTF-8" : "ISO-8859-1"}?B?${bytes.toString("base64")}?=`;
}

function objectHeaders(info: ObjectInfo, withChecksums: boolean): Record<string, string | number> {
  const h: Record<string, string | number> = {
    etag: info.etag,
    "last-modified": info.lastModified.toUTCString(),
    "accept-ranges": "bytes",
    "content-type": "application/octet-stream",
    ...info.headers,
  };
  for (const [k, v] of Object.entries(info.metadata)) h[`x-amz-meta-${k}`] = mailSafe(v);
  if (info.partsCount) h["x-amz-mp-parts-count"] = info.partsCount;
  if (withChecksums) {
    for (const [alg, value] of Object.entries(info.checksums)) h[`x-amz-checksum-${alg}`] = value;
    if (Object.keys(info.checksums).length > 0) h["x-amz-checksum-type"] = "FULL_OBJECT";
  }
  return h;
}

/**
 * The byte range of part `n` (GET ?partNumber=N): a part of a completed multipart upload, or part 1 = the
 * whole of any other object.
 */
function partRange(info: ObjectInfo, raw: string): { start: number; end: number } {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || n < 1 || n > 10_000) throw s3Error("InvalidArgument", "Part number must be an integer between 1 and 10000.");
  const sizes = info.partSizes ?? [info.size];
  if (n > sizes.length) throw s3Error("InvalidPartNumber");
  const start = sizes.slice(0, n - 1).reduce((a, b) => a + b, 0);
  return { start, end: start + sizes[n - 1] - 1 };
}

/** The Range a GET asks for; S3 answers a malformed header with the whole object. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  const bounds = rangeBounds(header, size);
  if (bounds === "unsatisfiable") throw s3Error("InvalidRange");
  return typeof bounds === "string" ? undefined : bounds;
}

export async function getObject(ctx: StoreContext, req: Req): Promise<Reply> {
  const { handle, info } = await ctx.store.openObject(req.key);
  let keepOpen = false;
  try {
    const etag = bareEtag(info.etag);
    const ifMatch = req.header("if-match");
    const ifNoneMatch = req.header("if-none-match");
    const ifUnmodified = req.header("if-unmodified-since");
    const ifModified = req.header("if-modified-since");
    if (ifMatch !== undefined && !ifMatch.split(",").some((e) => bareEtag(e.trim()) === etag || e.trim() === "*")) throw s3Error("PreconditionFailed");
    if (ifMatch === undefined && ifUnmodified && info.lastModified.getTime() > Date.parse(ifUnmodified)) throw s3Error("PreconditionFailed");
    const notModified = { status: 304, headers: { etag: info.etag, "last-modified": info.lastModified.toUTCString() } };
    if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((e) => bareEtag(e.trim()) === etag || e.trim() === "*")) return notModified;
    if (ifNoneMatch === undefined && ifModified && info.lastModified.getTime() <= Date.parse(ifModified)) return notModified;
    const partNumber = req.query.get("partNumber");
    if (partNumber !== null && req.header("range")) throw s3Error("InvalidRequest", "Cannot specify both Range header and partNumber query parameter.");
    const range = partNumber !== null ? partRange(info, partNumber) : parseRange(req.header("range"), info.size);
    const wantChecksums = req.header("x-amz-checksum-mode")?.toUpperCase() === "ENABLED" && !range;
    const headers = objectHeaders(info, wantChecksums);
    for (const [param, header] of [["response-content-type", "content-type"], ["response-content-disposition", "content-disposition"], ["response-cache-control", "cache-control"]]) {
      const v = req.query.get(param);
      if (v) headers[header] = v;
    }
    if (info.size === 0) return { headers: { ...headers, "content-length": 0 } };
    const { start, end } = range ?? { start: 0, end: info.size - 1 };
    headers["content-length"] = end - start + 1;
    if (range) headers["content-range"] = `bytes ${start}-${end}/${info.size}`;
    if (req.method === "HEAD") return { status: range ? 206 : 200, headers };
    keepOpen = true;
    return { status: range ? 206 : 200, headers, body: handle.createReadStream({ start, end, highWaterMark: 1024 * 1024 }) };
  } finally {
    if (!keepOpen) await handle.close();
  }
}

export async function putObject(ctx: StoreContext, req: Req): Promise<Reply> {
  const { headers, metadata } = headersAndMetadata(req);
  const got = await receiveBody(ctx, req);
  const info = await ctx.store.commit(req.key, got.tmp, { etag: `"${got.md5.toString("hex")}"`, headers, metadata, checksums: got.checksums }, conditions(req), "ObjectCreated:Put");
  return { headers: { etag: info.etag, ...checksumHeaders(info.checksums) } };
}

/** The object a copy reads, after S3's x-amz-copy-source-if-* conditions. */
export async function copySourceObject(ctx: StoreContext, req: Req): Promise<ObjectInfo> {
  const header = req.header("x-amz-copy-source") ?? "";
  let source: string;
  try {
    source = decodeURIComponent(header.split("?")[0].replace(/^\//, ""));
  } catch {
    throw s3Error("InvalidArgument", "The copy source is not valid URL encoding.");
  }
  const slash = source.indexOf("/");
  const bucket = source.slice(0, slash);
  const key = source.slice(slash + 1);
  if (slash < 0 || bucket !== ctx.bucket) throw s3Error("NoSuchBucket");
  const info = await ctx.store.head(key);
  if (!info) throw s3Error("NoSuchKey");
  const etag = bareEtag(info.etag);
  const ifMatch = req.header("x-amz-copy-source-if-match");
  const ifNoneMatch = req.header("x-amz-copy-source-if-none-match");
  const ifUnmodified = req.header("x-amz-copy-source-if-unmodified-since");
  const ifModified = req.header("x-amz-copy-source-if-modified-since");
  if (ifMatch !== undefined && !ifMatch.split(",").some((e) => bareEtag(e.trim()) === etag)) throw s3Error("PreconditionFailed");
  if (ifNoneMatch !== undefined && ifNoneMatch.split(",").some((e) => bareEtag(e.trim()) === etag)) throw s3Error("PreconditionFailed");
  if (ifMatch === undefined && ifUnmodified && info.lastModified.getTime() > Date.parse(ifUnmodified)) throw s3Error("PreconditionFailed");
  if (ifNoneMatch === undefined && ifModified && info.lastModified.getTime() <= Date.parse(ifModified)) throw s3Error("PreconditionFailed");
  return info;
}

export async function copyObject(ctx: StoreContext, req: Req): Promise<Reply> {
  req.raw.resume();
  let source = await copySourceObject(ctx, req);
  const replace = req.header("x-amz-metadata-directive")?.toUpperCase() === "REPLACE";
  const algorithm = checksumAlgorithm(req.header("x-amz-checksum-algorithm"));
  const { headers, metadata } = replace ? headersAndMetadata(req) : source;
  let info: ObjectInfo;
  if (source.key === req.key) {
    if (!replace) throw s3Error("InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.");
    info = await ctx.store.replaceMetadata(req.key, source, headers, metadata, conditions(req));
  } else {
    // Asked for a checksum, the store computes it on both sides: the source from its file, the copy from its own.
    if (algorithm) source = await ctx.store.ensureChecksum(source, algorithm);
    const tmp = await ctx.store.copyToTemp(source);
    const checksums = algorithm ? { [algorithm]: await ctx.store.checksumOfFile(tmp, algorithm) } : { ...source.checksums };
    if (algorithm && checksums[algorithm] !== source.checksums[algorithm]) {
      await rm(tmp, { force: true });
      throw s3Error("InternalError", "The copy's checksum does not match its source's; nothing was written.");
    }
    info = await ctx.store.commit(req.key, tmp, { etag: source.etag, headers, metadata, checksums, partsCount: source.partsCount, partSizes: source.partSizes }, conditions(req), "ObjectCreated:Copy");
  }
  const sums = Object.entries(info.checksums).map(([a, v]) => el(`Checksum${a.toUpperCase()}`, v));
  return { xml: el("CopyObjectResult", el("LastModified", info.lastModified.toISOString()), el("ETag", info.etag), sums) };
}

export async function deleteObject(ctx: StoreContext, req: Req): Promise<Reply> {
  await ctx.store.remove(req.key, { ifMatch: req.header("if-match") });
  return { status: 204 };
}

export async function deleteObjects(ctx: StoreContext, req: Req): Promise<Reply> {
  const { quiet, keys } = deleteRequest(await readXmlRequest(req, { digestRequired: true }));
  if (keys.length > 1000) throw s3Error("MalformedXML", "At most 1000 keys can be deleted at once.");
  const results: XmlElement[] = [];
  for (const key of keys) {
    try {
      assertMayWrite(req, key);
      await ctx.store.remove(key);
      if (!quiet) results.push(el("Deleted", el("Key", key)));
    } catch (err) {
      const e = err instanceof S3Error ? err : s3Error("InternalError", "We encountered an internal error.");
      results.push(el("Error", el("Key", key), el("Code", e.code), el("Message", e.message)));
    }
  }
  return { xml: el("DeleteResult", results) };
}

export async function getObjectTagging(): Promise<Reply> {
  return { xml: el("Tagging", el("TagSet")) };
}
