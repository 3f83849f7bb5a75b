// Object operations with the checks that keep files safe: verified copies and renames, streamed uploads.
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import type { Readable } from "node:stream";
import { stat } from "node:fs/promises";
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand,
  GetObjectCommand, HeadObjectCommand, UploadPartCopyCommand, AbortMultipartUploadCommand, type HeadObjectCommandOutput,
} from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import type { Clients } from "./clients.ts";
import type { ObjectChecksum } from "./schemas.ts";

/** CopyObject's limit; larger objects are copied part by part. */
export const SINGLE_COPY_LIMIT = 5 * 1024 ** 3;
const COPY_PART = 512 * 1024 ** 2;

export type ObjectHead = { key: string; size: number; etag: string; lastModified?: Date; metadata: Record<string, string>; checksum?: ObjectChecksum };

function isNotFound(err: unknown): boolean {
  const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
  return e.name === "NotFound" || e.name === "NoSuchKey" || e.$metadata?.httpStatusCode === 404;
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
    return { key, size: h.ContentLength ?? 0, etag: h.ETag ?? "", lastModified: h.LastModified, metadata: h.Metadata ?? {}, checksum: checksumOf(h) };
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
export async function downloadFile({ s3, config }: Clients, key: string, etag: string, file: string): Promise<void> {
  const res = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key, IfMatch: etag }));
  await pipeline(res.Body as Readable, createWriteStream(file));
}

/** S3 copy sources are "bucket/key" with the key URL-encoded. */
function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split("/").map(encodeURIComponent).join("/")}`;
}

async function multipartCopy({ s3, config }: Clients, from: string, to: string, size: number): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: config.bucket, Key: to }));
  try {
    const parts = [];
    for (let start = 0, n = 1; start < size; start += COPY_PART, n++) {
      const end = Math.min(size, start + COPY_PART) - 1;
      const r = await s3.send(
        new UploadPartCopyCommand({ Bucket: config.bucket, Key: to, UploadId, PartNumber: n, CopySource: copySource(config.bucket, from), CopySourceRange: `bytes=${start}-${end}` }),
      );
      parts.push({ PartNumber: n, ETag: r.CopyPartResult!.ETag });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: config.bucket, Key: to, UploadId, MultipartUpload: { Parts: parts } }));
  } catch (err) {
    await s3.send(new AbortMultipartUploadCommand({ Bucket: config.bucket, Key: to, UploadId })).catch(() => undefined);
    throw err;
  }
}

/** Whether `copy` holds the bytes of `source`, as far as the store can tell without reading them. */
export function copyMatches(source: ObjectHead, copy: ObjectHead, multipartCopy: boolean): boolean {
  if (copy.size !== source.size) return false;
  // Full-object checksums of one algorithm on both sides decide (S3 gives every new object a CRC64NVME).
  if (source.checksum && copy.checksum && source.checksum.algorithm === copy.checksum.algorithm) return source.checksum.value === copy.checksum.value;
  // A multipart upload's ETag ("…-N") depends on its parts: a copy gets another one, so only the size can match.
  return multipartCopy || /-\d+"?$/.test(source.etag) || copy.etag === source.etag;
}

/**
 * Copies `from` to `to` (metadata kept) and checks that the copy has the source's size, and its ETag
 * when the copy was a single CopyObject. Returns the copy's head. Throws when anything is off.
 */
export async function copyVerified(clients: Clients, from: string, to: string, opts: { multipartAbove?: number } = {}): Promise<ObjectHead> {
  const source = await headObject(clients, from);
  if (!source) throw new Error(`cannot copy ${from}: it is not there`);
  const existing = await headObject(clients, to);
  if (existing && existing.size === source.size && existing.etag === source.etag) return existing;
  const multipart = source.size > (opts.multipartAbove ?? SINGLE_COPY_LIMIT);
  if (multipart) await multipartCopy(clients, from, to, source.size);
  else await clients.s3.send(new CopyObjectCommand({ Bucket: clients.config.bucket, Key: to, CopySource: copySource(clients.config.bucket, from), MetadataDirective: "COPY" }));
  const copy = await headObject(clients, to);
  if (!copy || !copyMatches(source, copy, multipart)) {
    throw new Error(`copy of ${from} to ${to} did not verify (size ${copy?.size} vs ${source.size})`);
  }
  return copy;
}

/** Rename = copy, verify, then delete the old key; safe to repeat after a crash at any step. */
export async function renameVerified(clients: Clients, from: string, to: string): Promise<ObjectHead> {
  const source = await headObject(clients, from);
  if (!source) {
    const done = await headObject(clients, to);
    if (done) return done;
    throw new Error(`cannot rename ${from}: neither it nor ${to} is there`);
  }
  const copy = await copyVerified(clients, from, to);
  await deleteObject(clients, from);
  return copy;
}

export async function deleteObject({ s3, config }: Clients, key: string): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: key }));
}

export type UploadOptions = {
  metadata?: Record<string, string>;
  contentType?: string;
  partSize?: number;
  queueSize?: number;
  onProgress?(loaded: number, total: number): void;
  signal?: AbortSignal;
};

/**
 * Streams a local file to `key` by multipart upload with bounded memory (partSize × queueSize).
 * The object appears only when the upload completes; an aborted one leaves nothing behind.
 */
export async function uploadFile({ s3, config }: Clients, file: string, key: string, opts: UploadOptions = {}): Promise<{ etag: string; size: number }> {
  const { size } = await stat(file);
  opts.signal?.throwIfAborted();
  const body = createReadStream(file);
  const upload = new Upload({
    client: s3,
    params: { Bucket: config.bucket, Key: key, Body: body, Metadata: opts.metadata, ContentType: opts.contentType ?? "video/mp4" },
    // 8 MiB parts by default: the embedded emulator refuses request bodies over 11 MiB, and S3 allows
    // 10,000 parts, so very large files get proportionally larger parts.
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
