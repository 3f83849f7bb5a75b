// A chunked job's state in the bucket: immutable objects, each created once with If-None-Match: *, so
// two runners racing to write the same fact leave exactly one, and a crash never leaves half a fact.
import { createReadStream } from "node:fs";
import { DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import type { z } from "zod";
import type { Clients } from "../../shared/io/clients.ts";
import { MergeClaim } from "../../shared/schemas.ts";
import { downloadFile, headObject } from "../../shared/io/objects.ts";
import { SHA256 } from "../job-state.ts";
import { sha256File } from "../publish.ts";

function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
}

/** The store refused the write because the key exists (412), or another conditional write to it is in flight (409). */
function isTaken(err: unknown): boolean {
  const status = httpStatus(err);
  return status === 412 || status === 409;
}

export async function readJson<T>({ s3, config }: Clients, key: string, schema: z.ZodType<T>): Promise<T | undefined> {
  try {
    const res = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: key }));
    return schema.parse(JSON.parse(await res.Body!.transformToString()));
  } catch (err) {
    if (httpStatus(err) === 404 || (err as Error).name === "NoSuchKey") return undefined;
    throw err;
  }
}

/** Creates `key` unless it exists; true when this call created it. */
export async function createJson({ s3, config }: Clients, key: string, value: unknown): Promise<boolean> {
  try {
    await s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: JSON.stringify(value), ContentType: "application/json", IfNoneMatch: "*" }));
    return true;
  } catch (err) {
    if (isTaken(err)) return false;
    throw err;
  }
}

/**
 * Uploads `file` to `key` with its SHA-256 in the metadata, unless the key exists. An existing object
 * with the same SHA-256 is the same fact written twice (a redelivered or duplicated message); one with
 * another is refused, unless `anyBytes` (two encodes of one chunk are equally good: the first stays).
 * Multipart, so chunks of any size fit; the condition is checked at completion.
 */
export async function createFromFile(clients: Clients, file: string, key: string, opts: { signal?: AbortSignal; anyBytes?: boolean } = {}): Promise<{ sha256: string; created: boolean }> {
  const { signal } = opts;
  const sha256 = await sha256File(file);
  try {
    const upload = new Upload({
      client: clients.s3,
      params: { Bucket: clients.config.bucket, Key: key, Body: createReadStream(file), Metadata: { [SHA256]: sha256 }, ContentType: "application/octet-stream", IfNoneMatch: "*" },
      partSize: 8 * 1024 ** 2,
      queueSize: 4,
      leavePartsOnError: false,
    });
    signal?.addEventListener("abort", () => void upload.abort(), { once: true });
    await upload.done();
    return { sha256, created: true };
  } catch (err) {
    if (!isTaken(err)) throw err;
    const existing = await headObject(clients, key);
    if (!existing) throw new Error(`${key} was refused as taken, yet is not there`);
    if (opts.anyBytes) return { sha256: existing.metadata[SHA256], created: false };
    if (existing.metadata[SHA256] !== sha256) throw new Error(`${key} already holds other bytes (SHA-256 ${existing.metadata[SHA256]}, this one ${sha256})`);
    return { sha256, created: false };
  }
}

/**
 * Downloads `key` and checks its SHA-256 against `sha256` (by default the one its uploader stored with
 * it): a damaged work object is never used.
 */
export async function downloadChecked(clients: Clients, key: string, file: string, sha256?: string): Promise<void> {
  const head = await headObject(clients, key);
  if (!head) throw new Error(`${key} is missing`);
  const expected = sha256 ?? head.metadata[SHA256];
  await downloadFile(clients, key, head.etag, file);
  const got = await sha256File(file);
  if (got !== expected) throw new Error(`${key} does not match its checksum (SHA-256 ${got}, expected ${expected})`);
}

export async function listKeys({ s3, config }: Clients, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  let token: string | undefined;
  do {
    const page = await s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) keys.push(o.Key!);
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return keys;
}

/**
 * Removes a job's work objects. The plan goes first (a late chunk message then finds nothing to do), the
 * merge claim last (until then a redelivered merge message still knows it is the one to finish).
 */
export async function removeWork(clients: Clients, keys: { dir: string; plan: string; mergeClaim: string }): Promise<void> {
  const remove = async (list: string[]) => {
    for (let i = 0; i < list.length; i += 1000) {
      const batch = list.slice(i, i + 1000);
      if (batch.length) await clients.s3.send(new DeleteObjectsCommand({ Bucket: clients.config.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } }));
    }
  };
  await remove([keys.plan]);
  const rest = await listKeys(clients, keys.dir);
  await remove(rest.filter((k) => k !== keys.mergeClaim));
  await remove([keys.mergeClaim]);
}

/**
 * A merge message redriven from the dead-letter queue comes back as a new message: the claim of its chunk
 * is moved to it (If-Match on the claim read), so the job can still merge, and still only once.
 */
export async function handOverClaim(clients: Clients, key: string, index: number, toMessageId: string): Promise<boolean> {
  let res;
  try {
    res = await clients.s3.send(new GetObjectCommand({ Bucket: clients.config.bucket, Key: key }));
  } catch (err) {
    if (httpStatus(err) === 404 || (err as Error).name === "NoSuchKey") return false;
    throw err;
  }
  const claim = MergeClaim.parse(JSON.parse(await res.Body!.transformToString()));
  if (claim.index !== index) return false;
  await clients.s3.send(new PutObjectCommand({
    Bucket: clients.config.bucket, Key: key, ContentType: "application/json", IfMatch: res.ETag,
    Body: JSON.stringify({ ...claim, messageId: toMessageId, claimedAt: new Date().toISOString() } satisfies MergeClaim),
  }));
  return true;
}
