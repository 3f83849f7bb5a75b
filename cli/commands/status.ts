// `reelpress status`: counts and bytes per state, bytes saved, queue depths; from the manifest and a listing.
import type { Clients } from "../../shared/clients.ts";
import { UsageError } from "../../shared/errors.ts";
import { listRecords } from "../../shared/manifest.ts";
import { StatusSummary } from "../../shared/schemas.ts";
import { emptySummary, tally, type RecordBrief } from "../../shared/status.ts";
import type { Command } from "../command.ts";
import { clientsFrom } from "../context.ts";
import { bold, dim, formatBytes, green, red, yellow } from "../output.ts";
import { listLibrary, queueDepths, queueRoles, remote, requireBucket } from "../remote.ts";

export type Failure = { key: string; error: string };

export async function gatherStatus(clients: Clients): Promise<{ summary: StatusSummary; failures: Failure[] }> {
  const { config } = clients;
  const records = new Map<string, RecordBrief & { error?: string }>();
  const [objects, queues] = await Promise.all([
    listLibrary(clients),
    queueDepths(clients),
    (async () => {
      // Keep only what status needs: records also carry fingerprints and media details.
      for await (const r of listRecords(clients, config.prefix)) {
        records.set(r.key, { key: r.key, size: r.size, etag: r.etag, state: r.state, savedBytes: r.savedBytes, source: r.source, error: r.error ?? r.reason });
      }
    })(),
  ]);
  const summary = emptySummary(queues);
  const failures: Failure[] = [];
  for (const obj of objects) {
    const record = records.get(obj.key);
    if (tally(summary, obj, record, config.backupPrefix) === "failed") failures.push({ key: obj.key, error: record?.error ?? "no reason recorded" });
  }
  return { summary: StatusSummary.parse(summary), failures: failures.sort((a, b) => a.key.localeCompare(b.key)) };
}

const SHOWN_FAILURES = 10;

export function renderStatus(summary: StatusSummary, failures: Failure[], where: string): string {
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
  lines.push("", `${bold("Queues")}${" ".repeat(14)}waiting  in flight`);
  for (const [role, d] of Object.entries(summary.queues)) {
    lines.push(`  ${role.padEnd(16)} ${String(d.visible).padStart(7)}  ${String(d.in_flight).padStart(9)}`);
  }
  const dead = summary.queues.encode_dlq?.visible ?? 0;
  if (dead > 0) lines.push(yellow(`  ${dead} job(s) in the dead-letter queue: 'reelpress redrive' sends them back to the encode queue.`));
  if (failures.length) {
    lines.push("", bold("Failed"));
    for (const f of failures.slice(0, SHOWN_FAILURES)) lines.push(`  ${f.key}  ${dim(f.error)}`);
    if (failures.length > SHOWN_FAILURES) lines.push(dim(`  … and ${failures.length - SHOWN_FAILURES} more (see .reelpress/manifest/)`));
  }
  return lines.join("\n");
}

const command: Command = {
  summary: "Counts and bytes per state (compressed, skipped, in progress, remaining, failed), bytes saved, queue depths.",
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
    const { summary, failures } = await remote(clients.config, () => gatherStatus(clients));
    if (values.json) console.log(JSON.stringify(summary));
    else console.log(renderStatus(summary, failures, `s3://${clients.config.bucket}/${clients.config.prefix}`));
    return 0;
  },
};
export default command;
