// `reelpress apply REPORT`: moves a report's losers under the backup prefix (or deletes them), after
// a dry run or a confirmation; winners are never touched and changed files are skipped.
import { readFile } from "node:fs/promises";
import { UsageError, UserError, errorMessage } from "../../shared/errors.ts";
import { applyAll, planApply, type ApplyOutcome } from "../dedup-apply.ts";
import { readLatestReport } from "../../shared/dedup/run.ts";
import { DedupReport } from "../../shared/schemas.ts";
import type { Command } from "../command.ts";
import { clientsFrom } from "../context.ts";
import { bold, confirm, dim, formatBytes, green, yellow } from "../output.ts";
import { remote, requireBucket } from "../remote.ts";

async function loadReport(source: string, latest: () => Promise<DedupReport | undefined>): Promise<DedupReport> {
  if (source === "latest") {
    const r = await latest();
    if (!r) throw new UserError("No report has been built yet; run 'reelpress report' first.");
    return r;
  }
  let text: string;
  try {
    text = await readFile(source, "utf8");
  } catch (err) {
    throw new UserError(`Cannot read report ${source}: ${errorMessage(err)}.`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new UserError(`${source} is not JSON; give a file written by 'reelpress report --out'.`);
  }
  const parsed = DedupReport.safeParse(json);
  if (!parsed.success) throw new UserError(`${source} is not a reelpress report (${parsed.error.issues[0].path.join(".")}: ${parsed.error.issues[0].message}).`);
  return parsed.data;
}

function line(o: ApplyOutcome): string {
  switch (o.status) {
    case "moved":
      return `${green("moved")}    ${o.key} → ${o.to}  ${dim(formatBytes(o.size))}`;
    case "deleted":
      return `${green("deleted")}  ${o.key}  ${dim(formatBytes(o.size))}`;
    case "done-before":
      return `${dim("done")}     ${o.key}  ${dim("(already handled by an earlier run)")}`;
    case "skipped":
      return `${yellow("skipped")}  ${o.key}: ${o.why}`;
  }
}

const command: Command = {
  summary: "Act on a report's losers: move them under the backup prefix (or --delete), keeping every winner.",
  usage: "REPORT|latest [--dry-run] [--force] [--delete] [--backup-prefix P]",
  options: {
    "dry-run": { type: "boolean", short: "n" },
    force: { type: "boolean", short: "f" },
    delete: { type: "boolean" },
    "backup-prefix": { type: "string" },
  },
  examples: [
    "reelpress apply dupes.json --dry-run",
    "reelpress apply dupes.json                 # asks before moving anything",
    "reelpress apply latest --force --backup-prefix dupes/",
    "reelpress apply dupes.json --force --delete",
  ],
  async run(values, positionals) {
    if (positionals.length !== 1) throw new UsageError("apply takes one report: a file from 'reelpress report --out', or 'latest'.");
    if (values.delete && values["backup-prefix"]) throw new UsageError("--delete and --backup-prefix do not go together: deleted files get no backup.");
    const clients = clientsFrom(values);
    await requireBucket(clients);
    const report = await loadReport(positionals[0], () => remote(clients.config, () => readLatestReport(clients)));
    const mode = values.delete ? "delete" : "move";
    const { actions, refused } = planApply(report, mode, clients.config.backupPrefix);
    for (const r of refused) console.error(yellow(`not touching ${r.key}: ${r.why}`));
    const total = actions.reduce((n, a) => n + a.size, 0);
    const verb = mode === "move" ? `move under ${clients.config.backupPrefix}` : "delete";
    if (values["dry-run"]) {
      for (const a of actions) console.log(a.to ? `would move    ${a.key} → ${a.to}  ${dim(formatBytes(a.size))}` : `would delete  ${a.key}  ${dim(formatBytes(a.size))}`);
      console.log(bold(`Would ${verb} ${actions.length} file(s), reclaiming ${formatBytes(total)}.`));
      return 0;
    }
    if (actions.length === 0) {
      console.log("Nothing to do: the report has no losers.");
      return 0;
    }
    if (!values.force) {
      if (!process.stdin.isTTY || !process.stderr.isTTY) throw new UsageError("Refusing to change the bucket without a confirmation; run with --force (or --dry-run to see the plan).");
      if (!(await confirm(`${verb[0].toUpperCase()}${verb.slice(1)} ${actions.length} file(s), ${formatBytes(total)}? [y/N] `))) {
        console.error("Nothing changed.");
        return 1;
      }
    }
    const outcomes = await remote(clients.config, () => applyAll(clients, actions, (o) => console.log(line(o))));
    const done = outcomes.filter((o) => o.status === "moved" || o.status === "deleted");
    const skipped = outcomes.filter((o) => o.status === "skipped").length;
    console.log(bold(`${mode === "move" ? "Moved" : "Deleted"} ${done.length} file(s), reclaimed ${formatBytes(done.reduce((n, o) => n + o.size, 0))}${skipped ? `; skipped ${skipped} (see above)` : ""}.`));
    return 0;
  },
};
export default command;
