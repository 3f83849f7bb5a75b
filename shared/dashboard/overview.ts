// What the dashboard shows, as one JSON object: the status object of `reelpress status --json`, the
// failures with readable reasons, savings per top-level folder, and the latest dedup report in brief.
import type { Clients } from "../io/clients.ts";
import { readLatestReport } from "../dedup/run.ts";
import { type Failure, type FolderTotals, gatherStatus } from "../io/library.ts";
import type { DedupGroup, DedupReport, StatusSummary } from "../schemas.ts";

/** The page lists this many; the count says how many there are. */
export const SHOWN_FAILURES = 50;
export const SHOWN_GROUPS = 20;

type BriefFile = { key: string; size: number; reason: string; montage_key?: string; preview_key?: string; ssim?: number };
export type ReportBrief = {
  summary: DedupReport["summary"];
  groups: Array<{ group_id: string; type: DedupGroup["type"]; keep: BriefFile; remove: BriefFile[] }>;
};

export type Overview = {
  bucket: string;
  prefix: string;
  generated_at: string;
  status: StatusSummary;
  failures: Failure[];
  failures_total: number;
  folders: FolderTotals[];
  report: ReportBrief | null;
  /** Nothing queued, working or remaining: every video is compressed, skipped or failed. */
  all_done: boolean;
};

/** The queues work flows through; the dead-letter queue holds what failed, not what is left. */
export const FLOW_QUEUES = ["ingest", "plan", "encode"];

/** Pure: no flow queue holds a message, waiting or in flight, and no runner has a job. */
export function flowIdle({ queues, runners }: Pick<StatusSummary, "queues" | "runners">): boolean {
  return FLOW_QUEUES.every((role) => (queues[role]?.visible ?? 0) + (queues[role]?.in_flight ?? 0) === 0) && runners.every((r) => r.jobs.length === 0);
}

/** Pure: idle, and no video remains or is in progress: every one is compressed, skipped or failed. */
export function isAllDone(status: StatusSummary): boolean {
  return status.remaining.count === 0 && status.in_progress.count === 0 && flowIdle(status);
}

/** Pure: the report as the page shows it, largest reclaim first, with each file's montage and preview keys and SSIM. */
export function briefReport(report: DedupReport, limit = SHOWN_GROUPS): ReportBrief {
  const file = (g: DedupGroup, e: { key: string; size: number; reason: string }): BriefFile => {
    const m = ((g.metadata.media ?? {}) as Record<string, { montage_key?: string; preview_key?: string; ssim?: number }>)[e.key];
    return {
      key: e.key, size: e.size, reason: e.reason,
      ...(m?.montage_key ? { montage_key: m.montage_key } : {}), ...(m?.preview_key ? { preview_key: m.preview_key } : {}), ...(m?.ssim !== undefined ? { ssim: m.ssim } : {}),
    };
  };
  const reclaim = (g: DedupGroup) => g.losers.reduce((n, l) => n + l.size, 0);
  const groups = [...report.groups].sort((a, b) => reclaim(b) - reclaim(a)).slice(0, limit);
  return {
    summary: report.summary,
    groups: groups.map((g) => ({ group_id: g.group_id, type: g.type, keep: file(g, g.winner), remove: g.losers.map((l) => file(g, l)) })),
  };
}

export async function dashboardOverview(clients: Clients, now = new Date()): Promise<Overview> {
  const [status, report] = await Promise.all([gatherStatus(clients, now), readLatestReport(clients)]);
  return {
    bucket: clients.config.bucket,
    prefix: clients.config.prefix,
    generated_at: now.toISOString(),
    status: status.summary,
    failures: status.failures.slice(0, SHOWN_FAILURES),
    failures_total: status.failures.length,
    folders: status.folders,
    report: report ? briefReport(report) : null,
    all_done: isAllDone(status.summary),
  };
}
