// The S3 API over a FolderStore: one handler per operation, routed by method, key and query.
// Bodies stream to disk and back; nothing is held in memory whole.
import { randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { rm } from "node:fs/promises";
import type http from "node:http";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { AwsChunkedDecoder } from "./chunked.ts";
import { CHECKSUM_ALGORITHMS, checksumAlgorithm, type ChecksumAlgorithm } from "./checksums.ts";
import { S3Error, s3Error } from "./errors.ts";
import { STORED_HEADERS, bareEtag, type FolderStore, type ObjectInfo, type WriteConditions } from "./folder.ts";
import { listObjects } from "./list.ts";
import { MAX_PART_BYTES, Multipart } from "./multipart.ts";
import { type Credentials, verifySigV4 } from "./sigv4.ts";
import { completeRequest, deleteRequest, el, readXmlBody, xmlDocument, type XmlElement } from "./xml.ts";

export type S3ServerOptions = { bucket: string; credentials?: Credentials; region?: string };

type Req = {
  raw: http.IncomingMessage;
  method: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  header(name: string): string | undefined;
};

type Reply = { status?: number; headers?: Record<string, string | number>; xml?: XmlElement; body?: Readable };

/** Splits the request line's path into bucket and key, without resolving "." or ".." (the key check refuses those). */
function target(rawUrl: string): { bucket: string; key: string; query: URLSearchParams } {
  const q = rawUrl.indexOf("?");
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const [, bucket = "", ...rest] = rawPath.split("/");
  let key: string;
  try {
    key = decodeURIComponent(rest.join("/"));
  } catch {
    throw s3Error("InvalidArgument", "The key is not valid URL encoding.");
  }
  return { bucket: decodeURIComponent(bucket), key, query: new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1)) };
}

function conditions(req: Req): WriteConditions {
  return { ifMatch: req.header("if-match"), ifNoneMatch: req.header("if-none-match") };
}

function objectHeaders(info: ObjectInfo, withChecksums: boolean): Record<string, string | number> {
  const h: Record<string, string | number> = {
    etag: info.etag,
    "last-modified": info.lastModified.toUTCString(),
    "accept-ranges": "bytes",
    "content-type": "application/octet-stream",
    ...info.headers,
  };
  for (const [k, v] of Object.entries(info.metadata)) h[`x-amz-meta-${k}`] = v;
  if (info.partsCount) h["x-amz-mp-parts-count"] = info.partsCount;
  if (withChecksums) {
    for (const [alg, value] of Object.entries(info.checksums)) h[`x-amz-checksum-${alg}`] = value;
    if (Object.keys(info.checksums).length > 0) h["x-amz-checksum-type"] = "FULL_OBJECT";
  }
  return h;
}

/** Stored headers and x-amz-meta-* of a write; user metadata keys lower-cased, as S3 keeps them. */
function headersAndMetadata(req: Req): { headers: Record<string, string>; metadata: Record<string, string> } {
  const headers: Record<string, string> = {};
  const metadata: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const v = req.header(name);
    if (v !== undefined) headers[name] = v;
  }
  // aws-chunked describes the upload's framing, not the object: S3 does not keep it.
  const encoding = headers["content-encoding"]?.split(",").map((e) => e.trim()).filter((e) => e && e !== "aws-chunked").join(", ");
  if (encoding) headers["content-encoding"] = encoding;
  else delete headers["content-encoding"];
  for (const [k, v] of Object.entries(req.raw.headers)) {
    if (k.startsWith("x-amz-meta-") && v !== undefined) metadata[k.slice("x-amz-meta-".length)] = Array.isArray(v) ? v.join(",") : v;
  }
  return { headers, metadata };
}

/** Parses "bytes=a-b", "bytes=a-" and "bytes=-n" against `size`; S3 answers anything else with the whole object. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  let start: number;
  let end: number;
  if (m[1] === "") {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || start > end) throw s3Error("InvalidRange");
  return { start, end };
}

/** Which checksums the body of a write brings or asks for, and the values to check it against. */
function checksumRequest(req: Req): { algorithms: Set<ChecksumAlgorithm>; expected: Record<string, string | undefined>; trailer?: ChecksumAlgorithm } {
  const algorithms = new Set<ChecksumAlgorithm>();
  const expected: Record<string, string | undefined> = {};
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = req.header(`x-amz-checksum-${alg}`);
    if (v) {
      algorithms.add(alg);
      expected[alg] = v;
    }
  }
  const asked = checksumAlgorithm(req.header("x-amz-sdk-checksum-algorithm") ?? req.header("x-amz-checksum-algorithm"));
  if (asked) algorithms.add(asked);
  const trailerName = req.header("x-amz-trailer")?.toLowerCase();
  const trailer = trailerName?.startsWith("x-amz-checksum-") ? checksumAlgorithm(trailerName.slice("x-amz-checksum-".length)) : undefined;
  if (trailer) algorithms.add(trailer);
  return { algorithms, expected, trailer };
}

/** The decoded body of a write, with its declared length and how it is checked. */
function bodyOf(req: Req): { stream: Readable; length?: number; trailers?: Record<string, string> } {
  const sha = req.header("x-amz-content-sha256") ?? "";
  const chunked = sha.startsWith("STREAMING-") || /(^|,)\s*aws-chunked\s*(,|$)/.test(req.header("content-encoding") ?? "");
  if (chunked) {
    const decoder = new AwsChunkedDecoder();
    req.raw.pipe(decoder);
    req.raw.on("error", (err) => decoder.destroy(err));
    const decoded = req.header("x-amz-decoded-content-length");
    return { stream: decoder, length: decoded === undefined ? undefined : Number(decoded), trailers: decoder.trailers };
  }
  const length = req.header("content-length");
  return { stream: req.raw, length: length === undefined ? undefined : Number(length) };
}

export class S3Handler {
  private readonly store: FolderStore;
  private readonly multipart: Multipart;
  private readonly opts: S3ServerOptions;

  constructor(store: FolderStore, opts: S3ServerOptions) {
    this.store = store;
    this.multipart = new Multipart(store);
    this.opts = opts;
  }

  /** Answers one HTTP request; never throws. */
  async handle(raw: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    const method = raw.method ?? "GET";
    let resource = raw.url ?? "/";
    try {
      if (this.opts.credentials) verifySigV4(method, raw.url ?? "/", raw.headers, this.opts.credentials);
      const t = target(raw.url ?? "/");
      resource = t.key ? `/${t.bucket}/${t.key}` : `/${t.bucket}`;
      const req: Req = {
        raw,
        method,
        ...t,
        header: (name) => {
          const v = raw.headers[name];
          if (v !== undefined) return Array.isArray(v) ? v.join(",") : v;
          // A presigned URL carries signed x-amz-* headers in its query.
          return name.startsWith("x-amz-") ? (t.query.get(name) ?? undefined) : undefined;
        },
      };
      const reply = await this.route(req);
      await this.send(res, method, reply, requestId);
    } catch (err) {
      const s3err = err instanceof S3Error ? err : s3Error("InternalError");
      // A client that hung up mid-body is not the store's error.
      if (!(err instanceof S3Error) && !raw.destroyed && !raw.readableAborted) console.error(`store: ${method} ${resource}: ${(err as Error)?.stack ?? err}`);
      // An unread request body would be taken for the next request on this connection.
      raw.resume();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = method === "HEAD" ? "" : xmlDocument(el("Error", el("Code", s3err.code), el("Message", s3err.message), el("Resource", resource), el("RequestId", requestId)), { namespace: false });
      res.writeHead(s3err.status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body), "x-amz-request-id": requestId });
      res.end(body);
    }
  }

  private async send(res: http.ServerResponse, method: string, reply: Reply, requestId: string): Promise<void> {
    const headers: Record<string, string | number> = { "x-amz-request-id": requestId, ...reply.headers };
    if (reply.xml !== undefined) {
      const text = xmlDocument(reply.xml);
      headers["content-type"] = "application/xml";
      headers["content-length"] = Buffer.byteLength(text);
      res.writeHead(reply.status ?? 200, headers);
      res.end(method === "HEAD" ? undefined : text);
      return;
    }
    if (reply.body) {
      res.writeHead(reply.status ?? 200, headers);
      // ffmpeg often hangs up mid-range: that ends the read, not the process.
      await pipeline(reply.body, res).catch(() => undefined);
      return;
    }
    if (headers["content-length"] === undefined && reply.status !== 204 && reply.status !== 304) headers["content-length"] = 0;
    res.writeHead(reply.status ?? 200, headers);
    res.end();
  }

  private route(req: Req): Promise<Reply> {
    const { method, key, query } = req;
    if (!req.bucket) {
      if (method === "GET") return this.listBuckets();
      throw s3Error("MethodNotAllowed");
    }
    if (req.bucket !== this.opts.bucket) {
      if (method === "PUT" && !key) throw s3Error("AccessDenied", `This store serves one bucket, "${this.opts.bucket}".`);
      throw s3Error("NoSuchBucket");
    }
    if (!key) return this.bucketOperation(req);
    this.store.fileOf(key);
    const copySource = req.header("x-amz-copy-source");
    if (method === "PUT" && query.has("partNumber") && query.has("uploadId")) return copySource ? this.uploadPartCopy(req, copySource) : this.uploadPart(req);
    if (method === "PUT" && [...query.keys()].every((k) => k === "x-id" || k.toLowerCase().startsWith("x-amz-"))) return copySource ? this.copyObject(req, copySource) : this.putObject(req);
    if (method === "POST" && query.has("uploads")) return this.createUpload(req);
    if (method === "POST" && query.has("uploadId")) return this.completeUpload(req);
    if (method === "DELETE" && query.has("uploadId")) return this.abortUpload(req);
    if (method === "GET" && query.has("uploadId")) return this.listParts(req);
    if (method === "GET" && query.has("tagging")) return Promise.resolve({ xml: el("Tagging", el("TagSet")) });
    if ((method === "GET" || method === "HEAD") && !query.has("acl") && !query.has("attributes") && !query.has("retention") && !query.has("legal-hold")) return this.getObject(req);
    if (method === "DELETE" && ![...query.keys()].some((k) => k === "tagging")) return this.deleteObject(req);
    throw s3Error("NotImplemented");
  }

  private async listBuckets(): Promise<Reply> {
    return {
      xml: el(
        "ListAllMyBucketsResult",
        el("Owner", el("ID", "reelpress"), el("DisplayName", "reelpress")),
        el("Buckets", el("Bucket", el("Name", this.opts.bucket), el("CreationDate", new Date(0).toISOString()))),
      ),
    };
  }

  private async bucketOperation(req: Req): Promise<Reply> {
    const { method, query } = req;
    if (method === "HEAD") return { headers: { "x-amz-bucket-region": this.opts.region ?? "us-east-1" } };
    if (method === "PUT" && [...query.keys()].length === 0) {
      req.raw.resume();
      return { headers: { location: `/${this.opts.bucket}` } };
    }
    if (method === "GET" && query.has("location")) {
      const region = this.opts.region && this.opts.region !== "us-east-1" ? this.opts.region : undefined;
      return { xml: el("LocationConstraint", region) };
    }
    if (method === "GET" && query.has("versioning")) return { xml: el("VersioningConfiguration") };
    if (method === "GET" && query.has("uploads")) return this.listUploads(req);
    if (method === "POST" && query.has("delete")) return this.deleteObjects(req);
    if (method === "GET" && !["acl", "policy", "lifecycle", "cors", "tagging", "notification", "encryption", "website", "logging", "replication"].some((k) => query.has(k))) {
      return { xml: await listObjects(this.store, this.opts.bucket, query) };
    }
    if (method === "DELETE") throw s3Error("BucketNotEmpty", "The bucket is the library folder; it is never deleted through the API.");
    throw s3Error("NotImplemented");
  }

  private async getObject(req: Req): Promise<Reply> {
    const { handle, info } = await this.store.openObject(req.key);
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
      const range = parseRange(req.header("range"), info.size);
      const wantChecksums = req.header("x-amz-checksum-mode")?.toUpperCase() === "ENABLED" && !range;
      const headers = objectHeaders(info, wantChecksums);
      for (const [param, header] of [["response-content-type", "content-type"], ["response-content-disposition", "content-disposition"], ["response-cache-control", "cache-control"]]) {
        const v = req.query.get(param);
        if (v) headers[header] = v;
      }
      if (req.method === "HEAD") return { headers: { ...headers, "content-length": info.size } };
      if (info.size === 0) return { headers: { ...headers, "content-length": 0 } };
      const { start, end } = range ?? { start: 0, end: info.size - 1 };
      headers["content-length"] = end - start + 1;
      if (range) headers["content-range"] = `bytes ${start}-${end}/${info.size}`;
      keepOpen = true;
      return { status: range ? 206 : 200, headers, body: handle.createReadStream({ start, end, highWaterMark: 1024 * 1024 }) };
    } finally {
      if (!keepOpen) await handle.close();
    }
  }

  /** Receives a write's body to a temp file and checks its length, Content-MD5 and checksums. */
  private async receive(req: Req, part?: { maxBytes: number }) {
    const { algorithms: kept, expected, trailer } = checksumRequest(req);
    const contentMd5 = req.header("content-md5");
    const sha = req.header("x-amz-content-sha256");
    const shaHex = sha && /^[0-9a-f]{64}$/.test(sha) ? sha : undefined;
    const algorithms = new Set(kept);
    if (shaHex) algorithms.add("sha256");
    const body = bodyOf(req);
    if (body.length !== undefined && part && body.length > part.maxBytes) throw s3Error("EntityTooLarge");
    const got = await this.store.receive(body.stream, algorithms, part ? { maxBytes: part.maxBytes, durable: false } : {});
    const fail = async (err: S3Error) => {
      await rm(got.tmp, { force: true });
      throw err;
    };
    if (body.length !== undefined && got.size !== body.length) await fail(s3Error("IncompleteBody"));
    if (contentMd5 && contentMd5 !== got.md5.toString("base64")) await fail(s3Error("BadDigest"));
    if (shaHex && Buffer.from(got.checksums.sha256 ?? "", "base64").toString("hex") !== shaHex) {
      await fail(s3Error("XAmzContentSHA256Mismatch"));
    }
    if (trailer) expected[trailer] = body.trailers?.[`x-amz-checksum-${trailer}`];
    for (const [alg, value] of Object.entries(expected)) {
      if (value !== undefined && got.checksums[alg as ChecksumAlgorithm] !== value) await fail(s3Error("BadDigest", `The ${alg.toUpperCase()} you specified did not match the calculated checksum.`));
    }
    // Only what the client sent or asked for is kept: a hex payload hash was for the signature alone.
    if (!kept.has("sha256")) delete got.checksums.sha256;
    return got;
  }

  private checksumHeaders(checksums: Record<string, string | undefined>): Record<string, string> {
    const h: Record<string, string> = {};
    for (const [alg, v] of Object.entries(checksums)) if (v) h[`x-amz-checksum-${alg}`] = v;
    return h;
  }

  private async putObject(req: Req): Promise<Reply> {
    const { headers, metadata } = headersAndMetadata(req);
    const got = await this.receive(req);
    const info = await this.store.commit(req.key, got.tmp, { etag: `"${got.md5.toString("hex")}"`, headers, metadata, checksums: got.checksums }, conditions(req), "ObjectCreated:Put");
    return { headers: { etag: info.etag, ...this.checksumHeaders(info.checksums) } };
  }

  /** The object a copy reads, after S3's x-amz-copy-source-if-* conditions. */
  private async copySourceObject(req: Req, header: string): Promise<ObjectInfo> {
    let source: string;
    try {
      source = decodeURIComponent(header.split("?")[0].replace(/^\//, ""));
    } catch {
      throw s3Error("InvalidArgument", "The copy source is not valid URL encoding.");
    }
    const slash = source.indexOf("/");
    const bucket = source.slice(0, slash);
    const key = source.slice(slash + 1);
    if (slash < 0 || bucket !== this.opts.bucket) throw s3Error("NoSuchBucket");
    const info = await this.store.head(key);
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

  private async copyObject(req: Req, header: string): Promise<Reply> {
    req.raw.resume();
    let source = await this.copySourceObject(req, header);
    const replace = req.header("x-amz-metadata-directive")?.toUpperCase() === "REPLACE";
    const algorithm = checksumAlgorithm(req.header("x-amz-checksum-algorithm"));
    const { headers, metadata } = replace ? headersAndMetadata(req) : source;
    let info: ObjectInfo;
    if (source.key === req.key) {
      if (!replace) throw s3Error("InvalidRequest", "This copy request is illegal because it is trying to copy an object to itself without changing the object's metadata, storage class, website redirect location or encryption attributes.");
      info = await this.store.replaceMetadata(req.key, source, headers, metadata, conditions(req));
    } else {
      // Asked for a checksum, the store computes it on both sides: the source from its file, the copy from its own.
      if (algorithm) source = await this.store.ensureChecksum(source, algorithm);
      const tmp = await this.store.copyToTemp(source);
      const checksums = algorithm ? { [algorithm]: await this.store.checksumOfFile(tmp, algorithm) } : { ...source.checksums };
      if (algorithm && checksums[algorithm] !== source.checksums[algorithm]) {
        await rm(tmp, { force: true });
        throw s3Error("InternalError", "The copy's checksum does not match its source's; nothing was written.");
      }
      info = await this.store.commit(req.key, tmp, { etag: source.etag, headers, metadata, checksums, partsCount: source.partsCount }, conditions(req), "ObjectCreated:Copy");
    }
    const sums = Object.entries(info.checksums).map(([a, v]) => el(`Checksum${a.toUpperCase()}`, v));
    return { xml: el("CopyObjectResult", el("LastModified", info.lastModified.toISOString()), el("ETag", info.etag), sums) };
  }

  private async deleteObject(req: Req): Promise<Reply> {
    await this.store.remove(req.key, { ifMatch: req.header("if-match") });
    return { status: 204 };
  }

  private async deleteObjects(req: Req): Promise<Reply> {
    const { quiet, keys } = deleteRequest(await readXmlBody(req.raw));
    if (keys.length > 1000) throw s3Error("MalformedXML", "At most 1000 keys can be deleted at once.");
    const results: XmlElement[] = [];
    for (const key of keys) {
      try {
        await this.store.remove(key);
        if (!quiet) results.push(el("Deleted", el("Key", key)));
      } catch (err) {
        const e = err instanceof S3Error ? err : s3Error("InternalError", "We encountered an internal error.");
        results.push(el("Error", el("Key", key), el("Code", e.code), el("Message", e.message)));
      }
    }
    return { xml: el("DeleteResult", results) };
  }

  private async createUpload(req: Req): Promise<Reply> {
    req.raw.resume();
    const { headers, metadata } = headersAndMetadata(req);
    const algorithm = checksumAlgorithm(req.header("x-amz-checksum-algorithm"));
    const uploadId = await this.multipart.create(req.key, { headers, metadata, algorithm });
    return {
      xml: el("InitiateMultipartUploadResult", el("Bucket", this.opts.bucket), el("Key", req.key), el("UploadId", uploadId)),
    };
  }

  private async uploadPart(req: Req): Promise<Reply> {
    const uploadId = req.query.get("uploadId")!;
    await this.multipart.upload(req.key, uploadId);
    const got = await this.receive(req, { maxBytes: MAX_PART_BYTES });
    const part = await this.multipart.putPart(req.key, uploadId, Number(req.query.get("partNumber")), got);
    return { headers: { etag: part.etag, ...this.checksumHeaders(part.checksums) } };
  }

  private async uploadPartCopy(req: Req, header: string): Promise<Reply> {
    req.raw.resume();
    const uploadId = req.query.get("uploadId")!;
    await this.multipart.upload(req.key, uploadId);
    const source = await this.copySourceObject(req, header);
    const rangeHeader = req.header("x-amz-copy-source-range");
    const range = rangeHeader ? parseRange(rangeHeader, source.size) : undefined;
    const { start, end } = range ?? { start: 0, end: source.size - 1 };
    if (end - start + 1 > MAX_PART_BYTES) throw s3Error("InvalidArgument", "A copied part may be at most 5 GiB.");
    const got = await this.store.receive(createReadStream(source.file, { start, end: Math.max(start, end), highWaterMark: 1024 * 1024 }), [], { durable: false });
    const part = await this.multipart.putPart(req.key, uploadId, Number(req.query.get("partNumber")), got);
    return { xml: el("CopyPartResult", el("LastModified", part.lastModified), el("ETag", part.etag)) };
  }

  private async completeUpload(req: Req): Promise<Reply> {
    const uploadId = req.query.get("uploadId")!;
    const listed = completeRequest(await readXmlBody(req.raw));
    const info = await this.multipart.complete(req.key, uploadId, listed, conditions(req));
    return {
      xml: el("CompleteMultipartUploadResult", el("Location", `/${this.opts.bucket}/${req.key}`), el("Bucket", this.opts.bucket), el("Key", req.key), el("ETag", info.etag)),
    };
  }

  private async abortUpload(req: Req): Promise<Reply> {
    await this.multipart.abort(req.key, req.query.get("uploadId")!);
    return { status: 204 };
  }

  private async listParts(req: Req): Promise<Reply> {
    const uploadId = req.query.get("uploadId")!;
    const marker = Number(req.query.get("part-number-marker") ?? 0);
    const max = Math.min(1000, Number(req.query.get("max-parts") ?? 1000));
    const all = (await this.multipart.parts(req.key, uploadId)).filter((p) => p.number > marker);
    const page = all.slice(0, max);
    const parts = page.map((p) => el("Part", el("PartNumber", p.number), el("LastModified", p.lastModified), el("ETag", p.etag), el("Size", p.size)));
    return {
      xml: el(
        "ListPartsResult",
        [el("Bucket", this.opts.bucket), el("Key", req.key), el("UploadId", uploadId)],
        [el("PartNumberMarker", marker), el("NextPartNumberMarker", page.at(-1)?.number ?? marker), el("MaxParts", max)],
        el("IsTruncated", all.length > page.length),
        parts,
      ),
    };
  }

  private async listUploads(req: Req): Promise<Reply> {
    const prefix = req.query.get("prefix") ?? "";
    const uploads = (await this.multipart.list()).filter((u) => u.key.startsWith(prefix)).sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
    const items = uploads.map((u) => el("Upload", el("Key", u.key), el("UploadId", u.uploadId), el("Initiated", u.initiated), el("StorageClass", "STANDARD")));
    return { xml: el("ListMultipartUploadsResult", el("Bucket", this.opts.bucket), el("Prefix", prefix), el("IsTruncated", false), items) };
  }
}
