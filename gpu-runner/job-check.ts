// Nothing acts on a message's word alone: anyone who can reach a queue can send, alter or replay a job.
// A job is done only when it matches the plan the strategy recorded for that exact source version,
// and its output key is one the naming rules derive from its source key.
import type { Clients } from "../shared/io/clients.ts";
import { readRecord } from "../shared/io/manifest.ts";
import { headObject } from "../shared/io/objects.ts";
import { isNthNameOf, outputKeyFor, unsafeKeyReason } from "../shared/rules/naming.ts";
import type { EncodeJob, ManifestRecord } from "../shared/schemas.ts";
import { containerOf, profileRefusal, sameProfile } from "../shared/rules/profiles.ts";

/**
 * Pure: why `job` must be refused, or undefined. `record` is its source's manifest record;
 * `sourceIsJobVersion` whether the source object is still the job's version. A record of another
 * version with the source gone or changed is no refusal: that job is finished or stale, and the runner
 * settles it without acting on the message (see jobState).
 */
export function refusalOf(job: EncodeJob, bucket: string, record: ManifestRecord | undefined, sourceIsJobVersion: boolean): string | undefined {
  if (job.bucket !== bucket) return `it names bucket ${job.bucket}, not ${bucket}`;
  const output = outputKeyFor(job.key, containerOf(job.profile));
  if (output === job.key ? job.outputKey !== job.key : !isNthNameOf(output, job.outputKey)) return `its output key ${job.outputKey} is not one derived from ${job.key}`;
  const sameVersion = record !== undefined && record.etag === job.etag && record.size === job.size;
  if (!sameVersion) return sourceIsJobVersion ? "no plan is recorded for this version of its source" : undefined;
  if (!record.plan) return "no plan is recorded for this version of its source";
  if (record.plan.jobId !== job.jobId || record.plan.outputKey !== job.outputKey) return "it does not match the plan recorded for its source";
  if (record.decision && (record.decision.mustSave !== job.mustSave || record.decision.downscale !== job.downscale)) return "its settings differ from the decision recorded for its source";
  // The record may have been written by anyone who can write the library: its profile is checked again too.
  if (record.decision && !sameProfile(record.decision.profile, job.profile)) return "its profile differs from the one recorded for its source";
  const badProfile = job.profile && profileRefusal(job.profile);
  if (badProfile) return `its profile is refused: ${badProfile}`;
  return undefined;
}

/** Reads what `refusalOf` needs: the record, and the source's head only when the record is not this version's. */
export async function checkJob(clients: Clients, job: EncodeJob): Promise<string | undefined> {
  for (const key of [job.key, job.outputKey]) {
    const unsafe = unsafeKeyReason(key);
    if (unsafe) return `its key ${JSON.stringify(key)} is refused: ${unsafe}`;
  }
  const record = (await readRecord(clients, job.key))?.record;
  if (record && record.etag === job.etag && record.size === job.size) return refusalOf(job, clients.config.bucket, record, true);
  const source = await headObject(clients, job.key);
  return refusalOf(job, clients.config.bucket, record, source !== undefined && source.etag === job.etag && source.size === job.size);
}
