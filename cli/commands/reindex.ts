// `reelpress reindex`: deletes the records of files gone from the library, then rebuilds the library
// summary (what status reads) and the index (what report reads) from the records; with --check, only
// says where the summary, the records and the library disagree.
import { UsageError } from "../../shared/errors.ts";
import { findOrphanRecords, pruneOrphanRecords } from "../../shared/io/orphans.ts";
import { checkSummary, reindex } from "../../shared/io/reindex.ts";
import type { Command } from "../command.ts";
import { clientsFrom } from "../context.ts";
import { bold, dim, green, yellow } from "../output.ts";
import { remote, requireBucket } from "../remote.ts";

const SHOWN_DIFFERENCES = 20;

const command: Command = {
  summary: "Rebuild the library summary and index from the manifest records; --check only compares (exit 1 on a drift).",
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
      const [drift, orphans] = await remote(clients.config, () => Promise.all([checkSummary(clients), findOrphanRecords(clients)]));
      const gone = orphans.map((o) => o.key).sort();
      const agrees = drift.differences.length === 0 && !drift.stale && drift.built && gone.length === 0;
      if (values.json) console.log(JSON.stringify({ agrees, ...drift, gone }));
      else if (agrees) console.log(`${green("The summary agrees with the records")} ${dim(`(${drift.stats.records} record(s), ${drift.stats.read} read as changed)`)}`);
      else {
        const lines = [bold(yellow(drift.built ? "The summary and the records disagree:" : "No summary has been built yet."))];
        if (drift.stale) lines.push("  a writer could not add its change to the summary");
        const differences = [...drift.differences, ...gone.map((key) => `${key}: recorded, but no longer in the library`)];
        for (const d of differences.slice(0, SHOWN_DIFFERENCES)) lines.push(`  ${d}`);
        if (differences.length > SHOWN_DIFFERENCES) lines.push(dim(`  … and ${differences.length - SHOWN_DIFFERENCES} more (--json lists them all)`));
        lines.push("", "'reelpress reindex' deletes the records of files that are gone and rebuilds the summary from the rest.");
        console.log(lines.join("\n"));
      }
      return agrees ? 0 : 1;
    }
    const started = performance.now();
    const [gone, r] = await remote(clients.config, async () => {
      const pruned = await pruneOrphanRecords(clients, await findOrphanRecords(clients));
      return [pruned, await reindex(clients)] as const;
    });
    const seconds = ((performance.now() - started) / 1000).toFixed(1);
    if (values.json) console.log(JSON.stringify({ ...r, gone, seconds: Number(seconds) }));
    else {
      for (const key of gone) console.log(`  ${key}  ${dim("gone from the library: its record deleted")}`);
      console.log(`Rebuilt the summary from ${r.records} record(s) in ${seconds} s ${dim(`(${r.read} read as changed since the index, ${r.shardsWritten} index shard(s) written${r.rounds > 1 ? `, ${r.rounds} rounds as writers wrote meanwhile` : ""})`)}.`);
    }
    return 0;
  },
};
export default command;
