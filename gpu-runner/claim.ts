// Claims: a runner takes a job by writing the source's manifest record with If-Match (runner, job,
// attempt, lease expiry). Queues deliver twice, so a live lease held by another attempt means this
// one is a duplicate; an expired lease belongs to a dead runner and may be taken over.
import type { Clients } from "../shared/io/clients.ts";
import { updateRecord } from "../shared/io/manifest.ts";
import type { EncodeJob, ManifestRecord } from "../shared/schemas.ts";

export type Lease = NonNullable<ManifestRecord["runner"]>;

export type ClaimDecision =
  | { kind: "take"; record: ManifestRecord }
  /** Another attempt holds a live lease: hand the message back until it runs out. */
  | { kind: "held"; by: string; untilMs: number }
  /**
   * The record says the job is done: for a version that replaced this job's source (its published
   * output), or for this one (skipped, keeping its name): read the state again.
   */
  | { kind: "superseded" };

const FINISHED = new Set(["compressed", "ignored", "skipped"]);

/**
 * Pure: whether `lease` may take the job, given the source's record as it is now. `staleFinished`: the
 * source was seen to be still the job's version after a `superseded`, so a finished record of another
 * version is an old one, and may be replaced.
 */
export function decideClaim(cur: ManifestRecord | undefined, job: EncodeJob, lease: Lease, nowMs: number, staleFinished = false): ClaimDecision {
  const sameVersion = cur !== undefined && cur.size === job.size && cur.etag === job.etag;
  const finished = cur !== undefined && (sameVersion ? cur.state === "skipped" : FINISHED.has(cur.state));
  if (finished && !staleFinished) return { kind: "superseded" };
  const held = sameVersion && cur.state === "encoding" ? cur.runner : undefined;
  if (held && held.claim !== lease.claim && Date.parse(held.leaseUntil) > nowMs) return { kind: "held", by: held.id, untilMs: Date.parse(held.leaseUntil) };
  const base = sameVersion ? cur : { key: job.key, size: job.size, etag: job.etag };
  return { kind: "take", record: { ...base, state: "encoding", runner: lease, error: undefined, updatedAt: "" } };
}

/** Pure: the renewed record, or undefined when `lease` no longer holds the job (taken over, finished, or reset). */
export function renewLease(cur: ManifestRecord | undefined, job: EncodeJob, lease: Lease): ManifestRecord | undefined {
  if (!cur || cur.state !== "encoding" || cur.etag !== job.etag || cur.size !== job.size || cur.runner?.claim !== lease.claim) return undefined;
  return { ...cur, runner: lease };
}

export function leaseFor(runnerId: string, job: EncodeJob, claim: string, leaseSec: number, nowMs = Date.now()): Lease {
  return { id: runnerId, jobId: job.jobId, claim, leaseUntil: new Date(nowMs + leaseSec * 1000).toISOString() };
}

/** Writes the claim conditionally (retried on a lost race with a fresh read); returns what was decided last. */
export async function claimJob(clients: Clients, job: EncodeJob, lease: Lease, staleFinished = false): Promise<ClaimDecision> {
  let decision: ClaimDecision = { kind: "superseded" };
  await updateRecord(clients, job.key, (cur) => {
    decision = decideClaim(cur, job, lease, Date.now(), staleFinished);
    return decision.kind === "take" ? decision.record : undefined;
  });
  return decision;
}

/** Extends the lease with a conditional write; false when it was lost, and the job must stop. */
export async function extendLease(clients: Clients, job: EncodeJob, lease: Lease): Promise<boolean> {
  const after = await updateRecord(clients, job.key, (cur) => renewLease(cur, job, lease));
  return after?.runner?.claim === lease.claim && after.runner.leaseUntil === lease.leaseUntil;
}
