// The library as operators see it: counts and bytes per state, failures and folders, from the summary
// the manifest's writers keep (shared/io/summary.ts), with the queue depths and runners. Used by
// `reelpress status`, the dashboard and the runner alike. A prefix deeper than the summary keeps
// folders for is counted the slow way: one listing of it and every record under it.
import type { Clients } from "./clients.ts";
import { listPages } from "./objects.ts";
import { queueDepth } from "./queues.ts";
import type { Config } from "../config.ts";
import { readableReason } from "../rules/failure-reasons.ts";
import { listRecords } from "./manifest.ts";
import { SYSTEM_PREFIX, isSystemKey } from "../rules/naming.ts";
import { listBackups } from "./backups.ts";
import { listRunners } from "./runners.ts";
import { readSummary } from "./summary.ts";
import { StatusSummary } from "../schemas.ts";
import { diskUsage, emptySummary, setAside, tally, type ListedObject, type QueueDepth, type RecordBrief, type SetAside } from "../rules/status.ts";
import { type FolderTotals, isKeptScope, statusFromSummary } from "../rules/summary.ts";
import { mapLimit } from "../pool.ts";

export type { FolderTotals } from "../rules/summary.ts";

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
/**
 * `folders`: per folder one level below the prefix ("" for videos at its top). `stale`: a writer could
 * not add its change to the summary, so the figures may be off until `reelpress reindex`.
 */
export type LibraryStatus = { summary: StatusSummary; failures: Failure[]; folders: FolderTotals[]; aside: SetAside[]; stale?: true };

function folderOf(key: string, prefix: string): string {
  const rest = key.slice(prefix.length);
  const slash = rest.indexOf("/");
  return slash < 0 ? "" : rest.slice(0, slash + 1);
}

/** Builds of a missing summary in flight, by bucket: requests that find none at once share one. */
const building = new Map<string, Promise<unknown>>();

function buildOnce(clients: Clients, now: Date): Promise<unknown> {
  const key = `${clients.config.bucket}`;
  let build = building.get(key);
  if (!build) {
    // Loaded here: only a library without a summary needs it, once.
    build = import("./reindex.ts").then(({ reindex }) => reindex(clients, now)).finally(() => building.delete(key));
    building.set(key, build);
  }
  return build;
}

/**
 * Status from the summary: a few GETs whatever the library's size. A library whose summary was never
 * built (made before it existed) gets it built from the records first, once; `onBuild` is told.
 */
export async function gatherStatus(clients: Clients, now = new Date(), opts: { onBuild?: () => void } = {}): Promise<LibraryStatus> {
  const { config } = clients;
  if (!isKeptScope(config.prefix)) return gatherStatusFromListing(clients, now);
  const [kept, queues, runners] = await Promise.all([readSummary(clients), queueDepths(clients), listRunners(clients, now)]);
  let summary = kept;
  if (!kept.meta) {
    opts.onBuild?.();
    await buildOnce(clients, now);
    summary = await readSummary(clients);
  }
  const status = statusFromSummary(summary.total, config.prefix, queues, runners);
  return { ...status, summary: StatusSummary.parse(status.summary), ...(summary.stale ? { stale: true as const } : {}) };
}

/** Status from one listing of the prefix and every record under it: exact for any prefix, O(library). */
export async function gatherStatusFromListing(clients: Clients, now = new Date()): Promise<LibraryStatus> {
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
