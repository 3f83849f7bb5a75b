// Pure: what one manifest record adds to the library summary, the delta between two versions of a
// record, and how shards of the summary add up to what `status` shows. Writers apply deltas; `reindex`
// sums contributions; both must agree, so both go through `contributionOf`.
import { readableReason } from "./failure-reasons.ts";
import { backupKeyFor, isNthNameOf, keyKind } from "./naming.ts";
import { type LibraryState, type SetAside, emptySummary, recordState, savedBy, setAside, type QueueDepth } from "./status.ts";
import type { ManifestRecord, RunnerStatus, StatusSummary } from "../schemas.ts";

/** The fields of a record the summary reads (the index keeps them too). */
export type SummaryRecord = Pick<ManifestRecord, "key" | "size" | "etag" | "state" | "savedBytes" | "source" | "sha256" | "error" | "reason" | "updatedAt" | "quality">;
/** field → number; zero fields are left out. */
export type Tally = Record<string, number>;
/** What status lists by key: a failure with its reason, and derived objects under a numbered name. */
export type Note = { failure?: { reason: string; error?: string; at?: string }; aside?: SetAside[] };
/**
 * One shard of the summary: tallies per scope ("*" the whole bucket, "a/" and "a/b/" its folders), notes per
 * key, and `lows`, the SSIM of the shard's LOWS_KEPT lowest measured outputs by key (a minimum cannot be
 * kept by adding and taking away; a short list of the lowest can, until deletions empty it).
 */
export type SummaryShard = { counters: Record<string, Tally>; notes: Record<string, Note>; lows?: Record<string, number> };
/** A change to a shard: tallies to add, notes and lows to set (null: to remove). */
export type SummaryDelta = { counters: Record<string, Tally>; notes: Record<string, Note | null>; lows?: Record<string, number | null> };

export const LOWS_KEPT = 16;
/** SSIM and PSNR are kept as integer sums (billionths, thousandths of a dB) so adding and taking away is exact. */
const SSIM_UNIT = 1e9;
const PSNR_UNIT = 1e3;
/** An identical frame has an infinite PSNR; the mean counts it as this. */
const PSNR_CAP = 100;

export const TOTAL_SCOPE = "*";
/** Folder tallies are kept for the top two levels: `status --prefix` deeper than that lists the folder. */
export const FOLDER_DEPTH = 2;

const STATES: LibraryState[] = ["compressed", "skipped", "in_progress", "remaining", "failed"];

/** The folders a key's counts go to: "a/" and "a/b/" for "a/b/c/x.mp4". */
export function scopesOf(key: string): string[] {
  const parts = key.split("/").slice(0, -1).slice(0, FOLDER_DEPTH);
  return parts.map((_, i) => `${parts.slice(0, i + 1).join("/")}/`);
}

/** Whether the summary keeps tallies for `prefix` (normalised: "" or ending in "/"). */
export function isKeptScope(prefix: string): boolean {
  return prefix === "" || prefix.split("/").length - 1 <= FOLDER_DEPTH;
}

/**
 * What one record adds. `bytes` is the record object's own size (the manifest's share of .reelpress/).
 * A backup counts while no purge removed it; it is reclaimable when the record could vouch for it.
 */
export function contributionOf(record: SummaryRecord, bytes: number, backupPrefix: string): { counters: Record<string, Tally>; note?: Note } {
  const counters: Record<string, Tally> = { [TOTAL_SCOPE]: { manifest: bytes } };
  const kind = keyKind(record.key, backupPrefix);
  if (kind !== "video" && kind !== "skipped") return { counters };
  const state = recordState(record);
  const t: Tally = { [`${state}.count`]: 1, [`${state}.bytes`]: record.size };
  if (state === "compressed") t.saved = savedBy(record);
  const src = record.source;
  if (record.state === "compressed" && src && !src.backupPurgedAt) {
    t.backup = src.size;
    if (record.sha256 && isNthNameOf(backupKeyFor(src.key, backupPrefix), src.backupKey)) t.reclaimable = src.size;
  }
  // Measured outputs; a source the floor refused is skipped and keeps the figures that refused it.
  const q = record.quality;
  if (q && state === "skipped") t["quality.refused"] = 1;
  else if (q && state === "compressed") {
    t["quality.measured"] = 1;
    t["quality.ssim"] = Math.round(q.ssim * SSIM_UNIT);
    t["quality.psnr"] = Math.round(Math.min(q.psnr, PSNR_CAP) * PSNR_UNIT);
  }
  for (const scope of scopesOf(record.key)) counters[scope] = { ...t };
  counters[TOTAL_SCOPE] = { ...t, manifest: bytes };
  const note: Note = {};
  if (state === "failed") {
    // Records written before reasons were made readable hold the raw text in both fields.
    const reason = record.error ? readableReason(record.error, record.key) : (record.reason ?? "no reason recorded");
    note.failure = { reason, error: record.error, at: record.updatedAt };
  }
  const aside = setAside([record], backupPrefix);
  if (aside.length) note.aside = aside;
  return { counters, note: note.failure || note.aside ? note : undefined };
}

function addInto(into: Record<string, Tally>, from: Record<string, Tally>, sign: 1 | -1): void {
  for (const [scope, tally] of Object.entries(from)) {
    const t = (into[scope] ??= {});
    for (const [field, n] of Object.entries(tally)) {
      const v = (t[field] ?? 0) + sign * n;
      if (v === 0) delete t[field];
      else t[field] = v;
    }
    if (Object.keys(t).length === 0) delete into[scope];
  }
}

type Version = { record: SummaryRecord; bytes: number };

/** The change from `before` to `after` (either absent: a record created or deleted). */
export function deltaOf(key: string, before: Version | undefined, after: Version | undefined, backupPrefix: string): SummaryDelta {
  const counters: Record<string, Tally> = {};
  const old = before && contributionOf(before.record, before.bytes, backupPrefix);
  const now = after && contributionOf(after.record, after.bytes, backupPrefix);
  if (old) addInto(counters, old.counters, -1);
  if (now) addInto(counters, now.counters, 1);
  const notes: Record<string, Note | null> = {};
  if (JSON.stringify(old?.note) !== JSON.stringify(now?.note)) notes[key] = now?.note ?? null;
  const [was, is] = [before && measuredSsim(before.record), after && measuredSsim(after.record)];
  return was === is ? { counters, notes } : { counters, notes, lows: { [key]: is ?? null } };
}

/** A compressed record's measured SSIM (what `lows` lists). */
function measuredSsim(record: SummaryRecord): number | undefined {
  return record.quality && recordState(record) === "compressed" ? record.quality.ssim : undefined;
}

/** The LOWS_KEPT lowest of `lows`. */
function trimLows(lows: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(lows).sort(([ka, a], [kb, b]) => a - b || ka.localeCompare(kb)).slice(0, LOWS_KEPT));
}

function withLows(into: Record<string, number> | undefined, change: Record<string, number | null> | undefined): Record<string, number> | undefined {
  if (!change) return into;
  const lows = { ...into };
  for (const [key, ssim] of Object.entries(change)) {
    if (ssim === null) delete lows[key];
    else lows[key] = ssim;
  }
  return trimLows(lows);
}

/** Adds a record's whole contribution to `shard` in place (reindex adds up a million this way). */
export function addRecord(shard: SummaryShard, version: Version, backupPrefix: string): void {
  const { counters, note } = contributionOf(version.record, version.bytes, backupPrefix);
  addInto(shard.counters, counters, 1);
  if (note) shard.notes[version.record.key] = note;
  const ssim = measuredSsim(version.record);
  if (ssim !== undefined) shard.lows = withLows(shard.lows, { [version.record.key]: ssim });
}

export function isEmptyDelta(d: SummaryDelta): boolean {
  return Object.keys(d.counters).length === 0 && Object.keys(d.notes).length === 0 && Object.keys(d.lows ?? {}).length === 0;
}

/** Two deltas as one (writers of one process merge theirs while a shard write is in flight). */
export function mergeDeltas(a: SummaryDelta, b: SummaryDelta): SummaryDelta {
  const counters = structuredClone(a.counters);
  addInto(counters, b.counters, 1);
  return { counters, notes: { ...a.notes, ...b.notes }, ...(a.lows || b.lows ? { lows: { ...a.lows, ...b.lows } } : {}) };
}

export function emptyShard(): SummaryShard {
  return { counters: {}, notes: {}, lows: {} };
}

export function applyDelta(shard: SummaryShard, delta: SummaryDelta): SummaryShard {
  const counters = structuredClone(shard.counters);
  addInto(counters, delta.counters, 1);
  const notes = { ...shard.notes };
  for (const [key, note] of Object.entries(delta.notes)) {
    if (note) notes[key] = note;
    else delete notes[key];
  }
  return { counters, notes, lows: withLows(shard.lows, delta.lows) ?? {} };
}

/** The shards added up (or records' contributions, as `reindex` does, one delta at a time). */
export function mergeShards(shards: Iterable<SummaryShard>): SummaryShard {
  const out = emptyShard();
  let complete = true;
  for (const s of shards) {
    addInto(out.counters, s.counters, 1);
    Object.assign(out.notes, s.notes);
    Object.assign(out.lows!, s.lows);
    // Deletions emptied this shard's list below what it measured: its lowest is no longer known.
    complete &&= Object.keys(s.lows ?? {}).length >= Math.min(LOWS_KEPT, s.counters[TOTAL_SCOPE]?.["quality.measured"] ?? 0);
  }
  if (!complete) out.lows = undefined;
  return out;
}

/** FNV-1a of the key: which of `count` shards a key's summary changes (or index entry) go to. */
export function shardOf(key: string, count: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) h = Math.imul(h ^ key.charCodeAt(i), 0x01000193);
  return (h >>> 0) % count;
}

/** Per folder one level below `prefix` ("" for videos at its top), as the dashboard shows them. */
export type FolderTotals = { folder: string; count: number; bytes: number; saved_bytes: number };

function totalsOf(folder: string, t: Tally | undefined): FolderTotals {
  const sum = (f: string) => STATES.reduce((n, s) => n + (t?.[`${s}.${f}`] ?? 0), 0);
  return { folder, count: sum("count"), bytes: sum("bytes"), saved_bytes: t?.saved ?? 0 };
}

/**
 * What status shows for `prefix` (a kept scope, see `isKeptScope`) from the summed shards; the disk
 * figures come from the records alone: library bytes are the recorded videos', backups those that
 * compressed records name (until a purge removes them), .reelpress/ the manifest's own bytes.
 */
export function statusFromSummary(total: SummaryShard, prefix: string, queues: Record<string, QueueDepth>, runners: RunnerStatus[] = []) {
  const scope = total.counters[prefix === "" ? TOTAL_SCOPE : prefix];
  const summary = emptySummary(queues, runners);
  for (const s of STATES) summary[s] = { count: scope?.[`${s}.count`] ?? 0, bytes: scope?.[`${s}.bytes`] ?? 0 };
  summary.saved_bytes = scope?.saved ?? 0;
  const library = STATES.reduce((n, s) => n + summary[s].bytes, 0);
  const [backup, system] = [scope?.backup ?? 0, total.counters[TOTAL_SCOPE]?.manifest ?? 0];
  summary.disk = { total_bytes: library + backup + system, library_bytes: library, backup_bytes: backup, system_bytes: system, reclaimable_bytes: scope?.reclaimable ?? 0 };
  const inPrefix = (key: string) => key.startsWith(prefix);
  const notes = Object.entries(total.notes).filter(([key]) => inPrefix(key)).sort(([a], [b]) => a.localeCompare(b));
  const failures = notes.flatMap(([key, n]) => (n.failure ? [{ key, ...n.failure }] : []));
  const aside = notes.flatMap(([, n]) => n.aside ?? []).sort((a, b) => a.key.localeCompare(b.key));
  // Folders one level below the prefix; what is left of the prefix's own tally lies at its top.
  const depth = prefix.split("/").length;
  const below = Object.keys(total.counters).filter((s) => s !== TOTAL_SCOPE && s.startsWith(prefix) && s.split("/").length === depth + 1);
  const folders = below.map((s) => totalsOf(s.slice(prefix.length), total.counters[s]));
  if (prefix.split("/").length - 1 < FOLDER_DEPTH) {
    const top = totalsOf("", scope);
    for (const f of folders) {
      top.count -= f.count;
      top.bytes -= f.bytes;
      top.saved_bytes -= f.saved_bytes;
    }
    if (top.count > 0) folders.push(top);
  }
  folders.sort((a, b) => b.saved_bytes - a.saved_bytes || a.folder.localeCompare(b.folder));
  const quality = qualityOf(scope, prefix === "" ? total.lows : undefined);
  if (quality) summary.quality = quality;
  return { summary, failures, aside, folders };
}

/** Means from the sums; the lowest from the kept lists, when they are whole and for the whole library. */
function qualityOf(t: Tally | undefined, lows: Record<string, number> | undefined): StatusSummary["quality"] {
  const [measured, refused] = [t?.["quality.measured"] ?? 0, t?.["quality.refused"] ?? 0];
  if (measured === 0 && refused === 0) return undefined;
  const q: NonNullable<StatusSummary["quality"]> = { measured, refused };
  if (measured === 0) return q;
  q.ssim_mean = (t?.["quality.ssim"] ?? 0) / SSIM_UNIT / measured;
  q.psnr_mean = (t?.["quality.psnr"] ?? 0) / PSNR_UNIT / measured;
  const lowest = Object.entries(lows ?? {}).sort(([ka, a], [kb, b]) => a - b || ka.localeCompare(kb))[0];
  if (lowest) [q.lowest_key, q.ssim_min] = lowest;
  return q;
}

/** Where two summaries differ, one line per scope and field (and per note), for `reindex --check`. */
export function summaryDifferences(kept: SummaryShard, truth: SummaryShard): string[] {
  const lines: string[] = [];
  const scopes = [...new Set([...Object.keys(kept.counters), ...Object.keys(truth.counters)])].sort();
  for (const scope of scopes) {
    const [k, t] = [kept.counters[scope] ?? {}, truth.counters[scope] ?? {}];
    for (const field of [...new Set([...Object.keys(k), ...Object.keys(t)])].sort()) {
      if ((k[field] ?? 0) !== (t[field] ?? 0)) lines.push(`${scope === TOTAL_SCOPE ? "library" : scope} ${field}: summary ${k[field] ?? 0}, records ${t[field] ?? 0}`);
    }
  }
  for (const key of [...new Set([...Object.keys(kept.notes), ...Object.keys(truth.notes)])].sort()) {
    if (JSON.stringify(kept.notes[key]) !== JSON.stringify(truth.notes[key])) lines.push(`${key}: the summary's note ${kept.notes[key] ? "differs from" : "lacks"} the record's${truth.notes[key] ? "" : " (none)"}`);
  }
  return lines;
}
