// A chunked job's state in the bucket: immutable objects, each created once with If-None-Match: *, so
// two runners racing to write the same fact leave exactly one, and a crash never leaves half a fact.
import type { Clients } from "../../shared/io/clients.ts";
import { MergeClaim } from "../../shared/schemas.ts";
import { deleteObjects, downloadFile, headObject, isConditionFailed, listKeys, readJsonVersion, replaceJson, uploadFile } from "../../shared/io/objects.ts";
import { SHA256 } from "../job-state.ts";
import { sha256File } from "../publish.ts";

/**
 * Uploads `file` to `key` with its SHA-256 in the metadata, unless the key exists. An existing object
 * with the same SHA-256 is the same fact written twice (a redelivered or duplicated message); one with
 * another is refused, unless `anyBytes` (two encodes of one chunk are equally good: the first stays).
 * Multipart, so chunks of any size fit; the condition is checked at completion.
 */
export async function createFromFile(clients: Clients, file: string, key: string, opts: { signal?: AbortSignal; anyBytes?: boolean } = {}): Promise<{ sha256: string; created: boolean }> {
  const sha256 = await sha256File(file);
  try {
    await uploadFile(clients, file, key, { metadata: { [SHA256]: sha256 }, contentType: "application/octet-stream", condition: { ifNoneMatch: "*" }, signal: opts.signal });
    return { sha256, created: true };
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
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

/**
 * Removes a job's work objects. The plan goes first (a late chunk message then finds nothing to do), the
 * merge claim last (until then a redelivered merge message still knows it is the one to finish).
 */
export async function removeWork(clients: Clients, keys: { dir: string; plan: string; mergeClaim: string }): Promise<void> {
  await deleteObjects(clients, [keys.plan]);
  const rest = await listKeys(clients, keys.dir);
  await deleteObjects(clients, rest.filter((k) => k !== keys.mergeClaim));
  await deleteObjects(clients, [keys.mergeClaim]);
}

/**
 * A merge message redriven from the dead-letter queue comes back as a new message: the claim of its chunk
 * is moved to it (If-Match on the claim read), so the job can still merge, and still only once.
 */
export async function handOverClaim(clients: Clients, key: string, index: number, toMessageId: string): Promise<boolean> {
  const read = await readJsonVersion(clients, key, MergeClaim);
  if (!read) return false;
  const claim = read.value;
  if (claim.index !== index) return false;
  const moved = await replaceJson(clients, key, { ...claim, messageId: toMessageId, claimedAt: new Date().toISOString() } satisfies MergeClaim, read.etag);
  if (!moved) throw new Error(`the merge claim ${key} changed while it was handed over`);
  return true;
}
