// `reelpress status`: counts and bytes per state, bytes saved, queue depths; from the library summary.
import { UsageError } from "../../shared/errors.ts";
import { type Failure, gatherStatus } from "../../shared/io/library.ts";
import type { SetAside } from "../../shared/rules/status.ts";
import { formatDuration } from "../../shared/rules/format.ts";
import type { RunnerStatus, StatusSummary } from "../../shared/schemas.ts";
import type { Command } from "../command.ts";
import { clientsFrom } from "../context.ts";
import { bold, dim, formatBytes, green, red, yellow } from "../output.ts";
import { remote, requireBucket } from "../remote.ts";
import { readScanReport, withScan } from "../../shared/io/scan-progress.ts";
import { type ScanReport, scanLine } from "../../shared/rules/scan-progress.ts";

const SHOWN_FAILURES = 10;

/** Local day and time, e.g. "Mon 22:00": a paused runner resumes within a day. */
function clock(iso: string): string {
  const d = new Date(iso);
  return `${d.toLocaleDateString("en-US", { weekday: "short" })} ${String(d.getHours()).padStart(2, "0")}:${String(d.getMinutes()).padStart(2, "0")}`;
}

/**
 * One running job: its stage, the whole job's percentage and ETA (the runner computes both with one
 * function, so they agree), chunks stored. A runner of an older version sends media time only.
 */
export function jobLine(j: RunnerStatus["jobs"][number]): string {
  if (j.percent !== undefined) {
    const eta = j.eta_sec !== undefined ? ` · ETA ${formatDuration(j.eta_sec)}` : "";
    const chunks = j.chunks_total ? ` · ${j.chunks_done ?? 0}/${j.chunks_total} chunks stored` : "";
    return `${j.key}${j.stage ? ` ${j.stage}` : ""} ${j.percent} %${eta}${chunks}`;
  }
  const pct = `${j.duration_sec > 0 ? Math.min(100, Math.round((100 * j.out_time_sec) / j.duration_sec)) : 0} %`;
  return j.chunks_total ? `${j.key} ${j.chunks_done ?? 0}/${j.chunks_total} chunks done, one at ${pct}` : `${j.key} ${pct}`;
}

/** What a runner does now: its jobs with progress, or when its encode window opens again. */
export function runnerLine(r: RunnerStatus): string {
  const window = r.hours ? `, hours ${r.hours}` : "";
  if (r.paused_until) {
    const busy = r.jobs.length ? `; finishing ${r.jobs.length} job(s)` : "";
    return `${r.encoder}${window}: paused, resumes ${clock(r.paused_until)}${busy}`;
  }
  const jobs = r.jobs.map(jobLine);
  return `${r.encoder}${window}: ${jobs.length ? jobs.join(", ") : "waiting for jobs"}`;
}

/** A scan not written to for this long has no `dev` behind it any more. */
const SCAN_SILENT_MS = 60_000;

function scanLines(scan: ScanReport, now: Date): string[] {
  const silent = !scan.finished_at && now.getTime() - Date.parse(scan.updated_at) > SCAN_SILENT_MS;
  const note = silent ? dim(`  (last written ${new Date(scan.updated_at).toLocaleString()}: is reelpress dev running?)`) : "";
  return ["", bold("First scan"), `  ${scanLine(scan)}${note}`];
}

/** Outputs measured, their mean and lowest SSIM, and outputs refused by the floor. */
export function qualityLine(q: NonNullable<StatusSummary["quality"]>): string {
  // The lowest is unknown for a --prefix, and after deletions until `reelpress reindex`.
  const lowest = q.ssim_min !== undefined ? `, lowest ${q.ssim_min.toFixed(4)} (${q.lowest_key})` : "";
  const measured = q.measured ? `${q.measured} output(s): SSIM mean ${q.ssim_mean!.toFixed(4)}${lowest}, PSNR mean ${q.psnr_mean!.toFixed(1)} dB` : "no output measured yet";
  return q.refused ? `${measured}; ${q.refused} refused below REELPRESS_MIN_SSIM (originals kept, skipped)` : measured;
}

export function renderStatus(summary: StatusSummary, failures: Failure[], where: string, aside: SetAside[], scan?: ScanReport, now = new Date()): string {
  const rows: Array<[string, keyof StatusSummary, (s: string) => string]> = [
    ["compressed", "compressed", green],
    ["skipped", "skipped", dim],
    ["in progress", "in_progress", yellow],
    ["remaining", "remaining", (s) => s],
    ["failed", "failed", red],
  ];
  const total = rows.reduce((n, [, k]) => n + (summary[k] as { count: number }).count, 0);
  const lines = [`${bold("Library")} ${where}  ${dim(`${total} video(s)`)}`];
  for (const [label, k, colour] of rows) {
    const { count, bytes } = summary[k] as { count: number; bytes: number };
    lines.push(`  ${colour(label.padEnd(12))} ${String(count).padStart(7)}  ${formatBytes(bytes).padStart(10)}`);
  }
  lines.push(`  ${"saved".padEnd(12)} ${formatBytes(summary.saved_bytes).padStart(18)}`);
  if (summary.quality) lines.push("", bold("Quality"), `  ${qualityLine(summary.quality)}`);
  // Saved is not freed while the backups keep the originals: say what the bucket holds.
  const { disk } = summary;
  lines.push("", bold("Disk"));
  lines.push(`  ${"on disk now".padEnd(16)} ${formatBytes(disk.total_bytes).padStart(14)}  ${dim(`library ${formatBytes(disk.library_bytes)}, backups ${formatBytes(disk.backup_bytes)}, .reelpress ${formatBytes(disk.system_bytes)}`)}`);
  lines.push(`  ${"in backups".padEnd(16)} ${formatBytes(disk.backup_bytes).padStart(14)}`);
  lines.push(`  ${"purge would free".padEnd(16)} ${formatBytes(disk.reclaimable_bytes).padStart(14)}${disk.reclaimable_bytes > 0 ? `  ${dim("'reelpress purge --older-than DAYS' lists them")}` : ""}`);
  if (scan) lines.push(...scanLines(scan, now));
  lines.push("", `${bold("Queues")}${" ".repeat(14)}waiting  in flight`);
  for (const [role, d] of Object.entries(summary.queues)) {
    lines.push(`  ${role.padEnd(16)} ${String(d.visible).padStart(7)}  ${String(d.in_flight).padStart(9)}`);
  }
  const dead = summary.queues.encode_dlq?.visible ?? 0;
  if (dead > 0) lines.push(yellow(`  ${dead} job(s) in the dead-letter queue: 'reelpress redrive' sends them back to the encode queue.`));
  if (summary.runners.length) {
    lines.push("", bold("Runners"));
    for (const r of summary.runners) lines.push(`  ${r.id}  ${dim(runnerLine(r))}`);
  }
  if (failures.length) {
    lines.push("", bold("Failed"));
    for (const f of failures.slice(0, SHOWN_FAILURES)) lines.push(`  ${f.key}  ${dim(f.reason)}`);
    if (failures.length > SHOWN_FAILURES) lines.push(dim(`  … and ${failures.length - SHOWN_FAILURES} more (see .reelpress/manifest/)`));
  }
  if (aside.length) {
    // Never overwritten: a name that held another file sent the new object to the next free one.
    lines.push("", bold("Under a free name"));
    for (const a of aside.slice(0, SHOWN_FAILURES)) lines.push(`  ${a.key}  ${dim(a.note)}`);
    if (aside.length > SHOWN_FAILURES) lines.push(dim(`  … and ${aside.length - SHOWN_FAILURES} more`));
  }
  return lines.join("\n");
}

const command: Command = {
  summary: "Counts and bytes per state (compressed, skipped, in progress, remaining, failed), bytes saved and on disk, queue depths.",
  usage: "[--prefix P] [--json]",
  options: {
    prefix: { type: "string" },
    json: { type: "boolean" },
  },
  examples: [
    "reelpress status",
    "reelpress status --prefix family/2019/",
    "reelpress status --json | jq .remaining.count",
  ],
  async run(values, positionals) {
    if (positionals.length) throw new UsageError(`status takes no arguments (got '${positionals[0]}'); use --prefix for a folder.`);
    const clients = clientsFrom(values);
    await requireBucket(clients);
    const onBuild = () => console.error(dim("This library has no summary yet: building it from the manifest records, once (reelpress reindex)…"));
    const [{ summary, failures, aside, stale }, scan] = await remote(clients.config, () => Promise.all([gatherStatus(clients, new Date(), { onBuild }), readScanReport(clients)]));
    if (stale) console.error(yellow("The summary may be off: a writer could not add its change to it. 'reelpress reindex' rebuilds it from the records."));
    if (values.json) console.log(JSON.stringify(withScan(summary, scan)));
    else console.log(renderStatus(summary, failures, `s3://${clients.config.bucket}/${clients.config.prefix}`, aside, scan));
    return 0;
  },
};
export default command;
