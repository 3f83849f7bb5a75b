// The backup prefix: one listing of it, and purging the backups the manifest ties to verified outputs
// (shared/rules/purge.ts decides). Used by `reelpress purge`, the runner's retention and status.
import type { Clients } from "./clients.ts";
import { listRecords, updateRecord } from "./manifest.ts";
import { createMarker, deleteIfUnchanged, headObject, listPages } from "./objects.ts";
import { mapLimit } from "../pool.ts";
import { type OutputHead, type PurgeDecision, type PurgeRecord, planPurge } from "../rules/purge.ts";
import type { ListedObject } from "../rules/status.ts";
import { SYSTEM_PREFIX } from "../rules/naming.ts";

/** Made by the runner that runs the day's retention purge; one older than a day lets the next one run. */
export const RETENTION_MARKER_KEY = `${SYSTEM_PREFIX}notify/backup_retention`;
const DAY_MS = 86_400_000;

/** Every backup of the library prefix's originals, in one listing. */
export async function listBackups(clients: Clients): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  for await (const page of listPages(clients, `${clients.config.backupPrefix}${clients.config.prefix}`)) out.push(...page.objects);
  return out;
}

/** What a purge of backups older than `olderThanDays` would do now, for each backup. */
export async function planBackupPurge(clients: Clients, olderThanDays: number, now = new Date()): Promise<PurgeDecision[]> {
  const backups = await listBackups(clients);
  const listed = new Set(backups.map((b) => b.key));
  const records: PurgeRecord[] = [];
  for await (const r of listRecords(clients, clients.config.prefix)) {
    if (r.state === "compressed" && r.source && listed.has(r.source.backupKey)) records.push({ key: r.key, size: r.size, etag: r.etag, state: r.state, source: r.source, sha256: r.sha256 });
  }
  // Each output's own head: its tag, SHA-256 and backup name, read now rather than trusted from a listing.
  const heads = new Map<string, OutputHead>();
  await mapLimit([...new Set(records.map((r) => r.key))], 8, async (key) => {
    const head = await headObject(clients, key);
    if (head) heads.set(key, head);
  });
  return planPurge({ backups, records, heads, now, olderThanDays, backupPrefix: clients.config.backupPrefix });
}

export type PurgeOutcome = { key: string; size: number; deleted: boolean };

/** Says on the output's record that its backup is gone, so the summary stops counting its bytes. */
function notePurged(clients: Clients, output: string, backupKey: string, at: string): Promise<unknown> {
  return updateRecord(clients, output, (cur) =>
    cur?.state === "compressed" && cur.source?.backupKey === backupKey && !cur.source.backupPurgedAt ? { ...cur, source: { ...cur.source, backupPurgedAt: at } } : undefined,
  );
}

/** Deletes the backups marked delete, each only while it is the version listed (a changed one stays). */
export async function purgeBackups(clients: Clients, decisions: PurgeDecision[], onEach?: (o: PurgeOutcome) => void): Promise<PurgeOutcome[]> {
  const out: PurgeOutcome[] = [];
  for (const d of decisions) {
    if (d.action !== "delete") continue;
    const o = { key: d.key, size: d.size, deleted: await deleteIfUnchanged(clients, d.key, d.etag) };
    if (o.deleted) await notePurged(clients, d.output, d.key, new Date().toISOString());
    onEach?.(o);
    out.push(o);
  }
  return out;
}

/**
 * REELPRESS_BACKUP_RETENTION_DAYS: the same purge as `reelpress purge --older-than DAYS --yes`, at most
 * once a day whichever runner goes idle; undefined when another ran it within the day.
 */
export async function retentionPurge(clients: Clients, days: number, now = new Date()): Promise<PurgeOutcome[] | undefined> {
  const marker = await headObject(clients, RETENTION_MARKER_KEY);
  if (marker) {
    if (!marker.lastModified || now.getTime() - marker.lastModified.getTime() < DAY_MS) return undefined;
    if (!(await deleteIfUnchanged(clients, RETENTION_MARKER_KEY, marker.etag))) return undefined;
  }
  // Of runners idle together, the one that creates the marker purges.
  if (!(await createMarker(clients, RETENTION_MARKER_KEY))) return undefined;
  return purgeBackups(clients, await planBackupPurge(clients, days, now));
}
