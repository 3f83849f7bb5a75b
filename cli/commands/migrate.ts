// `reelpress migrate`: finds v2 outputs by their embedded container tag and renames them `*_compressed`,
// so the pipeline re-encodes them to H.264. Each rename is copy-verify-delete: safe to stop and re-run.
import type { Clients } from "../../shared/io/clients.ts";
import { UsageError, errorMessage } from "../../shared/errors.ts";
import { probeMedia } from "../../shared/media/ffprobe.ts";
import { deleteRecord } from "../../shared/io/manifest.ts";
import { isLegacyCompressedKey, keyKind, legacyCompressedKeyFor } from "../../shared/rules/naming.ts";
import type { ListedObject } from "../../shared/rules/status.ts";
import { deleteObject, headObject, presignedGetUrl, renameVerified, sameBytes } from "../../shared/io/objects.ts";
import type { Command } from "../command.ts";
import { clientsFrom } from "../context.ts";
import { bold, dim, logEvent, red, yellow } from "../output.ts";
import { catchInterrupt } from "../interrupt.ts";
import { ProgressBar } from "../progress.ts";
import { listLibrary, remote, requireBucket } from "../remote.ts";
import { mapLimit } from "../../shared/pool.ts";

export const V2_TAG = "compressed_hevc_v2";
const V4_TAG = "compressed_h264_v4";
const PROBES_AT_ONCE = 4;

/** v2 wrote its marker into a container tag (name or value); a v4 tag means it was already redone. */
export function isV2Output(tags: Record<string, string>): boolean {
  const all = Object.entries(tags).flat().map((s) => s.toLowerCase());
  return all.some((s) => s.includes(V2_TAG)) && !all.some((s) => s.includes(V4_TAG));
}

type Result = {
  checked: number;
  renamed: Array<{ from: string; to: string }>;
  conflicts: Array<{ key: string; to: string }>;
  unreadable: Array<{ key: string; error: string }>;
  errors: Array<{ key: string; error: string }>;
};

/** What to do with one object; returns the line to show, if any. */
async function migrateOne(clients: Clients, obj: ListedObject, dryRun: boolean, result: Result): Promise<[string, Record<string, unknown>, string] | undefined> {
  let tags: Record<string, string>;
  try {
    const url = await presignedGetUrl(clients, obj.key);
    tags = (await probeMedia(url, { timeoutSec: clients.config.probeTimeoutSec, sizeBytes: obj.size })).tags;
  } catch (err) {
    result.unreadable.push({ key: obj.key, error: errorMessage(err) });
    return ["migrate.unreadable", { key: obj.key, error: errorMessage(err) }, `${dim("unreadable")} ${obj.key}  ${dim(errorMessage(err))}`];
  }
  if (!isV2Output(tags)) return undefined;
  const to = legacyCompressedKeyFor(obj.key);
  // Never overwrite another object: a different one already at the new name stays, and so does this one.
  const existing = await headObject(clients, to);
  const source = await headObject(clients, obj.key);
  // SHA-256 over both (proof rule b): the same bytes there are a rename cut short, finished by the delete.
  const done = existing !== undefined && source !== undefined && (await sameBytes(clients, source, existing));
  if (existing && source && !done) {
    result.conflicts.push({ key: obj.key, to });
    return ["migrate.conflict", { key: obj.key, to }, red(`conflict   ${obj.key}: ${to} already exists and differs; left both as they are`)];
  }
  if (dryRun) {
    result.renamed.push({ from: obj.key, to });
    return ["migrate.would_rename", { from: obj.key, to }, `${yellow("would rename")} ${obj.key} → ${to}`];
  }
  if (done) await deleteObject(clients, obj.key, source.etag);
  else await renameVerified(clients, obj.key, to);
  // The old key's record describes an object that is gone; the new key gets its own when it is probed.
  await deleteRecord(clients, obj.key);
  result.renamed.push({ from: obj.key, to });
  return ["migrate.renamed", { from: obj.key, to }, `renamed ${obj.key} → ${to}`];
}

async function migrateAll(clients: Clients, candidates: ListedObject[], dryRun: boolean, signal: AbortSignal): Promise<Result> {
  const result: Result = { checked: 0, renamed: [], conflicts: [], unreadable: [], errors: [] };
  const bar = process.stderr.isTTY ? new ProgressBar({ total: candidates.length, unit: "items", label: "checking" }) : undefined;
  const show = (event: string, fields: Record<string, unknown>, text: string) => (bar ? bar.log(text) : logEvent(event, fields));
  await mapLimit(candidates, PROBES_AT_ONCE, async (obj) => {
    // Ctrl+C: renames in flight finish (each is safe to repeat anyway), nothing new starts.
    if (signal.aborted) return;
    try {
      const line = await migrateOne(clients, obj, dryRun, result);
      if (line) show(...line);
    } catch (err) {
      result.errors.push({ key: obj.key, error: errorMessage(err) });
      show("migrate.error", { key: obj.key, error: errorMessage(err) }, red(`error      ${obj.key}: ${errorMessage(err)}`));
    }
    result.checked++;
    bar?.update(result.checked);
  });
  bar?.stop();
  return result;
}

const command: Command = {
  summary: "Rename v2 outputs (container tag compressed_hevc_v2) to *_compressed so they are redone in H.264.",
  usage: "[--prefix P] [--dry-run] [--json]",
  options: {
    prefix: { type: "string" },
    "dry-run": { type: "boolean" },
    json: { type: "boolean" },
  },
  examples: [
    "reelpress migrate --dry-run",
    "reelpress migrate --prefix videos/poker/   # one folder at a time goes faster",
    "reelpress migrate --json | jq '.renamed | length'",
  ],
  async run(values, positionals) {
    if (positionals.length) throw new UsageError(`migrate takes no arguments (got '${positionals[0]}'); use --prefix for a folder.`);
    const clients = clientsFrom(values);
    const { config } = clients;
    const dryRun = values["dry-run"] === true;
    await requireBucket(clients);
    const objects = await remote(config, () => listLibrary(clients));
    // Already renamed (`_compressed`) or skipped ones are done: that is what makes a re-run cheap.
    const candidates = objects.filter((o) => keyKind(o.key, config.backupPrefix) === "video" && !isLegacyCompressedKey(o.key));
    const interrupt = catchInterrupt("finishing the renames in flight");
    let result: Result;
    try {
      result = await remote(config, () => migrateAll(clients, candidates, dryRun, interrupt.signal));
    } finally {
      interrupt.dispose();
    }
    const interrupted = interrupt.signal.aborted;
    if (values.json) {
      console.log(JSON.stringify({ dry_run: dryRun, interrupted, ...result }));
    } else {
      const verb = dryRun ? "would rename" : "renamed";
      const lines = [`${bold("Checked")} ${result.checked} of ${candidates.length} video(s) under s3://${config.bucket}/${config.prefix}: ${verb} ${result.renamed.length}.`];
      for (const r of result.renamed) lines.push(`  ${r.from} → ${r.to}`);
      if (result.conflicts.length) lines.push(red(`${result.conflicts.length} not renamed: a different object already has the new name.`));
      if (result.unreadable.length) lines.push(dim(`${result.unreadable.length} could not be read by ffprobe and were left alone.`));
      if (result.errors.length) lines.push(red(`${result.errors.length} failed; re-run to retry them.`));
      if (interrupted) lines.push(yellow("Interrupted; re-run the same command to continue."));
      else if (dryRun && result.renamed.length) lines.push(dim("Nothing was changed (dry run)."));
      console.log(lines.join("\n"));
    }
    if (interrupted) return 130;
    return result.conflicts.length || result.errors.length ? 1 : 0;
  },
};
export default command;
