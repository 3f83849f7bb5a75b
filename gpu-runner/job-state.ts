// Where a job stands, read from the objects themselves: a redelivered message, or one a killed runner
// left half done, resumes from here. The output's metadata names the exact source version it replaced.
import { COMPRESSED_MARK, STATE_METADATA_KEY } from "../shared/rules/decision.ts";
import { PREVIEWS_PREFIX, UnsafeKeyError, backupKeyFor, isNthNameOf, unsafeKeyReason } from "../shared/rules/naming.ts";
import type { EncodeJob, ManifestRecord } from "../shared/schemas.ts";
import type { ObjectHead } from "../shared/io/objects.ts";
import { BACKUP_KEY, SHA256, SOURCE_ETAG, SOURCE_KEY, SOURCE_SIZE } from "../shared/rules/output-metadata.ts";

export { BACKUP_KEY, SHA256, SOURCE_ETAG, SOURCE_KEY, SOURCE_SIZE };

/** User metadata is ASCII only: keys are stored URL-encoded. */
export function outputMetadata(job: EncodeJob, sha256: string, backupKey: string): Record<string, string> {
  return {
    [BACKUP_KEY]: encodeURIComponent(backupKey),
    [STATE_METADATA_KEY]: COMPRESSED_MARK,
    [SOURCE_KEY]: encodeURIComponent(job.key),
    [SOURCE_SIZE]: String(job.size),
    [SOURCE_ETAG]: job.etag,
    [SHA256]: sha256,
  };
}

/** The backup an output names; outputs published before outputs named it used the plain backup key. */
export function backupKeyOf(output: ObjectHead, job: EncodeJob, backupPrefix: string): string {
  const named = output.metadata[BACKUP_KEY] && decodeURIComponent(output.metadata[BACKUP_KEY]);
  if (!named) return backupKeyFor(job.key, backupPrefix);
  const unsafe = unsafeKeyReason(named);
  if (unsafe) throw new UnsafeKeyError(named, unsafe);
  // Derived again from the source key: metadata names one of its backup names, or nothing at all.
  if (!isNthNameOf(backupKeyFor(job.key, backupPrefix), named)) throw new Error(`${output.key} names ${named} as the backup of ${job.key}, which is not one of its backup names`);
  return named;
}

export function montageKeyFor(outputKey: string): string {
  const unsafe = unsafeKeyReason(outputKey);
  if (unsafe) throw new UnsafeKeyError(outputKey, unsafe);
  return `${PREVIEWS_PREFIX}${outputKey}.montage.jpg`;
}

/** An output reelpress made from some version of `sourceKey`. */
export function isOutputOf(head: ObjectHead, sourceKey: string): boolean {
  return head.metadata[STATE_METADATA_KEY] === COMPRESSED_MARK && head.metadata[SOURCE_KEY] === encodeURIComponent(sourceKey);
}

/** The output of exactly the job's source version. */
export function isPublishedFor(head: ObjectHead | undefined, job: EncodeJob): boolean {
  return head !== undefined && isOutputOf(head, job.key) && head.metadata[SOURCE_ETAG] === job.etag && head.metadata[SOURCE_SIZE] === String(job.size);
}

export type JobState =
  /** The output is up: only the source's removal and the manifest may be left. */
  | { kind: "published"; output: ObjectHead }
  /** An earlier attempt found it could not save enough: renamed it, or (`skipped` is the source) recorded it. */
  | { kind: "skipped"; skipped: ObjectHead }
  | { kind: "changed"; source: ObjectHead }
  | { kind: "gone" }
  /** The output key holds some other object, which is never overwritten. */
  | { kind: "output-taken"; output: ObjectHead }
  | { kind: "ready"; source: ObjectHead };

/**
 * Pure: the state from the heads of the source, output and skip keys (undefined = not there), and the
 * source's manifest record.
 */
export function jobState(job: EncodeJob, heads: { source?: ObjectHead; output?: ObjectHead; skip?: ObjectHead }, record?: Pick<ManifestRecord, "size" | "etag" | "state">): JobState {
  const { source, output, skip } = heads;
  if (isPublishedFor(output, job)) return { kind: "published", output: output! };
  if (!source) return skip && skip.size === job.size ? { kind: "skipped", skipped: skip } : { kind: "gone" };
  if (source.etag !== job.etag || source.size !== job.size) return { kind: "changed", source };
  // Skipped keeping its name: only the record of this very version says so.
  if (record?.state === "skipped" && record.size === job.size && record.etag === job.etag) return { kind: "skipped", skipped: source };
  if (output && job.outputKey !== job.key && !isOutputOf(output, job.key)) return { kind: "output-taken", output };
  return { kind: "ready", source };
}
