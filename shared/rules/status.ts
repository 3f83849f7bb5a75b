// Pure: the state of every library object, from a listing, the manifest and the queue depths.
import { SYSTEM_PREFIX, backupKeyFor, extensionOf, isSkipKey, keyKind, normalizePrefix, outputKeyFor } from "./naming.ts";
import { reclaimableBytes, tieBackups } from "./purge.ts";
import { StatusSummary, type ManifestRecord, type RunnerStatus } from "../schemas.ts";

/** One object as ListObjectsV2 shows it; no per-object HeadObject is ever needed. */
export type ListedObject = { key: string; size: number; etag?: string; lastModified?: Date };
export type QueueDepth = { visible: number; in_flight: number };
export type RecordBrief = Pick<ManifestRecord, "key" | "size" | "etag" | "state" | "savedBytes" | "source" | "sha256" | "quality">;
export type LibraryState = "compressed" | "skipped" | "in_progress" | "remaining" | "failed";

const unquote = (etag: string | undefined) => etag?.replace(/^"|"$/g, "");

/** A record describes an object only if it was written for this version of it (same size and ETag). */
function describes(record: RecordBrief | undefined, obj: ListedObject): record is RecordBrief {
  if (!record || record.size !== obj.size) return false;
  return obj.etag === undefined || unquote(record.etag) === unquote(obj.etag);
}

/** A `_skip` name is skipped (compress v3); a skip that kept its name is skipped by the record of its version. */
export function stateOf(obj: ListedObject, record: RecordBrief | undefined): LibraryState {
  if (isSkipKey(obj.key)) return "skipped";
  if (!describes(record, obj)) return "remaining";
  return recordState(record);
}

/** The state a record gives the object it describes (the kept summary counts by it too). */
export function recordState(record: Pick<ManifestRecord, "key" | "state">): LibraryState {
  if (isSkipKey(record.key)) return "skipped";
  switch (record.state) {
    case "compressed":
    // The probe ignores (and records as such) only objects that already carry the compressed tag.
    case "ignored":
      return "compressed";
    case "skipped":
      return "skipped";
    case "encoding":
      return "in_progress";
    case "failed":
      return "failed";
    default:
      return "remaining";
  }
}

/** Bytes a compressed object saved against its source. */
export function savedBy(record: Pick<ManifestRecord, "size" | "savedBytes" | "source">): number {
  if (record.savedBytes !== undefined) return record.savedBytes;
  return record.source ? Math.max(0, record.source.size - record.size) : 0;
}

export function emptySummary(queues: Record<string, QueueDepth>, runners: RunnerStatus[] = []): StatusSummary {
  const zero = () => ({ count: 0, bytes: 0 });
  const disk = { total_bytes: 0, library_bytes: 0, backup_bytes: 0, system_bytes: 0, reclaimable_bytes: 0 };
  return { compressed: zero(), skipped: zero(), in_progress: zero(), remaining: zero(), failed: zero(), saved_bytes: 0, disk, queues, runners };
}

/** Bytes on disk by where they lie (library, backups, .reelpress/), and the backups a purge may remove. */
export function diskUsage(objects: Iterable<ListedObject>, records: Iterable<RecordBrief>, backupPrefix: string): StatusSummary["disk"] {
  const disk = { total_bytes: 0, library_bytes: 0, backup_bytes: 0, system_bytes: 0, reclaimable_bytes: 0 };
  const backups: ListedObject[] = [];
  const library = new Map<string, ListedObject>();
  const backup = normalizePrefix(backupPrefix);
  for (const o of objects) {
    disk.total_bytes += o.size;
    if (o.key.startsWith(SYSTEM_PREFIX)) disk.system_bytes += o.size;
    else if (o.key.startsWith(backup)) {
      disk.backup_bytes += o.size;
      backups.push(o);
    } else {
      disk.library_bytes += o.size;
      library.set(o.key, o);
    }
  }
  disk.reclaimable_bytes = reclaimableBytes(tieBackups(backups, records, library, backupPrefix));
  return disk;
}

/** Adds one listed object to `summary`; returns its state, or undefined when it is not a library video. */
export function tally(summary: StatusSummary, obj: ListedObject, record: RecordBrief | undefined, backupPrefix: string): LibraryState | undefined {
  const kind = keyKind(obj.key, backupPrefix);
  if (kind !== "video" && kind !== "skipped") return undefined;
  const state = stateOf(obj, record);
  summary[state].count++;
  summary[state].bytes += obj.size;
  if (state === "compressed" && describes(record, obj)) summary.saved_bytes += savedBy(record);
  if ((state === "compressed" || state === "skipped") && describes(record, obj) && record.quality) tallyQuality(summary, obj.key, record.quality, state === "skipped");
  return state;
}

/** Adds one measured output (or one refused by the floor: a skipped source with figures) to `summary.quality`. */
function tallyQuality(summary: StatusSummary, key: string, q: NonNullable<ManifestRecord["quality"]>, refused: boolean): void {
  const t = (summary.quality ??= { measured: 0, refused: 0 });
  if (refused) {
    t.refused++;
    return;
  }
  t.measured++;
  // Running means: the library may hold more outputs than is wise to keep in a list.
  t.ssim_mean = (t.ssim_mean ?? 0) + (q.ssim - (t.ssim_mean ?? 0)) / t.measured;
  t.psnr_mean = (t.psnr_mean ?? 0) + (q.psnr - (t.psnr_mean ?? 0)) / t.measured;
  if (t.ssim_min === undefined || q.ssim < t.ssim_min) {
    t.ssim_min = q.ssim;
    t.lowest_key = key;
  }
}

export function summarizeStatus(input: {
  objects: Iterable<ListedObject>;
  records: Iterable<RecordBrief>;
  queues: Record<string, QueueDepth>;
  backupPrefix: string;
}): StatusSummary {
  const byKey = new Map<string, RecordBrief>();
  for (const r of input.records) byKey.set(r.key, r);
  const summary = emptySummary(input.queues);
  const objects = [...input.objects];
  for (const obj of objects) tally(summary, obj, byKey.get(obj.key), input.backupPrefix);
  summary.disk = diskUsage(objects, byKey.values(), input.backupPrefix);
  return StatusSummary.parse(summary);
}

/** A backup, output or skip that went to a numbered name because its usual one held another file. */
export type SetAside = { key: string; note: string };

/** Pure: every derived object the manifest records under a numbered name, with what holds the usual one. */
export function setAside(records: Iterable<RecordBrief>, backupPrefix: string): SetAside[] {
  const out: SetAside[] = [];
  for (const r of records) {
    if (r.state === "compressed" && r.source) {
      const usualBackup = backupKeyFor(r.source.key, backupPrefix);
      if (r.source.backupKey !== usualBackup) out.push({ key: r.source.backupKey, note: `backup of ${r.source.key}: ${usualBackup} holds an earlier original` });
      const usualOutput = outputKeyFor(r.source.key, extensionOf(r.key) === "mkv" ? "mkv" : "mp4");
      if (r.key !== r.source.key && r.key !== usualOutput) out.push({ key: r.key, note: `output of ${r.source.key}: ${usualOutput} holds another file` });
    }
    // Only a `_skip` name is derived: a skip that kept its name keeps the user's own, numbers and all.
    if (r.state === "skipped" && isSkipKey(r.key) && / \(\d+\)\.[^./]+$/.test(r.key)) out.push({ key: r.key, note: "skipped: the plain _skip name holds another file" });
  }
  return out.sort((a, b) => a.key.localeCompare(b.key));
}
