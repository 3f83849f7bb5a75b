// Publishing a verified output, in an order that survives a crash between any two steps: backup
// (verified) → montage → output (tagged) → manifest → source removal. Each step is safe to repeat.
import { createReadStream } from "node:fs";
import { createHash } from "node:crypto";
import { pipeline } from "node:stream/promises";
import type { Clients } from "../shared/io/clients.ts";
import { deleteRecord, patchRecord, readRecord } from "../shared/io/manifest.ts";
import { backupKeyFor, previewKeyFor } from "../shared/rules/naming.ts";
import type { EncodeJob, FrameFingerprint, ManifestRecord, MediaInfo, Quality } from "../shared/schemas.ts";
import {
  SourceChangedError, copyToFreeName, deleteObject, headObject, isConditionFailed, sameBytes, uploadFile, type ObjectHead,
} from "../shared/io/objects.ts";
import { isSameVersion } from "../shared/steps/probe.ts";
import { skipVersion } from "../shared/steps/skip.ts";
import { SHA256 as SHA256_KEY, backupKeyOf, isPublishedFor, montageKeyFor, outputMetadata } from "./job-state.ts";

export async function sha256File(file: string): Promise<string> {
  const hash = createHash("sha256");
  await pipeline(createReadStream(file), hash);
  return hash.digest("hex");
}

/** `preview`: the pass's preview file, when it made one; `quality`: the output against its source; `encode`: the profile and settings it was made with. */
export type VerifiedOutput = { file: string; montage: string; preview?: string; sha256: string; media: MediaInfo; fingerprints: FrameFingerprint[]; quality?: Quality; encode: EncodeRecord };
type EncodeRecord = NonNullable<ManifestRecord["encode"]>;
export type Published = { output: ObjectHead; backupKey: string; montageKey?: string; savedBytes: number };

export async function publish(clients: Clients, job: EncodeJob, out: VerifiedOutput): Promise<Published> {
  // Proven equal to exactly the planned version, at a name no other file holds.
  const backup = await copyToFreeName(clients, job.key, backupKeyFor(job.key, clients.config.backupPrefix), { expectEtag: job.etag });
  const montageKey = montageKeyFor(job.outputKey);
  await uploadFile(clients, out.montage, montageKey, { contentType: "image/jpeg" });
  const previewKey = out.preview ? previewKeyFor(job.outputKey) : undefined;
  if (out.preview) await uploadFile(clients, out.preview, previewKey!, { contentType: "video/webm" });
  // In place, the output replaces only the planned version; elsewhere, only an empty name.
  const inPlace = job.outputKey === job.key;
  try {
    await uploadFile(clients, out.file, job.outputKey, {
      metadata: outputMetadata(job, out.sha256, backup.key),
      contentType: job.outputKey.toLowerCase().endsWith(".mkv") ? "video/x-matroska" : undefined,
      condition: inPlace ? { ifMatch: job.etag } : { ifNoneMatch: "*" },
    });
  } catch (err) {
    if (!isConditionFailed(err)) throw err;
  }
  const output = await headObject(clients, job.outputKey);
  // Lost the race to another attempt that published this very job: its output stands, and we finish it.
  if (!isPublishedFor(output, job)) {
    if (inPlace) throw new SourceChangedError(job.key);
    throw new Error(`${job.outputKey} was taken by another object during the upload, which is never overwritten`);
  }
  return finish(clients, job, { output: output!, sha256: output!.metadata[SHA256_KEY], media: out.media, fingerprints: out.fingerprints, montageKey, previewKey, quality: out.quality, backup, encode: out.encode });
}

/**
 * The steps after the output is up: its manifest record, then the source and the source's record
 * (only when the output has another key; an MP4 source was replaced in place by the upload).
 */
export async function finish(
  clients: Clients,
  job: EncodeJob,
  done: { output: ObjectHead; sha256: string; media: MediaInfo; fingerprints: FrameFingerprint[]; montageKey?: string; previewKey?: string; quality?: Quality; backup?: ObjectHead; encode: EncodeRecord },
): Promise<Published> {
  const backupKey = backupKeyOf(done.output, job, clients.config.backupPrefix);
  const savedBytes = job.size - done.output.size;
  // Known only when this attempt made the backup; a resumed job leaves it unrecorded.
  const backupEtag = done.backup?.key === backupKey ? done.backup.etag : undefined;
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
    previewKey: done.previewKey,
    quality: done.quality,
    savedBytes,
    encode: done.encode,
    source: { key: job.key, size: job.size, etag: job.etag, backupKey, backupEtag },
    runner: undefined,
    error: undefined,
  });
  if (job.outputKey !== job.key) {
    const source = await headObject(clients, job.key);
    // A newer upload at the source key is someone's new file: it stays, with its own record.
    if (source && source.etag === job.etag && source.size === job.size) {
      // The backup this attempt made and proved, while it is still that version; else (a resumed job,
      // whose output merely names a backup anyone could have written) SHA-256 over both.
      const backup = await headObject(clients, backupKey);
      const ownCopy = backup !== undefined && done.backup?.key === backup.key && done.backup.etag === backup.etag;
      if (!backup || !(ownCopy || (await sameBytes(clients, source, backup)))) throw new Error(`backup ${backupKey} is missing or differs from ${job.key}, which stays`);
      await deleteObject(clients, job.key, job.etag);
    }
    if (!source || source.etag === job.etag) await deleteRecord(clients, job.key);
  }
  return { output: done.output, backupKey, montageKey: done.montageKey, savedBytes };
}

/**
 * The encode cannot save what the row must, or fell below the quality floor: the source is skipped as its
 * plan says (shared/steps/skip.ts), renamed `_skip` unless the strategy planned it to keep its name, with
 * `extra` (the quality that refused it) in its record.
 */
export async function skipSource(clients: Clients, job: EncodeJob, reason: string, extra: Pick<ManifestRecord, "quality"> = {}): Promise<string> {
  const record = (await readRecord(clients, job.key))?.record;
  const keep = record !== undefined && isSameVersion(record, job) && record.plan?.skipRename === false;
  return skipVersion(clients, job, { rename: !keep }, { reason, fingerprints: job.fingerprints, ...extra });
}
