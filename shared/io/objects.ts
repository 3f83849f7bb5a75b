// The one door to object storage: every S3 call of reelpress goes through here, with the checks that
// keep files safe (conditional writes, verified copies and renames, streamed uploads).
import { createHash } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import type { Readable } from "node:stream";
import { stat } from "node:fs/promises";
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateBucketCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand, PutObjectCommand,
  GetObjectCommand, HeadBucketCommand, HeadObjectCommand, ListObjectsV2Command, UploadPartCopyCommand, AbortMultipartUploadCommand, type HeadObjectCommandOutput,
} from "@aws-sdk/client-s3";
import { pipeline } from "node:stream/promises";
import type { z } from "zod";
import type { Clients } from "./clients.ts";
import { type ListedEtag, parseEtagPage, peekNextToken } from "./list-xml.ts";
import { nthName } from "../rules/naming.ts";
import type { ListedObject } from "../rules/status.ts";
import type { ObjectChecksum } from "../schemas.ts";

// The uploader and the presigner are loaded when first used: `status` needs neither, and every command pays for what it loads.
const loadUpload = async () => (await import("@aws-sdk/lib-storage")).Upload;
const getSignedUrl: typeof import("@aws-sdk/s3-request-presigner").getSignedUrl = async (...args) => (await import("@aws-sdk/s3-request-presigner")).getSignedUrl(...args);

/** Parts of a server-side copy (S3 allows up to 5 GiB each, 10,000 of them). */
const COPY_PART = 512 * 1024 ** 2;

export type ObjectHead = {
  key: string; size: number; etag: string; lastModified?: Date; contentType?: string; metadata: Record<string, string>; checksum?: ObjectChecksum;
};

/** The HTTP status an SDK error carries, if any. */
function statusOf(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** The key (or bucket) is not there: 404, whichever name the store gives it. */
export function isNotFound(err: unknown): boolean {
  const name = (err as { name?: string }).name;
  return name === "NotFound" || name === "NoSuchKey" || statusOf(err) === 404;
}

function checksumOf(h: HeadObjectCommandOutput): ObjectChecksum | undefined {
  const type = h.ChecksumType ?? "FULL_OBJECT";
  if (h.ChecksumCRC64NVME) return { algorithm: "CRC64NVME", type, value: h.ChecksumCRC64NVME };
  // Only a full-object checksum identifies content; composite (per-part) ones depend on part sizes.
  if (type !== "FULL_OBJECT") return undefined;
  if (h.ChecksumSHA256) return { algorithm: "SHA256", type, value: h.ChecksumSHA256 };
  if (h.ChecksumCRC32C) return { algorithm: "CRC32C", type, value: h.ChecksumCRC32C };
  if (h.ChecksumCRC32) return { algorithm: "CRC32", type, value: h.ChecksumCRC32 };
  return undefined;
}

/** HeadObject with checksum mode; undefined when the object is not there. */
export async function headObject({ s3, config }: Clients, key: string): Promise<ObjectHead | undefined> {
  try {
    const h = await s3.send(new HeadObjectCommand({ Bucket: config.bucket, Key: key, ChecksumMode: "ENABLED" }));
    return { key, size: h.ContentLength ?? 0, etag: h.ETag ?? "", lastModified: h.LastModified, contentType: h.ContentType, metadata: h.Metadata ?? {}, checksum: checksumOf(h) };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/** A GET URL ffmpeg/ffprobe can range-read, so nothing is downloaded whole. */
export function presignedGetUrl({ s3, config }: Clients, key: string, expiresInSec = 3600): Promise<string> {
  return getSignedUrl(s3, new GetObjectCommand({ Bucket: config.bucket, Key: key }), { expiresIn: expiresInSec });
}

/** Streams one version of an object (`etag`) to a local file: one read, whatever reads the file next. */
export async function downloadFile(clients: Clients, key: string, etag: string, file: string): Promise<void> {
  const { body } = await getObject(clients, key, { ifMatch: etag });
  await pipeline(body, createWriteStream(file));
}

export type ObjectBody = { body: Readable; etag: string; size: number; contentType?: string };

/** GET of `key` (only while it is version `ifMatch`, when given; `range`: inclusive bytes); throws when it is not there. */
export async function getObject({ s3, config }: Clients, key: string, opts: { ifMatch?: string; range?: [number, number] } = {}): Promise<ObjectBody> {
  const res = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key, IfMatch: opts.ifMatch, Range: opts.range && `bytes=${opts.range[0]}-${opts.range[1]}` }));
  return { body: res.Body as Readable, etag: res.ETag ?? "", size: res.ContentLength ?? 0, contentType: res.ContentType };
}

/**
 * A small JSON object parsed by `schema`, with the ETag a replace is conditioned on and its size in
 * bytes; undefined when it is not there.
 */
export async function readJsonVersion<T>(clients: Clients, key: string, schema: z.ZodType<T>): Promise<{ value: T; etag: string; bytes: number } | undefined> {
  const read = await readBytesVersion(clients, key);
  if (!read) return undefined;
  const text = read.body.toString("utf8");
  return { value: schema.parse(JSON.parse(text)), etag: read.etag, bytes: Buffer.byteLength(text) };
}

/** An object's bytes with its ETag; undefined when it is not there. */
export async function readBytesVersion(clients: Clients, key: string): Promise<{ body: Buffer; etag: string } | undefined> {
  try {
    const res = await clients.s3.send(new GetObjectCommand({ Bucket: clients.config.bucket, Key: key }));
    const bytes = await res.Body!.transformToByteArray();
    return { body: Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), etag: res.ETag! };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

export async function readJson<T>(clients: Clients, key: string, schema: z.ZodType<T>): Promise<T | undefined> {
  return (await readJsonVersion(clients, key, schema))?.value;
}

type WriteCondition = { ifMatch: string } | { ifNoneMatch: "*" };

function putJsonObject(clients: Clients, key: string, value: unknown, condition?: WriteCondition) {
  return putBody(clients, key, JSON.stringify(value), "application/json", condition);
}

function putBody({ s3, config }: Clients, key: string, body: string | Buffer, contentType: string, condition?: WriteCondition) {
  return s3.send(new PutObjectCommand({
    Bucket: config.bucket, Key: key, Body: body, ContentType: contentType,
    IfMatch: condition && "ifMatch" in condition ? condition.ifMatch : undefined,
    IfNoneMatch: condition && "ifNoneMatch" in condition ? condition.ifNoneMatch : undefined,
  }));
}

/** Writes `key` whatever is there: for objects only one writer ever writes (a runner's own status, a report). */
export async function putJson(clients: Clients, key: string, value: unknown): Promise<void> {
  await putJsonObject(clients, key, value);
}

/** A write refused by its condition is `false`; anything else that goes wrong throws. */
async function conditionalPut(write: Promise<unknown>): Promise<boolean> {
  try {
    await write;
    return true;
  } catch (err) {
    if (isConditionFailed(err)) return false;
    throw err;
  }
}

/** Creates `key` only where nothing is (If-None-Match: *); true when this call created it. */
export function createJson(clients: Clients, key: string, value: unknown): Promise<boolean> {
  return conditionalPut(putJsonObject(clients, key, value, { ifNoneMatch: "*" }));
}

/** Replaces `key` only while it is version `etag` (If-Match); false when another writer got there first. */
export function replaceJson(clients: Clients, key: string, value: unknown, etag: string): Promise<boolean> {
  return conditionalPut(putJsonObject(clients, key, value, { ifMatch: etag }));
}

/**
 * Writes `body` at `key`: over version `etag` only (If-Match), or with `etag` null only where nothing is
 * (If-None-Match), or with `etag` undefined whatever is there; false when the condition refused it.
 */
export function putBytes(clients: Clients, key: string, body: Buffer, etag: string | null | undefined): Promise<boolean> {
  const condition: WriteCondition | undefined = etag === null ? { ifNoneMatch: "*" } : etag === undefined ? undefined : { ifMatch: etag };
  return conditionalPut(putBody(clients, key, body, "application/octet-stream", condition));
}

/** An empty marker object, created only where nothing is; true when this call created it. */
export function createMarker({ s3, config }: Clients, key: string): Promise<boolean> {
  return conditionalPut(s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: Buffer.alloc(0), IfNoneMatch: "*" })));
}

/** Every object under `prefix`, a listing page at a time; with `delimiter`, the folders below it too. */
export async function* listPages({ s3, config }: Clients, prefix: string, delimiter?: string): AsyncGenerator<{ objects: ListedObject[]; folders: string[] }> {
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: prefix, Delimiter: delimiter, ContinuationToken: token }));
    yield {
      objects: (page.Contents ?? []).map((o) => ({ key: o.Key!, size: o.Size ?? 0, etag: o.ETag, lastModified: o.LastModified })),
      folders: (page.CommonPrefixes ?? []).map((p) => p.Prefix!),
    };
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** A page read through a presigned URL: fetch's own limit, so a stalled answer goes to the SDK's retries. */
const FAST_PAGE_TIMEOUT_MS = 120_000;

/**
 * Keys, ETags and sizes under `prefix`, a page at a time, for listings of 10⁶ keys (the manifest's): a
 * page that answers 200 in the expected shape is read by parseEtagPage, ten times faster than the SDK;
 * anything else (an error, a timeout, an odd answer) is asked again through the SDK, with its retries and errors.
 * The next page is asked for as soon as a page's token is seen, so the store makes it while this one is read.
 */
export async function* listEtagPages(clients: Clients, prefix: string): AsyncGenerator<ListedEtag[]> {
  const { s3, config } = clients;
  const command = (token: string | undefined) => new ListObjectsV2Command({ Bucket: config.bucket, Prefix: prefix, ContinuationToken: token });
  /** The answer's body when it is a 200; undefined for anything else, which the SDK is then asked. */
  const fetchPage = async (token: string | undefined): Promise<string | undefined> => {
    try {
      const res = await fetch(await getSignedUrl(s3, command(token), { expiresIn: 900 }), { signal: AbortSignal.timeout(FAST_PAGE_TIMEOUT_MS) });
      const body = await res.text();
      return res.status === 200 ? body : undefined;
    } catch {
      return undefined;
    }
  };
  let token: string | undefined;
  let pending = fetchPage(undefined);
  do {
    const body = await pending;
    // Anything the fast parse does not expect (a character reference out of range, say) is the SDK's to read.
    const fast = <T>(parse: (text: string) => T | undefined): T | undefined => {
      try {
        return body === undefined ? undefined : parse(body);
      } catch {
        return undefined;
      }
    };
    const ahead = fast(peekNextToken);
    if (ahead !== undefined) pending = fetchPage(ahead);
    let page = fast(parseEtagPage);
    if (!page) {
      const answer = await s3.send(command(token));
      page = {
        objects: (answer.Contents ?? []).map((o) => ({ key: o.Key!, etag: o.ETag ?? "", size: o.Size ?? 0 })),
        next: answer.IsTruncated ? answer.NextContinuationToken : undefined,
      };
    }
    // The page read ahead is of the token this page gives, or it is asked for again.
    if (page.next !== undefined && page.next !== ahead) pending = fetchPage(page.next);
    yield page.objects;
    token = page.next;
  } while (token);
}

export async function listKeys(clients: Clients, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for await (const page of listPages(clients, prefix)) keys.push(...page.objects.map((o) => o.key));
  return keys;
}

/** Deletes `keys` whatever they hold, a thousand (S3's most) per request. */
export async function deleteObjects({ s3, config }: Clients, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) {
    const batch = keys.slice(i, i + 1000);
    await s3.send(new DeleteObjectsCommand({ Bucket: config.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
  }
}

/** Throws when the bucket is not there (a bare 404: HeadBucket has no body) or not ours to read. */
export async function headBucket({ s3, config }: Clients, opts: { signal?: AbortSignal } = {}): Promise<void> {
  await s3.send(new HeadBucketCommand({ Bucket: config.bucket }), { abortSignal: opts.signal });
}

export async function createBucket({ s3, config }: Clients): Promise<void> {
  await s3.send(new CreateBucketCommand({ Bucket: config.bucket }));
}

/** S3 copy sources are "bucket/key" with the key URL-encoded. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

/** A refused condition: 412 (the ETag or "*" did not hold) or 409 (a concurrent conditional write). */
export function isConditionFailed(err: unknown): boolean {
  const status = statusOf(err);
  return status === 412 || status === 409;
}

function isConflict(err: unknown): boolean {
  return statusOf(err) === 409;
}

/**
 * Copies one version of `from` (CopySourceIfMatch on its ETag) to `to`, only while `to` is free, and
 * returns the ETag the store gave the new object. Always a multipart copy: If-None-Match on
 * CompleteMultipartUpload is honoured by every store that does conditional writes, while on CopyObject
 * it is recent and rarer.
 */
async function conditionalCopy({ s3, config }: Clients, source: ObjectHead, to: string): Promise<string> {
  const Bucket = config.bucket;
  if (source.size === 0) {
    // No range to copy; empty bytes are the same bytes.
    const r = await s3.send(new PutObjectCommand({ Bucket, Key: to, Body: Buffer.alloc(0), Metadata: source.metadata, IfNoneMatch: "*" }));
    return r.ETag ?? "";
  }
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket, Key: to, Metadata: source.metadata, ContentType: source.contentType }));
  try {
    const parts = [];
    for (let start = 0, n = 1; start < source.size; start += COPY_PART, n++) {
      const end = Math.min(source.size, start + COPY_PART) - 1;
      const r = await s3.send(
        new UploadPartCopyCommand({ Bucket, Key: to, UploadId, PartNumber: n, CopySource: copySource(Bucket, source.key), CopySourceIfMatch: source.etag, CopySourceRange: `bytes=${start}-${end}` }),
      );
      parts.push({ PartNumber: n, ETag: r.CopyPartResult!.ETag });
    }
    const r = await s3.send(new CompleteMultipartUploadCommand({ Bucket, Key: to, UploadId, MultipartUpload: { Parts: parts }, IfNoneMatch: "*" }));
    return r.ETag ?? "";
  } catch (err) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket, Key: to, UploadId })).catch(() => undefined);
    throw err;
  }
}

/**
 * Pure: whether the store's own full-object checksums show two objects differ (or their sizes do). Never
 * a proof of equality: a CRC is linear, so anyone who may write a key can give other bytes the same one.
 */
export function provenDifferent(a: ObjectHead, b: ObjectHead): boolean {
  if (a.size !== b.size) return true;
  const x = a.checksum;
  const y = b.checksum;
  if (!x || !y || x.algorithm !== y.algorithm || x.type !== "FULL_OBJECT" || y.type !== "FULL_OBJECT") return false;
  return x.value !== y.value;
}

/**
 * Pure: proof rule (a). `copy` is the object this job created itself at a free name (its ETag recorded
 * from the create), still that version, and the store's full-object checksum of it equals the source's.
 */
export function isProvenOwnCopy(source: ObjectHead, copy: ObjectHead, createdEtag: string): boolean {
  const x = source.checksum;
  const y = copy.checksum;
  if (createdEtag === "" || copy.etag !== createdEtag || source.size !== copy.size || !x || !y) return false;
  return x.algorithm === y.algorithm && x.type === "FULL_OBJECT" && y.type === "FULL_OBJECT" && PROVING.has(x.algorithm) && x.value === y.value;
}

/** Checksums strong enough against accidents; CRC32/CRC32C collide too easily even for that. */
const PROVING = new Set(["CRC64NVME", "SHA256"]);

/** SHA-256 of one version of an object, streamed; fails if the object changes meanwhile. */
export async function objectSha256({ s3, config }: Clients, head: ObjectHead): Promise<string> {
  const res = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: head.key, IfMatch: head.etag }));
  const hash = createHash("sha256");
  await pipeline(res.Body as NodeJS.ReadableStream, hash);
  return hash.digest("hex");
}

/**
 * Proof rule (b): whether two objects hold the same bytes, by SHA-256 computed here over both. The
 * store's checksums may only show a difference, which saves the reading.
 */
export async function sameBytes(clients: Clients, a: ObjectHead, b: ObjectHead): Promise<boolean> {
  if (provenDifferent(a, b)) return false;
  const [x, y] = await Promise.all([objectSha256(clients, a), objectSha256(clients, b)]);
  return x === y;
}

/** The source is no longer the version a step was meant for. */
export class SourceChangedError extends Error {
  constructor(key: string) {
    super(`${key} changed since it was planned`);
    this.name = "SourceChangedError";
  }
}

/** Names tried for one derived key before giving up: far more than any library ever needs. */
const MAX_NAMES = 100;

/**
 * Copies `from` (exactly the version `expectEtag`, when given) to the first free one of `to`, `to (2)`,
 * `to (3)`, …: a derived key is never overwritten, and an object found at one is a taken name, never
 * taken for a copy (anyone who may write there could have put it there). Returns the new object's head,
 * proven equal to the source by rule (a) or, failing that, (b).
 */
export async function copyToFreeName(clients: Clients, from: string, to: string, opts: { expectEtag?: string } = {}): Promise<ObjectHead> {
  const source = await headObject(clients, from);
  if (!source) throw new Error(`cannot copy ${from}: it is not there`);
  if (opts.expectEtag !== undefined && source.etag !== opts.expectEtag) throw new SourceChangedError(from);
  for (let n = 1, races = 0; n <= MAX_NAMES; n++) {
    const name = nthName(to, n);
    if (await headObject(clients, name)) continue;
    let created: string;
    try {
      created = await conditionalCopy(clients, source, name);
    } catch (err) {
      if (!isConditionFailed(err)) throw err;
      if ((await headObject(clients, from))?.etag !== source.etag) throw new SourceChangedError(from);
      // 409: a concurrent write to the name, which may not stay; ask again, a few times. 412: taken.
      if (isConflict(err) && ++races < 5) n--;
      continue;
    }
    const copy = await headObject(clients, name);
    if (!copy || copy.etag !== created) throw new Error(`the copy of ${from} at ${name} was replaced as soon as it was made; ${from} stays`);
    if (isProvenOwnCopy(source, copy, created) || (await sameBytes(clients, source, copy))) return copy;
    throw new Error(`the copy of ${from} at ${name} does not hold the same bytes; ${from} stays`);
  }
  throw new Error(`cannot copy ${from}: ${to} and its next ${MAX_NAMES - 1} numbered names are all taken`);
}

/** Where `copyToFreeName` put a copy: the first of `to`, `to (2)`, … that `matches`, before the first free name. */
export async function findCopy(clients: Clients, to: string, matches: (h: ObjectHead) => boolean): Promise<ObjectHead | undefined> {
  for (let n = 1; n <= MAX_NAMES; n++) {
    const there = await headObject(clients, nthName(to, n));
    if (!there) return undefined;
    if (matches(there)) return there;
  }
  return undefined;
}

/**
 * Rename = copy to a free name, prove, then delete the old key (only while it is still that version);
 * safe to repeat after a crash at any step. Returns the head of the object at its new name.
 */
export async function renameVerified(clients: Clients, from: string, to: string, expected?: { etag: string; size: number }): Promise<ObjectHead> {
  const source = await headObject(clients, from);
  if (!source || (expected && source.etag !== expected.etag)) {
    const done = await findCopy(clients, to, (h) => !expected || h.size === expected.size);
    if (done && !source) return done;
    if (source) throw new SourceChangedError(from);
    throw new Error(`cannot rename ${from}: neither it nor ${to} is there`);
  }
  const copy = await copyToFreeName(clients, from, to, { expectEtag: source.etag });
  await deleteObject(clients, from, source.etag);
  return copy;
}

/**
 * Copies exactly the version `source` of a small object (a preview) to `to`, over whatever is there:
 * only for reelpress's own keys. False when `source` changed or went meanwhile, and nothing was copied.
 */
export async function copySmallObject({ s3, config }: Clients, source: ObjectHead, to: string): Promise<boolean> {
  try {
    await s3.send(new CopyObjectCommand({ Bucket: config.bucket, Key: to, CopySource: copySource(config.bucket, source.key), CopySourceIfMatch: source.etag }));
    return true;
  } catch (err) {
    if (isConditionFailed(err) || isNotFound(err)) return false;
    throw err;
  }
}

/** Deletes `key`; with `etag`, only while it still is that version (a newer upload stays). */
export async function deleteObject({ s3, config }: Clients, key: string, etag?: string): Promise<void> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key, IfMatch: etag }));
  } catch (err) {
    if (etag && isConditionFailed(err)) return;
    throw err;
  }
}

/** Deletes `key` only while it is version `etag`; false when it changed (or went) meanwhile, and it stays. */
export async function deleteIfUnchanged({ s3, config }: Clients, key: string, etag: string): Promise<boolean> {
  try {
    await s3.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key, IfMatch: etag }));
    return true;
  } catch (err) {
    if (isConditionFailed(err) || isNotFound(err)) return false;
    throw err;
  }
}

export type UploadOptions = {
  metadata?: Record<string, string>;
  contentType?: string;
  partSize?: number;
  queueSize?: number;
  onProgress?(loaded: number, total: number): void;
  signal?: AbortSignal;
  /** Write only over exactly this version (`ifMatch`: its ETag), or only where nothing is (`ifNoneMatch: "*"`). */
  condition?: { ifMatch: string } | { ifNoneMatch: "*" };
};

/**
 * Streams a local file to `key` by multipart upload with bounded memory (partSize × queueSize).
 * The object appears only when the upload completes; an aborted one leaves nothing behind.
 */
export async function uploadFile({ s3, config }: Clients, file: string, key: string, opts: UploadOptions = {}): Promise<{ etag: string; size: number }> {
  const { size } = await stat(file);
  opts.signal?.throwIfAborted();
  const Upload = await loadUpload();
  const body = createReadStream(file);
  const upload = new Upload({
    client: s3,
    // The condition goes on the PutObject, or on the CompleteMultipartUpload that makes the object appear.
    params: {
      Bucket: config.bucket, Key: key, Body: body, Metadata: opts.metadata, ContentType: opts.contentType ?? "video/mp4",
      IfMatch: opts.condition && "ifMatch" in opts.condition ? opts.condition.ifMatch : undefined,
      IfNoneMatch: opts.condition && "ifNoneMatch" in opts.condition ? opts.condition.ifNoneMatch : undefined,
    },
    // 8 MiB parts by default, as the AWS CLI uses; S3 allows 10,000 parts, so very large files get
    // proportionally larger parts.
    partSize: Math.max(5 * 1024 ** 2, opts.partSize ?? 8 * 1024 ** 2, Math.ceil(size / 9000)),
    queueSize: opts.queueSize ?? 4,
    leavePartsOnError: false,
  });
  upload.on("httpUploadProgress", (p) => opts.onProgress?.(p.loaded ?? 0, size));
  // Failing the body, rather than upload.abort() (whose promise settles before its clean-up), makes
  // done() reject only after the parts in flight have finished and the multipart upload is aborted.
  const onAbort = () => body.destroy(Object.assign(new Error("Upload aborted."), { name: "AbortError" }));
  opts.signal?.addEventListener("abort", onAbort, { once: true });
  try {
    const r = await upload.done();
    return { etag: r.ETag ?? "", size };
  } finally {
    opts.signal?.removeEventListener("abort", onAbort);
  }
}
