// The probe step: an S3 event record becomes a manifest record and a ProbeResult on the plan queue.
// A small object is read once, whole, into a temp file for ffprobe and one ffmpeg; a large one only
// in its header and seek-sampled frames, over a presigned URL. Unreadable input is recorded as
// `failed` and left where it is.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Clients } from "../io/clients.ts";
import { COMPRESSED_MARK, isCompressedMedia, isCompressedMetadata } from "../rules/decision.ts";
import { readableReason } from "../rules/failure-reasons.ts";
import { UnreadableMediaError, probeMedia } from "../media/ffprobe.ts";
import { MediaStalledError } from "../media/run.ts";
import { sampleTimes } from "../media/fingerprint.ts";
import { patchRecord, readRecord } from "../io/manifest.ts";
import { decodeEventKey, isRecordedKind, keyKind, thumbnailKeyFor } from "../rules/naming.ts";
import { sampleVideo } from "../media/sample.ts";
import type { ManifestRecord, ManifestState, ProbeResult, S3EventRecord } from "../schemas.ts";
import { downloadFile, headObject, presignedGetUrl, uploadFile } from "../io/objects.ts";
import { sendJson } from "../io/queues.ts";
import { releaseQueued } from "../io/queued-marks.ts";
import { pruneIfGone } from "../io/orphans.ts";

export type IngestOutcome =
  | { key: string; status: "ignored" | "compressed"; reason: string }
  /** An ObjectRemoved event whose object a HEAD confirmed gone: its record went with it. */
  | { key: string; status: "pruned"; reason: string }
  /** `reason` is the readable sentence, `error` what ffprobe said. */
  | { key: string; status: "failed"; reason: string; error: string }
  | { key: string; status: "probed"; result: ProbeResult };

/**
 * States in which this version of an object needs no new probe: its job is queued, running or done, or
 * it failed (a new version of the file is probed again; a rescan neither probes nor notifies again).
 */
const SETTLED: ReadonlySet<ManifestState> = new Set(["planned", "encoding", "compressed", "skipped", "failed"]);

const bareEtag = (etag: string) => etag.replace(/"/g, "");

/** Same size and ETag (listings and heads may differ in quoting). */
export function isSameVersion(record: Pick<ManifestRecord, "size" | "etag"> | undefined, ref: { size: number; etag: string }): boolean {
  return record !== undefined && record.size === ref.size && bareEtag(record.etag) === bareEtag(ref.etag);
}

/** Why a key is not library input, from its name alone; undefined when it is. */
export function keyFilterReason(key: string, backupPrefix: string): string | undefined {
  switch (keyKind(key, backupPrefix)) {
    case "system":
      return "reelpress's own object or a backup";
    case "unsupported":
      return "not a supported video extension";
    case "skipped":
      return "already skipped (_skip name)";
    case "unsafe":
      return "not a safe relative path (refused)";
    case "video":
      return undefined;
  }
}

/** Only object creations start work: removals, restores and S3's test event do not. */
export function isCreation(eventName: string): boolean {
  return /(^|:)ObjectCreated:/.test(eventName);
}

/** A delete, or a delete marker on a versioned bucket: the record may have to go. */
export function isRemoval(eventName: string): boolean {
  return /(^|:)ObjectRemoved:/.test(eventName);
}

/**
 * Objects up to this size are downloaded once rather than range-read by ffprobe and ffmpeg: every
 * range-reading process reads the container header again, which for small objects costs several
 * times their size (9–28× with 16 seek processes, measured by the ingest bench).
 */
export const SINGLE_READ_BYTES = 64 * 1024 ** 2;

/**
 * Probes one object: filters, HeadObject with checksum, ffprobe, then fingerprints, picture stats and
 * a thumbnail from one sampling of its frames, and the manifest record. Returns what happened; throws only for errors worth a retry (network, store).
 */
export async function probeObject(clients: Clients, key: string, opts: { dryRun?: boolean; lastTry?: boolean } = {}): Promise<IngestOutcome> {
  const { config } = clients;
  const filtered = keyFilterReason(key, config.backupPrefix) ?? (key.startsWith(config.prefix) ? undefined : `outside the library prefix ${config.prefix}`);
  if (filtered) return { key, status: "ignored", reason: filtered };
  const head = await headObject(clients, key);
  if (!head) return { key, status: "ignored", reason: "gone before it could be probed" };
  if (isCompressedMetadata(head.metadata)) return { key, status: "ignored", reason: `already compressed (${COMPRESSED_MARK} metadata)` };
  const existing = await readRecord(clients, key);
  if (existing && isSameVersion(existing.record, head) && SETTLED.has(existing.record.state)) {
    return { key, status: "ignored", reason: `already ${existing.record.state}` };
  }
  const identity = { size: head.size, etag: head.etag, lastModified: head.lastModified?.toISOString(), checksum: head.checksum };
  const timeoutSec = config.probeTimeoutSec;
  const dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-probe-"));
  try {
    let input: string;
    if (head.size <= SINGLE_READ_BYTES) {
      input = path.join(dir, "object");
      await downloadFile(clients, key, head.etag, input);
    } else input = await presignedGetUrl(clients, key);
    const media = await probeMedia(input, { timeoutSec, sizeBytes: head.size });
    if (isCompressedMedia(media)) {
      const reason = `already compressed (${COMPRESSED_MARK} container tag)`;
      await patchRecord(clients, key, { ...identity, state: "compressed", reason, media });
      return { key, status: "compressed", reason };
    }
    const { fingerprints, picture, thumbnail } = await sampleVideo(input, media, { times: sampleTimes(media.durationSec, config.fingerprintCount), timeoutSec, dir });
    const thumbnailKey = thumbnail ? thumbnailKeyFor(key) : undefined;
    if (thumbnail && thumbnailKey) await uploadFile(clients, thumbnail, thumbnailKey, { contentType: "image/jpeg" });
    await patchRecord(clients, key, { ...identity, state: "probed", media, fingerprints, picture, thumbnailKey, reason: undefined, error: undefined });
    const result: ProbeResult = {
      bucket: config.bucket,
      key,
      size: head.size,
      etag: head.etag,
      media,
      fingerprints,
      checksum: head.checksum,
      dryRun: opts.dryRun ?? false,
      probedAt: new Date().toISOString(),
    };
    return { key, status: "probed", result };
  } catch (err) {
    // A stall is retried (the queue's visibility is the back-off); only the last try makes it a verdict.
    if (!(err instanceof UnreadableMediaError) && !(err instanceof MediaStalledError && opts.lastTry)) throw err;
    const reason = readableReason(err.message, key);
    await patchRecord(clients, key, { ...identity, state: "failed", reason, error: err.message });
    return { key, status: "failed", reason, error: err.message };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The probe function's work for one S3 event record: probe, hand the result to the strategy step, then
 * remove the version's queued mark (its record answers from now on; a retry keeps the mark).
 */
/**
 * A library video (or kept `_skip` file) deleted from the bucket takes its record along, so the summary
 * stops counting it. The event proves nothing by itself (anyone may send one): `pruneIfGone` deletes the
 * record only when a HEAD finds the object gone, and only while the record is the version it read.
 */
async function pruneRemoved(clients: Clients, key: string): Promise<IngestOutcome> {
  if (!isRecordedKind(key, clients.config.backupPrefix) || !key.startsWith(clients.config.prefix)) {
    return { key, status: "ignored", reason: "a removal outside the library's videos" };
  }
  return (await pruneIfGone(clients, key))
    ? { key, status: "pruned", reason: "the object is gone; its record went with it" }
    : { key, status: "ignored", reason: "removal: the object is still there, or it has no record" };
}

export async function ingestEventRecord(clients: Clients, record: S3EventRecord, opts: { lastTry?: boolean } = {}): Promise<IngestOutcome> {
  const key = decodeEventKey(record.s3.object.key);
  if (record.s3.bucket.name !== clients.config.bucket) return { key, status: "ignored", reason: `bucket ${record.s3.bucket.name} is not the library` };
  if (isRemoval(record.eventName)) return pruneRemoved(clients, key);
  if (!isCreation(record.eventName)) return { key, status: "ignored", reason: `event ${record.eventName}` };
  const outcome = await probeObject(clients, key, opts);
  if (outcome.status === "probed") {
    await sendJson(clients, clients.config.queues.plan, outcome.result);
  }
  // Only reelpress's own senders mark; S3's and MinIO's notifications cost no extra read.
  if (record.eventSource === "reelpress") await releaseQueued(clients, key, { size: record.s3.object.size, etag: record.s3.object.eTag });
  return outcome;
}
