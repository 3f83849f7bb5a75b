// Pure: which backups a purge may delete. A backup is the original's last copy, so one goes only when
// the manifest ties it to a compressed output that is still the recorded, tagged, verified version.
import { COMPRESSED_MARK, STATE_METADATA_KEY } from "./decision.ts";
import { backupKeyFor, isNthNameOf } from "./naming.ts";
import { BACKUP_KEY, SHA256, SOURCE_ETAG, SOURCE_KEY } from "./output-metadata.ts";
import type { ListedObject, RecordBrief } from "./status.ts";

export type PurgeRecord = RecordBrief & { sha256?: string };
/** An output as a HeadObject shows it: purge reads each candidate's metadata. */
export type OutputHead = { key: string; size: number; etag: string; metadata: Record<string, string> };

export type Tie = { backup: ListedObject; record: PurgeRecord } | { backup: ListedObject; keep: string };
export type PurgeDecision =
  | { action: "delete"; key: string; size: number; etag: string; output: string }
  | { action: "keep"; key: string; size: number; why: string };

const unquote = (etag: string | undefined) => etag?.replace(/^"|"$/g, "");
const DAY_MS = 86_400_000;

/** The compressed records that name a backup, by backup key. */
function recordsByBackup(records: Iterable<PurgeRecord>): Map<string, PurgeRecord[]> {
  const out = new Map<string, PurgeRecord[]>();
  for (const r of records) {
    if (r.state !== "compressed" || !r.source) continue;
    out.set(r.source.backupKey, [...(out.get(r.source.backupKey) ?? []), r]);
  }
  return out;
}

/** Why `record` does not vouch for `backup` given its output as listed; undefined when it does. */
function tieFault(backup: ListedObject, r: PurgeRecord, output: { size: number; etag?: string } | undefined, backupPrefix: string): string | undefined {
  const src = r.source!;
  // Derived again from the source key: a record alone (anyone with pipeline keys can write one) may not name any key.
  if (!isNthNameOf(backupKeyFor(src.key, backupPrefix), backup.key)) return `the record of ${r.key} names it, but it is not a backup name of ${src.key}`;
  if (backup.size !== src.size) return `its size differs from the original ${src.key} that ${r.key} replaced`;
  if (src.backupEtag !== undefined && unquote(src.backupEtag) !== unquote(backup.etag)) return "it changed since the publish that made it";
  if (!r.sha256) return `the record of ${r.key} holds no SHA-256`;
  if (!output) return `its output ${r.key} is not there`;
  if (output.size !== r.size || unquote(output.etag) !== unquote(r.etag)) return `its output ${r.key} changed since it was recorded`;
  return undefined;
}

/**
 * Each listed backup with the record that ties it to a compressed output, or why it is kept.
 * `outputs` are the library objects by key (a listing is enough here; a purge also checks each head).
 */
export function tieBackups(backups: Iterable<ListedObject>, records: Iterable<PurgeRecord>, outputs: Map<string, { size: number; etag?: string }>, backupPrefix: string): Tie[] {
  const byBackup = recordsByBackup(records);
  const ties: Tie[] = [];
  for (const backup of backups) {
    const named = byBackup.get(backup.key) ?? [];
    if (!named.length) {
      ties.push({ backup, keep: "no compressed output names it as its backup (an apply move, or a file put there)" });
      continue;
    }
    const faults = named.map((r) => tieFault(backup, r, outputs.get(r.key), backupPrefix));
    const i = faults.indexOf(undefined);
    ties.push(i >= 0 ? { backup, record: named[i] } : { backup, keep: faults[0]! });
  }
  return ties;
}

/** Bytes of the backups that a purge (of any age) may remove now, from a listing. */
export function reclaimableBytes(ties: Tie[]): number {
  return ties.reduce((n, t) => n + ("record" in t ? t.backup.size : 0), 0);
}

/** Why the output's own metadata does not vouch for the backup; undefined when it does. */
function headFault(backup: ListedObject, r: PurgeRecord, head: OutputHead | undefined, backupPrefix: string): string | undefined {
  const src = r.source!;
  if (!head) return `its output ${r.key} is not there`;
  if (head.size !== r.size || unquote(head.etag) !== unquote(r.etag)) return `its output ${r.key} changed since it was recorded`;
  const m = head.metadata;
  if (m[STATE_METADATA_KEY] !== COMPRESSED_MARK) return `its output ${r.key} does not carry the compressed tag`;
  if (m[SHA256] !== r.sha256) return `the SHA-256 of ${r.key} differs from the one verified at publish`;
  if (m[SOURCE_KEY] !== encodeURIComponent(src.key) || m[SOURCE_ETAG] !== src.etag) return `its output ${r.key} names another source`;
  // Outputs published before they named their backup used the plain backup name.
  const named = m[BACKUP_KEY] ? decodeURIComponent(m[BACKUP_KEY]) : backupKeyFor(src.key, backupPrefix);
  if (named !== backup.key) return `its output ${r.key} names ${named} as its backup`;
  return undefined;
}

/**
 * Delete or keep, for every listed backup: delete only a backup tied to a verified output (its head in
 * `heads`) and at least `olderThanDays` old by LastModified; deletes go with If-Match on the listed ETag.
 */
export function planPurge(input: {
  backups: Iterable<ListedObject>;
  records: Iterable<PurgeRecord>;
  heads: Map<string, OutputHead>;
  now: Date;
  olderThanDays: number;
  backupPrefix: string;
}): PurgeDecision[] {
  const { heads, now, olderThanDays, backupPrefix } = input;
  const ties = tieBackups(input.backups, input.records, heads, backupPrefix);
  return ties
    .map((t): PurgeDecision => {
      const { key, size } = t.backup;
      if ("keep" in t) return { action: "keep", key, size, why: t.keep };
      const fault = headFault(t.backup, t.record, heads.get(t.record.key), backupPrefix);
      if (fault) return { action: "keep", key, size, why: fault };
      const etag = t.backup.etag;
      if (!etag) return { action: "keep", key, size, why: "the listing gave no ETag to delete it by" };
      const modified = t.backup.lastModified?.getTime();
      if (modified === undefined) return { action: "keep", key, size, why: "the listing gave no date" };
      // 0 is any age: a store may round LastModified up, a moment past now.
      if (olderThanDays > 0 && now.getTime() - modified < olderThanDays * DAY_MS) return { action: "keep", key, size, why: `younger than ${olderThanDays} day(s)` };
      return { action: "delete", key, size, etag, output: t.record.key };
    })
    .sort((a, b) => a.key.localeCompare(b.key));
}
