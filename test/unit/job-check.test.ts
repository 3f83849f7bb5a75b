import { describe, expect, it } from "vitest";
import { refusalOf } from "../../gpu-runner/job-check.ts";
import type { EncodeJob, ManifestRecord } from "../../shared/schemas.ts";
import { ARCHIVE } from "../../shared/rules/profiles.ts";

const job: EncodeJob = {
  bucket: "lib", key: "films/a.avi", size: 10, etag: '"v1"', jobId: "j1", outputKey: "films/a.mp4",
  downscale: false, mustSave: 0, reason: "r", durationSec: 5, fingerprints: [], plannedAt: "",
};
const decision = { action: "encode" as const, downscale: false, mustSave: 0, reason: "r" };
const planned: ManifestRecord = { key: job.key, size: 10, etag: '"v1"', state: "planned", decision, plan: { jobId: "j1", outputKey: "films/a.mp4" }, updatedAt: "" };
const archived: ManifestRecord = { ...planned, decision: { ...decision, profile: ARCHIVE }, plan: { jobId: "j1", outputKey: "films/a.mkv" } };
const forged = { ...ARCHIVE, name: "mine", params: { stats: "/etc/passwd" } };

describe("refusalOf: nothing acts on a message's word alone", () => {
  it.each<[string, Partial<EncodeJob>, ManifestRecord | undefined, boolean, RegExp | undefined]>([
    ["the job as planned", {}, planned, true, undefined],
    ["the job as planned, claimed by a runner", {}, { ...planned, state: "encoding" }, true, undefined],
    ["a free output name the strategy chose", { outputKey: "films/a (2).mp4" }, { ...planned, plan: { jobId: "j1", outputKey: "films/a (2).mp4" } }, true, undefined],
    ["another bucket", { bucket: "other" }, planned, true, /names bucket other/],
    ["an output key not derived from the source", { outputKey: "attacker/renamed.mp4" }, planned, true, /not one derived from films\/a\.avi/],
    ["an MP4 source whose output is not itself", { key: "films/b.mp4", outputKey: "films/b (2).mp4" }, undefined, true, /not one derived/],
    ["a derived output key the plan did not choose", { outputKey: "films/a (3).mp4" }, planned, true, /does not match the plan/],
    ["another job id", { jobId: "j2" }, planned, true, /does not match the plan/],
    ["settings other than the decision's", { mustSave: 0.5 }, planned, true, /settings differ/],
    ["a version with a record but no plan", {}, { ...planned, state: "probed", plan: undefined }, true, /no plan is recorded/],
    ["no record while the source is still this version", {}, undefined, true, /no plan is recorded/],
    ["no record and the source gone or changed: settled as stale, not refused", {}, undefined, false, undefined],
    ["a record of a newer version and the source changed", {}, { ...planned, etag: '"v2"' }, false, undefined],
    ["an archive job as planned, MKV output", { profile: ARCHIVE, outputKey: "films/a.mkv" }, archived, true, undefined],
    ["an archive job with an MP4 output", { profile: ARCHIVE }, { ...archived, plan: planned.plan }, true, /not one derived from films\/a\.avi/],
    ["a profile other than the recorded one", { profile: ARCHIVE, outputKey: "films/a.mkv" }, { ...planned, plan: archived.plan }, true, /profile differs from the one recorded/],
    ["a job without the profile the record names", { outputKey: "films/a.mkv" }, archived, true, /not one derived|profile differs/],
    ["a forbidden parameter, even in a forged record", { profile: forged, outputKey: "films/a.mkv" }, { ...archived, decision: { ...decision, profile: forged } }, true, /^its profile is refused: profiles\.mine\.params has "stats", which is not an allowed x264 parameter/],
  ])("%s", (_, change, record, sourceIsJobVersion, refused) => {
    const why = refusalOf({ ...job, ...change }, "lib", record, sourceIsJobVersion);
    if (refused) expect(why).toMatch(refused);
    else expect(why).toBeUndefined();
  });
});
