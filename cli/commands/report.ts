// `reelpress report`: builds the duplicate report from the manifest (or fetches the latest), prints it
// as JSON, and writes it and an HTML page on request.
import { writeFile } from "node:fs/promises";
import { UsageError, UserError } from "../../shared/errors.ts";
import { renderReportHtml } from "../report-html.ts";
import { parseDedupOptions } from "../../shared/dedup/options.ts";
import { buildAndStoreReport, montageImages, readLatestReport } from "../../shared/dedup/run.ts";
import type { DedupReport } from "../../shared/schemas.ts";
import type { Command, Values } from "../command.ts";
import { clientsFrom } from "../context.ts";
import { bold, dim, formatBytes } from "../output.ts";
import { remote, requireBucket } from "../remote.ts";

const str = (v: Values[string]) => (typeof v === "string" ? v : undefined);

function render(report: DedupReport): string {
  const s = report.summary;
  const lines = [`${bold("Duplicates")}  ${s.total_groups} group(s), ${s.total_losers} file(s) to remove, ${formatBytes(s.bytes_reclaimable)} to reclaim`];
  for (const g of report.groups) {
    lines.push("", `  ${bold(g.type)} ${dim(g.group_id)}`, `    keep    ${g.winner.key}  ${dim(formatBytes(g.winner.size))}`);
    for (const l of g.losers) lines.push(`    remove  ${l.key}  ${dim(`${formatBytes(l.size)} · ${l.reason}`)}`);
  }
  lines.push("", dim("Run with --json for the full report, or 'reelpress apply' on a saved one (--out FILE)."));
  return lines.join("\n");
}

const command: Command = {
  summary: "Build the duplicate report from the manifest (exact, visual and subset groups), store it, print it.",
  usage: "[--out FILE] [--html FILE] [--quality 1-5] [--policy P] [--latest] [--json]",
  options: {
    out: { type: "string" },
    html: { type: "string" },
    quality: { type: "string", short: "q" },
    policy: { type: "string" },
    "duration-tolerance": { type: "string" },
    "subset-min-ratio": { type: "string" },
    threshold: { type: "string" },
    quorum: { type: "string" },
    "no-flip": { type: "boolean" },
    latest: { type: "boolean" },
    json: { type: "boolean" },
    prefix: { type: "string" },
  },
  examples: [
    "reelpress report --out dupes.json --html dupes.html",
    "reelpress report --quality 2            # exact duplicates only",
    "reelpress report --quality 5 --policy oldest",
    "reelpress report --latest --json | jq .summary",
  ],
  async run(values, positionals) {
    if (positionals.length) throw new UsageError(`report takes no arguments (got '${positionals[0]}'); use --out FILE to save it.`);
    const parsed = parseDedupOptions({
      quality: str(values.quality),
      policy: str(values.policy),
      durationTolerance: str(values["duration-tolerance"]),
      subsetMinRatio: str(values["subset-min-ratio"]),
      threshold: str(values.threshold),
      quorum: str(values.quorum),
      flip: values["no-flip"] ? false : undefined,
    });
    if (!parsed.ok) throw new UsageError(parsed.error);
    const clients = clientsFrom(values);
    await requireBucket(clients);
    const report = await remote(clients.config, async () => {
      if (!values.latest) return (await buildAndStoreReport(clients, parsed.options)).report;
      const latest = await readLatestReport(clients);
      if (!latest) throw new UserError("No report has been built yet; run 'reelpress report' without --latest.");
      return latest;
    });
    const out = str(values.out);
    const html = str(values.html);
    if (out) await writeFile(out, `${JSON.stringify(report, null, 2)}\n`);
    if (html) await writeFile(html, renderReportHtml(report, await remote(clients.config, () => montageImages(clients, report))));
    if (values.json || !process.stdout.isTTY) console.log(JSON.stringify(report, null, 2));
    else console.log(render(report));
    return 0;
  },
};
export default command;
