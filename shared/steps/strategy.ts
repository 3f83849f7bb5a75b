// The strategy step: a ProbeResult and the decision table become a skip (see skip.ts) or an EncodeJob.
import { createHash } from "node:crypto";
import type { Clients } from "../io/clients.ts";
import { decide } from "../rules/decision.ts";
import { isSameVersion } from "./probe.ts";
import { patchRecord, readRecord, updateRecord } from "../io/manifest.ts";
import { nthName, outputKeyFor, skipKeyFor } from "../rules/naming.ts";
import type { Decision, EncodeJob, ManifestState, ObjectRef, ProbeResult } from "../schemas.ts";
import { findCopy, headObject } from "../io/objects.ts";
import { sendJson } from "../io/queues.ts";
import { skipVersion } from "./skip.ts";
import { loadProfiles } from "../io/profiles.ts";
import { containerOf, profileFor } from "../rules/profiles.ts";

export type PlanOutcome = {
  key: string;
  decision: Decision;
  /** planned: job queued (again, for a redelivered message); skipped: renamed `_skip`, or its name kept
   * and its record saying so; pending: a runner has taken this version's job, or it is done;
   * stale: the object changed or went away since it was probed (its own event re-plans it). */
  status: "planned" | "skipped" | "ignored" | "pending" | "stale" | "dry-run";
  job?: EncodeJob;
  skipKey?: string;
};

/** A job's identity is the object version, so a job planned twice is recognisably the same job. */
export function jobIdFor(ref: ObjectRef): string {
  return createHash("sha256").update(`${ref.bucket}\n${ref.key}\n${ref.size}\n${ref.etag}`).digest("hex").slice(0, 20);
}

export function encodeJobFor(result: ProbeResult, decision: Decision, plannedAt: string, outputKey = outputKeyFor(result.key, containerOf(decision.profile))): EncodeJob {
  return {
    bucket: result.bucket,
    key: result.key,
    size: result.size,
    etag: result.etag,
    jobId: jobIdFor(result),
    outputKey,
    downscale: decision.downscale,
    mustSave: decision.mustSave,
    reason: decision.reason,
    durationSec: result.media.durationSec,
    fingerprints: result.fingerprints,
    plannedAt,
    ...(decision.profile && { profile: decision.profile }),
  };
}

/**
 * `dir/a.mp4` for `dir/a.avi`, or `dir/a (2).mp4`, … when that name holds another file (an earlier
 * version's output, or the user's own): outputs never overwrite anything. In place, the source's own key.
 */
export async function freeOutputKey(clients: Clients, key: string, container: "mp4" | "mkv" = "mp4"): Promise<string> {
  const first = outputKeyFor(key, container);
  if (first === key) return key;
  for (let n = 1; ; n++) if (!(await headObject(clients, nthName(first, n)))) return nthName(first, n);
}

/** A runner has taken this version's job, or it is done: a second plan must not queue another job. */
const TAKEN: ReadonlySet<ManifestState> = new Set(["encoding", "compressed", "skipped"]);
/** A dry run leaves a version that is planned or further along as it is. */
const PLANNED_OR_TAKEN: ReadonlySet<ManifestState> = new Set(["planned", ...TAKEN]);

export async function planProbed(clients: Clients, result: ProbeResult): Promise<PlanOutcome> {
  const { key } = result;
  // Read for every plan: a folder's new profile applies to the next video planned, never to finished ones.
  const decision = decide(result.media, key, result.size, profileFor(await loadProfiles(clients), key));
  if (result.dryRun) {
    // Records the decision beside what the probe wrote; a version already planned keeps its record.
    await updateRecord(clients, key, (cur) => {
      const same = isSameVersion(cur, result) ? cur : undefined;
      if (same && PLANNED_OR_TAKEN.has(same.state)) return undefined;
      return { ...same, ...versionOf(result), key, state: same?.state ?? "probed", decision, reason: decision.reason, updatedAt: "" };
    });
    return { key, decision, status: "dry-run" };
  }
  const current = await readRecord(clients, key);
  if (current && isSameVersion(current.record, result) && TAKEN.has(current.record.state)) return { key, decision, status: "pending" };
  const head = await headObject(clients, key);
  const changed = head !== undefined && !isSameVersion(head, result);
  if (decision.action === "skip") {
    const rename = clients.config.skipRename;
    // Gone is fine when the rename already happened (a redelivered message after a crash).
    if (changed || (!head && !(rename && (await findCopy(clients, skipKeyFor(key), (h) => h.size === result.size))))) return { key, decision, status: "stale" };
    // A skip name holding another file is never overwritten: this one gets the next free name.
    const { media, fingerprints, checksum } = result;
    const skipKey = await skipVersion(clients, result, { rename }, { reason: decision.reason, decision, media, fingerprints, checksum });
    return { key, decision, status: "skipped", skipKey };
  }
  if (!head || changed) return { key, decision, status: "stale" };
  if (decision.action === "ignore") {
    await patchRecord(clients, key, { ...versionOf(result), state: "ignored", reason: decision.reason, decision });
    return { key, decision, status: "ignored" };
  }
  // Record first, then send: a runner may take the job at once, and its `encoding` must not be
  // overwritten by a late `planned`. A failed send leaves `planned`, and the redelivered message sends
  // the same job (same id) again; a version a runner has already taken is left alone.
  const job = encodeJobFor(result, decision, new Date().toISOString(), await freeOutputKey(clients, key, containerOf(decision.profile)));
  // The runner that finds the encode cannot save enough skips as this plan says, whatever its own settings.
  const plan = { jobId: job.jobId, outputKey: job.outputKey, skipRename: clients.config.skipRename };
  const planned = await updateRecord(clients, key, (cur) => {
    const same = isSameVersion(cur, result) ? cur : undefined;
    if (same && TAKEN.has(same.state)) return undefined;
    return { ...same, ...versionOf(result), key, state: "planned", reason: decision.reason, decision, plan, updatedAt: "" };
  });
  if (planned?.state !== "planned") return { key, decision, status: "pending" };
  await sendJson(clients, clients.config.queues.encode, job);
  return { key, decision, status: "planned", job };
}

function versionOf(result: ProbeResult) {
  return { size: result.size, etag: result.etag, media: result.media, fingerprints: result.fingerprints, checksum: result.checksum };
}
