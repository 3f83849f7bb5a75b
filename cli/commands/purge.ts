// `reelpress purge --older-than N`: removes backups older than N days whose output is published,
// verified and recorded; lists first, and asks on a terminal unless --yes. Everything else stays.
import { UsageError } from "../../shared/errors.ts";
import { planBackupPurge, purgeBackups } from "../../shared/io/backups.ts";
import type { PurgeDecision } from "../../shared/rules/purge.ts";
import type { Command } from "../command.ts";
import { clientsFrom } from "../context.ts";
import { bold, confirm, dim, formatBytes, green, yellow } from "../output.ts";
import { remote, requireBucket } from "../remote.ts";

function olderThan(value: unknown): number {
  if (value === undefined) throw new UsageError("purge needs --older-than DAYS: backups younger than that stay.");
  const n = Number(value);
  if (typeof value !== "string" || value.trim() === "" || !Number.isInteger(n) || n < 0) throw new UsageError(`--older-than takes a whole number of days (0 or more), not '${String(value)}'.`);
  return n;
}

function planLine(d: PurgeDecision, verb: string): string {
  return d.action === "delete"
    ? `${verb}  ${d.key}  ${dim(`${formatBytes(d.size)}, original of ${d.output}`)}`
    : `${dim("keep")}          ${d.key}  ${dim(`${formatBytes(d.size)}: ${d.why}`)}`;
}

const command: Command = {
  summary: "Remove backups older than N days whose compressed output is published, verified and recorded; lists them first.",
  usage: "--older-than DAYS [--dry-run] [--yes]",
  options: {
    "older-than": { type: "string" },
    "dry-run": { type: "boolean", short: "n" },
    yes: { type: "boolean", short: "y" },
  },
  examples: [
    "reelpress purge --older-than 30 --dry-run",
    "reelpress purge --older-than 30          # asks before removing anything",
    "reelpress purge --older-than 30 --yes",
  ],
  async run(values, positionals) {
    if (positionals.length) throw new UsageError(`purge takes no arguments (got '${positionals[0]}'); use --older-than DAYS.`);
    const days = olderThan(values["older-than"]);
    if (values["dry-run"] && values.yes) throw new UsageError("--dry-run and --yes do not go together: a dry run removes nothing.");
    const clients = clientsFrom(values);
    await requireBucket(clients);
    const plan = await remote(clients.config, () => planBackupPurge(clients, days));
    const doomed = plan.filter((d) => d.action === "delete");
    const total = doomed.reduce((n, d) => n + d.size, 0);
    const kept = plan.length - doomed.length;
    for (const d of plan) console.log(planLine(d, "would delete"));
    console.log(bold(`Would delete ${doomed.length} backup(s), freeing ${formatBytes(total)}; keeping ${kept}.`));
    if (values["dry-run"] || doomed.length === 0) return 0;
    if (!values.yes) {
      if (!process.stdin.isTTY || !process.stderr.isTTY) throw new UsageError("Refusing to delete backups without a confirmation; run with --yes (or --dry-run to see the plan).");
      if (!(await confirm(`Delete ${doomed.length} backup(s), ${formatBytes(total)}? They are the only copies of the originals. [y/N] `))) {
        console.error("Nothing changed.");
        return 1;
      }
    }
    const outcomes = await remote(clients.config, () =>
      purgeBackups(clients, plan, (o) => console.log(o.deleted ? `${green("deleted")}       ${o.key}  ${dim(formatBytes(o.size))}` : `${yellow("kept")}          ${o.key}: it changed since it was listed`)),
    );
    const deleted = outcomes.filter((o) => o.deleted);
    const changed = outcomes.length - deleted.length;
    console.log(bold(`Deleted ${deleted.length} backup(s), freed ${formatBytes(deleted.reduce((n, o) => n + o.size, 0))}${changed ? `; ${changed} changed meanwhile and stay` : ""}.`));
    return 0;
  },
};
export default command;
