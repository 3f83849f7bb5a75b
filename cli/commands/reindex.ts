// `reelpress reindex`: rebuilds the library summary (what status reads) and the index (what status and
// report read) from the manifest records; with --check, only says where the summary and records differ.
import { UsageError } from "../../shared/errors.ts";
import { checkSummary, reindex } from "../../shared/io/reindex.ts";
import type { Command } from "../command.ts";
import { clientsFrom } from "../context.ts";
import { bold, dim, green, yellow } from "../output.ts";
import { remote, requireBucket } from "../remote.ts";

const SHOWN_DIFFERENCES = 20;

const command: Command = {
  summary: "Rebuild the library summary and index from the manifest records; --check only compares them (exit 1 on a drift).",
  usage: "[--check] [--json]",
  options: {
    check: { type: "boolean" },
    json: { type: "boolean" },
  },
  examples: [
    "reelpress reindex --check",
    "reelpress reindex",
    "reelpress reindex --check --json | jq .differences",
  ],
  async run(values, positionals) {
    if (positionals.length) throw new UsageError(`reindex takes no arguments (got '${positionals[0]}').`);
    const clients = clientsFrom(values);
    await requireBucket(clients);
    if (values.check) {
      const drift = await remote(clients.config, () => checkSummary(clients));
      const agrees = drift.differences.length === 0 && !drift.stale && drift.built;
      if (values.json) console.log(JSON.stringify({ agrees, ...drift }));
      else if (agrees) console.log(`${green("The summary agrees with the records")} ${dim(`(${drift.stats.records} record(s), ${drift.stats.read} read as changed)`)}`);
      else {
        const lines = [bold(yellow(drift.built ? "The summary and the records disagree:" : "No summary has been built yet."))];
        if (drift.stale) lines.push("  a writer could not add its change to the summary");
        for (const d of drift.differences.slice(0, SHOWN_DIFFERENCES)) lines.push(`  ${d}`);
        if (drift.differences.length > SHOWN_DIFFERENCES) lines.push(dim(`  … and ${drift.differences.length - SHOWN_DIFFERENCES} more (--json lists them all)`));
        lines.push("", "'reelpress reindex' rebuilds the summary from the records.");
        console.log(lines.join("\n"));
      }
      return agrees ? 0 : 1;
    }
    const started = performance.now();
    const r = await remote(clients.config, () => reindex(clients));
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (values.json) console.log(JSON.stringify({ ...r, seconds: Number(seconds) }));
    else console.log(`Rebuilt the summary from ${r.records} record(s) in ${seconds} s ${dim(`(${r.read} read as changed since the index, ${r.shardsWritten} index shard(s) written${r.rounds > 1 ? `, ${r.rounds} rounds as writers wrote meanwhile` : ""})`)}.`);
    return 0;
  },
};
export default command;
