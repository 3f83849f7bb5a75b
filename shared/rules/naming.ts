// Key rules: which keys are library videos, and where outputs, skips, backups and records go.
import path from "node:path/posix";
import { safeKey, unsafeKeyReason } from "../../store/safe-key.ts";

export { UnsafeKeyError, unsafeKeyReason } from "../../store/safe-key.ts";

/** `ts`, `mts`, `m2ts`: MPEG transport streams (DVR recordings, AVCHD) on NAS shares; a library holds videos, not TypeScript. */
export const VIDEO_EXTENSIONS = ["mp4", "mkv", "avi", "mov", "wmv", "flv", "webm", "m4v", "mpeg", "mpg", "ts", "mts", "m2ts"] as const;
export const SYSTEM_PREFIX = ".reelpress/";
export const MANIFEST_PREFIX = `${SYSTEM_PREFIX}manifest/`;
export const REPORTS_PREFIX = `${SYSTEM_PREFIX}reports/`;
export const PREVIEWS_PREFIX = `${SYSTEM_PREFIX}previews/`;
/** One mark per version sent to the ingest queue and not yet probed (shared/io/queued-marks.ts). */
export const QUEUED_PREFIX = `${SYSTEM_PREFIX}queued/`;
/** The first scan's progress, written by the `dev` that runs it (shared/io/scan-progress.ts). */
export const SCAN_PROGRESS_KEY = `${SYSTEM_PREFIX}scan.json`;
/** One small status object per runner (shared/io/runners.ts). */
export const RUNNERS_PREFIX = `${SYSTEM_PREFIX}runners/`;
/** The library summary's shards (shared/io/summary.ts), and the mark a writer leaves when it gave up on one. */
export const SUMMARY_PREFIX = `${SYSTEM_PREFIX}summary/`;
export const SUMMARY_STALE_KEY = `${SUMMARY_PREFIX}stale`;
/** The index: a compacted snapshot of the manifest (shared/io/record-index.ts). */
export const INDEX_PREFIX = `${SYSTEM_PREFIX}index/`;
/** One mark per record changed since the index last took it in (shared/io/index-changes.ts). */
export const INDEX_CHANGED_PREFIX = `${INDEX_PREFIX}changed/`;

/** The still the probe keeps of a library object, for reports. */
export function thumbnailKeyFor(key: string): string {
  return `${PREVIEWS_PREFIX}${safeKey(key)}.thumb.jpg`;
}

/** The small WebM a browser plays of a library object (shared/media/preview.ts). */
export function previewKeyFor(key: string): string {
  return `${PREVIEWS_PREFIX}${safeKey(key)}.preview.webm`;
}

/** Lower-case extension without the dot, or "" when there is none. */
export function extensionOf(key: string): string {
  const ext = path.extname(key);
  return ext ? ext.slice(1).toLowerCase() : "";
}

export function isVideoKey(key: string): boolean {
  return (VIDEO_EXTENSIONS as readonly string[]).includes(extensionOf(key));
}

/** Normalises a prefix so that it ends with one "/" (or is empty). */
export function normalizePrefix(prefix: string): string {
  const trimmed = prefix.replace(/^\/+/, "").replace(/\/+$/, "");
  return trimmed ? `${trimmed}/` : "";
}

/** Keys reelpress wrote for itself, or backups: never library input. */
export function isSystemKey(key: string, backupPrefix: string): boolean {
  const backup = normalizePrefix(backupPrefix);
  return key.startsWith(SYSTEM_PREFIX) || (backup !== "" && key.startsWith(backup));
}

function stem(key: string): string {
  return key.slice(0, key.length - path.extname(key).length);
}

/**
 * `a_skip.mp4`, or `a_skip (2).mp4` when the first name was taken by other bytes. A skip that kept its
 * name (a folder library) is known by the record of its version alone (rules/status.ts, steps/probe.ts).
 */
export function isSkipKey(key: string): boolean {
  return /_skip( \(\d+\))?$/i.test(path.basename(stem(key)));
}

/** A v2 output renamed by `migrate`: re-encoded to H.264 unless it already carries the v4 tag. */
export function isLegacyCompressedKey(key: string): boolean {
  return /_compressed$/i.test(path.basename(stem(key)));
}

/** `dir/a.avi` → `dir/a.mp4` (`dir/a.mkv` for an archive profile): compressed output keeps its base name. */
export function outputKeyFor(key: string, container: "mp4" | "mkv" = "mp4"): string {
  return `${stem(safeKey(key))}.${container}`;
}

/** `dir/a.mp4` → `dir/a_skip.mp4`, extension kept as it was. */
export function skipKeyFor(key: string): string {
  return `${stem(safeKey(key))}_skip${path.extname(key)}`;
}

/** `dir/a.mkv` → `dir/a_compressed.mkv`, for v2 outputs found by `migrate`. */
export function legacyCompressedKeyFor(key: string): string {
  return `${stem(safeKey(key))}_compressed${path.extname(key)}`;
}

/** Whether `name` is `key` or one of its numbered names (`key (2)`, …): a derived key, derived again. */
export function isNthNameOf(key: string, name: string): boolean {
  if (name === key) return true;
  const m = /^(.*) \(([1-9][0-9]{0,5})\)(\.[^./ ]*)?$/.exec(name);
  return m !== null && Number(m[2]) >= 2 && nthName(key, Number(m[2])) === name;
}

/**
 * The n-th name for a derived key (n ≥ 1): `dir/a_skip.mp4`, then `dir/a_skip (2).mp4`, `… (3)…`.
 * Derived keys are never overwritten, so a name taken by other bytes moves the new object to the next one.
 */
export function nthName(key: string, n: number): string {
  if (n <= 1) return key;
  const dir = path.dirname(key);
  const ext = path.extname(key);
  const base = path.basename(key, ext);
  // A dot-file such as `.mp4` has no stem: the number goes after it.
  const named = base ? `${base} (${n})${ext}` : `${ext} (${n})`;
  return dir === "." && !key.startsWith("./") ? named : `${dir}/${named}`;
}

export function backupKeyFor(key: string, backupPrefix: string): string {
  return safeKey(`${normalizePrefix(backupPrefix)}${safeKey(key)}`);
}

/** `<prefix><key>.json`: where reelpress keeps one JSON object per library key. */
const jsonKeyFor = (prefix: string, key: string) => `${prefix}${safeKey(key)}.json`;

/** The library key a `<prefix><key>.json` object is kept for, or undefined when it is not one. */
function keyFromJsonKey(prefix: string, objectKey: string): string | undefined {
  if (!objectKey.startsWith(prefix) || !objectKey.endsWith(".json")) return undefined;
  return objectKey.slice(prefix.length, -".json".length);
}

export const manifestKeyFor = (key: string) => jsonKeyFor(MANIFEST_PREFIX, key);
export const changedMarkKeyFor = (key: string) => jsonKeyFor(INDEX_CHANGED_PREFIX, key);
export const keyFromChangedMarkKey = (markKey: string) => keyFromJsonKey(INDEX_CHANGED_PREFIX, markKey);
export const queuedMarkKeyFor = (key: string) => jsonKeyFor(QUEUED_PREFIX, key);

export const keyFromManifestKey = (manifestKey: string) => keyFromJsonKey(MANIFEST_PREFIX, manifestKey);

/** S3 event keys are URL-encoded with "+" for space. */
export function decodeEventKey(key: string): string {
  return decodeURIComponent(key.replace(/\+/g, " "));
}

export type KeyKind = "video" | "skipped" | "system" | "unsupported" | "unsafe";

/**
 * What a key is, from its name alone (state from tags needs the object itself). A skipped file that
 * kept its name is a "video" here: every caller then finds its record of that version settled.
 */
export function keyKind(key: string, backupPrefix: string): KeyKind {
  if (unsafeKeyReason(key)) return "unsafe";
  if (isSystemKey(key, backupPrefix)) return "system";
  if (!isVideoKey(key)) return "unsupported";
  if (isSkipKey(key)) return "skipped";
  return "video";
}

/** Whether a key is one a manifest record describes (a library video, or a `_skip` file): what a removal may prune. */
export function isRecordedKind(key: string, backupPrefix: string): boolean {
  const kind = keyKind(key, backupPrefix);
  return kind === "video" || kind === "skipped";
}
