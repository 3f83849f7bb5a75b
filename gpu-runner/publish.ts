// Publishing a verified output, in an order that survives a crash between any two steps: backup
// (verified) → montage → output (tagged) → manifest → source removal. Each step is safe to repeat.
import { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { Clients } from "../shared/clients.ts";
import { deleteRecord, patchRecord, readRecord } from "../shared/manifest.ts";
import { backupKeyFor, skipKeyFor } from "../shared/naming.ts";
import type { EncodeJob, FrameFingerprint, MediaInfo } from "../shared/schemas.ts";
import { copyVerified, deleteObject, headObject, renameVerified, uploadFile, type ObjectHead } from "../shared/storage.ts";
import { montageKeyFor, outputMetadata } from "./job-state.ts";

/** The source is no longer the version the job was planned for. */
export class SourceChangedError extends Error {
  constructor(key: string) {
    super(`${key} changed since it was planned`);
    this.name = "SourceChangedError";
  }
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

export type VerifiedOutput = { file: string; montage: string; sha256: string; media: MediaInfo; fingerprints: FrameFingerprint[] };
export type Published = { output: ObjectHead; backupKey: string; montageKey?: string; savedBytes: number };

export async function publish(clients: Clients, job: EncodeJob, out: VerifiedOutput): Promise<Published> {
  const source = await headObject(clients, job.key);
  if (!source || source.etag !== job.etag || source.size !== job.size) throw new SourceChangedError(job.key);
  const backupKey = backupKeyFor(job.key, clients.config.backupPrefix);
  const backup = await copyVerified(clients, job.key, backupKey);
  if (backup.size !== job.size) throw new Error(`backup ${backupKey} has ${backup.size} bytes, the source ${job.size}`);
  const montageKey = montageKeyFor(job.outputKey);
  await uploadFile(clients, out.montage, montageKey, { contentType: "image/jpeg" });
  await uploadFile(clients, out.file, job.outputKey, { metadata: outputMetadata(job, out.sha256) });
  const output = await headObject(clients, job.outputKey);
  if (!output) throw new Error(`${job.outputKey} is not there after its upload`);
  return finish(clients, job, { output, sha256: out.sha256, media: out.media, fingerprints: out.fingerprints, montageKey });
}

/**
 * The steps after the output is up: its manifest record, then the source and the source's record
 * (only when the output has another key; an MP4 source was replaced in place by the upload).
 */
export async function finish(
  clients: Clients,
  job: EncodeJob,
  done: { output: ObjectHead; sha256: string; media: MediaInfo; fingerprints: FrameFingerprint[]; montageKey?: string },
): Promise<Published> {
  const backupKey = backupKeyFor(job.key, clients.config.backupPrefix);
  const savedBytes = job.size - done.output.size;
  await patchRecord(clients, job.outputKey, {
    size: done.output.size,
    etag: done.output.etag,
    lastModified: done.output.lastModified?.toISOString(),
    state: "compressed",
    reason: job.reason,
    media: done.media,
    fingerprints: done.fingerprints,
    sha256: done.sha256,
    montageKey: done.montageKey,
    savedBytes,
    source: { key: job.key, size: job.size, etag: job.etag, backupKey },
    runner: undefined,
    error: undefined,
  });
  if (job.outputKey !== job.key) {
    // Checked here, not only by order: a resumed job reaches this point without having made the backup itself.
    const backup = await headObject(clients, backupKey);
    if (!backup || backup.size !== job.size) throw new Error(`backup ${backupKey} is missing or incomplete; ${job.key} stays`);
    const source = await headObject(clients, job.key);
    // A newer upload at the source key is someone's new file: it stays, with its own record.
    if (source && source.etag === job.etag && source.size === job.size) await deleteObject(clients, job.key);
    if (!source || source.etag === job.etag) await deleteRecord(clients, job.key);
  }
  return { output: done.output, backupKey, montageKey: done.montageKey, savedBytes };
}

/** The encode cannot save what the row must: the source becomes `_skip`, its record moves with it. */
export async function skipSource(clients: Clients, job: EncodeJob, reason: string): Promise<string> {
  const skipKey = skipKeyFor(job.key);
  const moved = await renameVerified(clients, job.key, skipKey);
  const previous = (await readRecord(clients, job.key))?.record;
  await patchRecord(clients, skipKey, {
    media: previous?.media,
    fingerprints: previous?.fingerprints ?? job.fingerprints,
    checksum: previous?.checksum,
    decision: previous?.decision,
    size: moved.size,
    etag: moved.etag,
    lastModified: moved.lastModified?.toISOString(),
    state: "skipped",
    reason,
  });
  await deleteRecord(clients, job.key);
  return skipKey;
}
