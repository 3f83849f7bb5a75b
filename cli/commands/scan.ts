// `reelpress scan`: backfill. Objects already in the bucket are queued for the probe, largest first,
// as if they had just been uploaded; `--dry-run` probes them here and prints each decision instead.
// A version already waiting in the ingest queue (its queued mark is live) is not queued again.
import type { Clients } from "../../shared/io/clients.ts";
import { UsageError, errorMessage } from "../../shared/errors.ts";
import { isSameVersion, probeObject } from "../../shared/steps/probe.ts";
import { planProbed } from "../../shared/steps/strategy.ts";
import type { ManifestRecord, ManifestState } from "../../shared/schemas.ts";
import type { Command } from "../command.ts";
import { clientsFrom } from "../context.ts";
import { listVideoObjects, recordsByKey, type VideoObject } from "../events/reconcile.ts";
import { objectCreatedRecord, sendEventRecords } from "../../shared/io/event-records.ts";
import { remote, requireBucket } from "../remote.ts";
import { bold, dim, formatBytes, green, red, yellow } from "../output.ts";
import { mapLimit } from "../../shared/pool.ts";
import { claimQueued, releaseQueued, staleMarksBefore } from "../../shared/io/queued-marks.ts";
import { loadProfiles } from "../../shared/io/profiles.ts";
import { profileNames } from "../../shared/rules/profiles.ts";
import { chooseForReencode } from "../../shared/rules/reencode.ts";
import { restoreOriginal } from "../../shared/steps/reencode.ts";

/** A version in one of these states has a job queued, running or finished: scanning it again would plan it twice. */
const NOT_AGAIN: ReadonlySet<ManifestState> = new Set(["planned", "encoding", "compressed", "skipped", "ignored"]);

export type ScanPlan = { todo: VideoObject[]; settled: Array<{ object: VideoObject; state: ManifestState }> };

/** Pure: which objects to plan, largest first, at most `batch`; the rest are settled already. */
export function selectForScan(objects: VideoObject[], records: Map<string, Pick<ManifestRecord, "size" | "etag" | "state">>, batch?: number): ScanPlan {
  const todo: VideoObject[] = [];
  const settled: ScanPlan["settled"] = [];
  for (const object of objects) {
    const record = records.get(object.key);
    if (record && isSameVersion(record, object) && NOT_AGAIN.has(record.state)) settled.push({ object, state: record.state });
    else todo.push(object);
  }
  todo.sort((a, b) => b.size - a.size || a.key.localeCompare(b.key));
  return { todo: batch === undefined ? todo : todo.slice(0, batch), settled };
}

const ACTION_COLOUR: Record<string, (s: string) => string> = { encode: green, restore: green, skip: yellow, ignore: dim, leave: dim, failed: red };

function line(action: string, object: Pick<VideoObject, "key" | "size">, reason: string): string {
  const head = `${(ACTION_COLOUR[action] ?? ((s: string) => s))(action.padEnd(7))} ${formatBytes(object.size).padStart(10)}  ${object.key}`;
  return reason ? `${head}  ${dim(reason)}` : head;
}

/** Probes and decides each object here, printing in size order; the manifest gets the decision, nothing else changes. */
async function dryRun(clients: Clients, todo: VideoObject[]): Promise<void> {
  const lines: Array<string | undefined> = new Array(todo.length);
  let printed = 0;
  await mapLimit(todo, 3, async (object, i) => {
    try {
      const outcome = await probeObject(clients, object.key, { dryRun: true });
      if (outcome.status === "probed") {
        const { decision } = await planProbed(clients, outcome.result);
        lines[i] = line(decision.action, object, decision.reason);
      } else {
        lines[i] = line(outcome.status === "failed" ? "failed" : "ignore", object, outcome.reason);
      }
    } catch (err) {
      lines[i] = line("failed", object, errorMessage(err));
    }
    while (printed < lines.length && lines[printed] !== undefined) console.log(lines[printed++]);
  });
}

/** Sends the events of the versions whose queued marks this call claims, in order; returns those. */
async function queueUnqueued(clients: Clients, todo: VideoObject[]): Promise<VideoObject[]> {
  const staleBefore = await staleMarksBefore(clients);
  const won = await mapLimit(todo, 16, (o) => claimQueued(clients, o, staleBefore));
  const claimed = todo.filter((_, i) => won[i]);
  try {
    await sendEventRecords(clients, claimed.map((o) => objectCreatedRecord(clients.config.bucket, o, "ObjectCreated:Scan")));
  } catch (err) {
    await Promise.allSettled(claimed.map((o) => releaseQueued(clients, o.key, o)));
    throw err;
  }
  return claimed;
}

/** `--reencode PROFILE`: originals of outputs made otherwise, restored and queued; nothing else is scanned. */
async function reencode(clients: Clients, profile: string, dryRun: boolean): Promise<void> {
  const [table, records] = await remote(clients.config, () => Promise.all([loadProfiles(clients), recordsByKey(clients)]));
  if (!profileNames(table).includes(profile)) throw new UsageError(`--reencode names '${profile}', which is not a profile (known: ${profileNames(table).join(", ")}).`);
  const choices = chooseForReencode(records.values(), table, profile);
  const todo = choices.filter((c) => c.action === "restore");
  for (const c of choices) if (c.action === "leave") console.log(line("leave", c.record, c.reason));
  for (const c of todo) {
    if (dryRun) {
      console.log(line("restore", c.record, `original from ${c.record.source.backupKey}, for ${profile}`));
      continue;
    }
    const r = await remote(clients.config, () => restoreOriginal(clients, c, profile));
    console.log(r.problem ? line("failed", c.record, r.problem) : line("restore", c.record, `original restored at ${r.restoredKey} and queued for ${profile}`));
  }
  console.log(`${bold(dryRun ? "Dry run" : "Re-encode")}: ${todo.length} output(s) whose folder names ${profile} ${dryRun ? "would be" : "are"} made again from their originals; the old outputs stay.`);
}

const command: Command = {
  summary: "Plan videos already in the bucket (backfill), largest first; --dry-run prints each decision and why.",
  usage: "[--prefix P] [--batch N] [--dry-run] [--reencode PROFILE]",
  options: {
    prefix: { type: "string" },
    reencode: { type: "string" },
    batch: { type: "string" },
    "dry-run": { type: "boolean" },
  },
  examples: [
    "reelpress scan --dry-run",
    "reelpress scan --prefix family/2019/ --batch 50",
    "reelpress scan",
    "reelpress scan --reencode archive --prefix films/",
  ],
  async run(values, positionals) {
    if (positionals.length) throw new UsageError(`scan takes no arguments (got '${positionals[0]}'); use --prefix for a folder.`);
    let batch: number | undefined;
    if (values.batch !== undefined) {
      batch = Number(values.batch);
      if (!Number.isInteger(batch) || batch < 1) throw new UsageError(`--batch must be a whole number of at least 1, not '${values.batch}'.`);
    }
    const clients = clientsFrom(values);
    await requireBucket(clients);
    if (values.reencode !== undefined) {
      await reencode(clients, String(values.reencode), Boolean(values["dry-run"]));
      return 0;
    }
    const [objects, records] = await remote(clients.config, () => Promise.all([listVideoObjects(clients), recordsByKey(clients)]));
    const { todo, settled } = selectForScan(objects, records, batch);
    const where = clients.config.prefix ? `under ${clients.config.prefix}` : `in ${clients.config.bucket}`;
    const bytes = (objects: VideoObject[]) => formatBytes(objects.reduce((n, o) => n + o.size, 0));
    if (values["dry-run"]) {
      console.log(`${bold("Dry run")}: ${todo.length} video(s) ${where}, ${bytes(todo)}, largest first; nothing is renamed or queued.`);
      await dryRun(clients, todo);
    } else {
      const claimed = await remote(clients.config, () => queueUnqueued(clients, todo));
      for (const o of claimed) console.log(line("queued", o, ""));
      console.log(`${bold("Queued")} ${claimed.length} video(s) ${where} for probing, ${bytes(claimed)}, largest first.`);
      if (claimed.length < todo.length) console.log(dim(`${todo.length - claimed.length} video(s) already wait in the ingest queue.`));
    }
    const left = objects.length - settled.length - todo.length;
    if (left > 0) console.log(dim(`${left} smaller video(s) left for the next scan (--batch ${batch}).`));
    if (settled.length) console.log(dim(`${settled.length} video(s) left alone: already planned, encoding, compressed or skipped.`));
    return 0;
  },
};
export default command;
