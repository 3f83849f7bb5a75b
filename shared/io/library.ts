// The library as operators see it: one listing per top-level folder, the queue depths, and the status
// built from them and the manifest. Used by `reelpress status`, the dashboard and the runner alike.
import type { Clients } from "./clients.ts";
import { listPages } from "./objects.ts";
import { queueDepth } from "./queues.ts";
import type { Config } from "../config.ts";
import { readableReason } from "../rules/failure-reasons.ts";
import { listRecords } from "./manifest.ts";
import { SYSTEM_PREFIX, isSystemKey } from "../rules/naming.ts";
import { listBackups } from "./backups.ts";
import { listRunners } from "./runners.ts";
import { StatusSummary } from "../schemas.ts";
import { diskUsage, emptySummary, setAside, tally, type ListedObject, type QueueDepth, type RecordBrief, type SetAside } from "../rules/status.ts";
import { mapLimit } from "../pool.ts";

/**
 * Every object under the library prefix, one listing per top-level folder in parallel; the manifest
 * and backup folders are never listed (on a big library they are as large as the library itself).
 */
export async function listLibrary(clients: Clients, concurrency = 8): Promise<ListedObject[]> {
  const { config } = clients;
  const out: ListedObject[] = [];
  const folders: string[] = [];
  for await (const page of listPages(clients, config.prefix, "/")) {
    out.push(...page.objects);
    folders.push(...page.folders.filter((f) => !isSystemKey(f, config.backupPrefix)));
  }
  await mapLimit(folders, concurrency, async (f) => {
    for await (const page of listPages(clients, f)) out.push(...page.objects);
  });
  return out.filter((o) => !isSystemKey(o.key, config.backupPrefix));
}

/** Everything under .reelpress/, for its size: the manifest, reports, previews and the store's own. */
async function listSystem(clients: Clients): Promise<ListedObject[]> {
  const out: ListedObject[] = [];
  for await (const page of listPages(clients, SYSTEM_PREFIX)) out.push(...page.objects);
  return out;
}

/** Role → queue name; the JSON of `status` uses the roles, which do not change between stages. */
export function queueRoles(config: Config): Record<string, string> {
  const q = config.queues;
  return { ingest: q.ingest, plan: q.plan, encode: q.encode, encode_dlq: q.encodeDlq };
}

/** Depth of each queue, by role; `roles` picks some (a runner host may not read the dead-letter queue). */
export async function queueDepths({ sqs, config, queueUrl }: Clients, roles?: string[]): Promise<Record<string, QueueDepth>> {
  const entries = await Promise.all(
    Object.entries(queueRoles(config)).filter(([role]) => !roles || roles.includes(role)).map(async ([role, name]) => {
      return [role, await queueDepth(sqs, await queueUrl(name))] as const;
    }),
  );
  return Object.fromEntries(entries);
}

/** A failed video: `reason` is the readable sentence, `error` what ffprobe/ffmpeg said. */
export type Failure = { key: string; reason: string; error?: string; at?: string };
/** Per top-level folder of the library ("" for videos at its top). */
export type FolderTotals = { folder: string; count: number; bytes: number; saved_bytes: number };
export type LibraryStatus = { summary: StatusSummary; failures: Failure[]; folders: FolderTotals[]; aside: SetAside[] };

function folderOf(key: string, prefix: string): string {
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf("/");
  return slash < 0 ? "" : rest.slice(0, slash + 1);
}

export async function gatherStatus(clients: Clients, now = new Date()): Promise<LibraryStatus> {
  const { config } = clients;
  const records = new Map<string, RecordBrief & { error?: string; reason?: string; updatedAt?: string }>();
  const [objects, backups, system, queues, runners] = await Promise.all([
    listLibrary(clients),
    listBackups(clients),
    listSystem(clients),
    queueDepths(clients),
    listRunners(clients, now),
    (async () => {
      // Keep only what status needs: records also carry fingerprints and media details.
      for await (const r of listRecords(clients, config.prefix)) {
        records.set(r.key, { key: r.key, size: r.size, etag: r.etag, state: r.state, savedBytes: r.savedBytes, source: r.source, sha256: r.sha256, quality: r.quality, error: r.error, reason: r.reason, updatedAt: r.updatedAt });
      }
    })(),
  ]);
  const summary = emptySummary(queues, runners);
  const failures: Failure[] = [];
  const folders = new Map<string, FolderTotals>();
  for (const obj of objects) {
    const record = records.get(obj.key);
    const savedBefore = summary.saved_bytes;
    const state = tally(summary, obj, record, config.backupPrefix);
    if (!state) continue;
    const name = folderOf(obj.key, config.prefix);
    const folder = folders.get(name) ?? { folder: name, count: 0, bytes: 0, saved_bytes: 0 };
    folders.set(name, { ...folder, count: folder.count + 1, bytes: folder.bytes + obj.size, saved_bytes: folder.saved_bytes + summary.saved_bytes - savedBefore });
    if (state === "failed") {
      // Records written before reasons were made readable hold the raw text in both fields.
      const reason = record?.error ? readableReason(record.error, obj.key) : (record?.reason ?? "no reason recorded");
      failures.push({ key: obj.key, reason, error: record?.error, at: record?.updatedAt });
    }
  }
  summary.disk = diskUsage([...objects, ...backups, ...system], records.values(), config.backupPrefix);
  return {
    summary: StatusSummary.parse(summary),
    failures: failures.sort((a, b) => a.key.localeCompare(b.key)),
    folders: [...folders.values()].sort((a, b) => b.saved_bytes - a.saved_bytes || a.folder.localeCompare(b.folder)),
    aside: setAside(records.values(), config.backupPrefix),
  };
}
