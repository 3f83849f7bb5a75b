import { describe, expect, it } from "vitest";
import { decideClaim, leaseFor, renewLease } from "../../gpu-runner/claim.ts";
import type { EncodeJob, ManifestRecord } from "../../shared/schemas.ts";

const job: EncodeJob = {
  bucket: "b", key: "v.mp4", size: 1000, etag: '"e1"', jobId: "j1", outputKey: "v.mp4", downscale: false,
  mustSave: 0.05, reason: "r", durationSec: 4, fingerprints: [], plannedAt: "2026-01-01T00:00:00Z",
};
const NOW = Date.parse("2026-01-01T12:00:00Z");
const mine = leaseFor("host:1", job, "c-mine", 30, NOW);
const record = (over: Partial<ManifestRecord> = {}): ManifestRecord => ({ key: "v.mp4", size: 1000, etag: '"e1"', state: "planned", reason: "probed", updatedAt: "", ...over });

const other = leaseFor("host:1", job, "c-other", 10, NOW);
const expired = leaseFor("dead:9", job, "c-dead", 10, NOW - 11_000);
const published = record({ etag: '"out"', size: 600, state: "compressed" });

describe("decideClaim: every case", () => {
  it.each([
    // [case, record, source seen to be the job's version, decision]
    ["no record yet", undefined, false, { kind: "take" }],
    ["a planned job", record(), false, { kind: "take" }],
    ["a live lease of another attempt, even from the same runner (a duplicate delivery)", record({ state: "encoding", runner: other }), false, { kind: "held", by: "host:1", untilMs: NOW + 10_000 }],
    ["an expired lease", record({ state: "encoding", runner: expired }), false, { kind: "take" }],
    ["its own lease", record({ state: "encoding", runner: mine }), false, { kind: "take" }],
    ["the finished record of the version that replaced the source (its own output)", published, false, { kind: "superseded" }],
    ["that record when the source was seen to be the job's version (an old record)", published, true, { kind: "take" }],
    ["this version skipped, keeping its name (a redelivered job)", record({ state: "skipped", plan: { jobId: "j1", outputKey: "v.mp4", skipRename: false } }), false, { kind: "superseded" }],
    ["a skipped record of an older version", record({ etag: '"old"', state: "skipped" }), true, { kind: "take" }],
    ["a stale record of an older version", record({ etag: '"old"', state: "failed", error: "x" }), false, { kind: "take", record: { etag: '"e1"', state: "encoding" } }],
  ] as const)("%s", (_, current, sourceIsJobs, expected) => {
    expect(decideClaim(current, job, mine, NOW, sourceIsJobs)).toMatchObject(expected);
  });

  it("keeps what the record knew, with runner, job, attempt and lease expiry, and drops an old error", () => {
    expect(decideClaim(record(), job, mine, NOW)).toMatchObject({ kind: "take", record: { state: "encoding", reason: "probed", runner: { id: "host:1", jobId: "j1", claim: "c-mine", leaseUntil: "2026-01-01T12:00:30.000Z" } } });
    const d = decideClaim(record({ etag: '"old"', state: "failed", error: "x" }), job, mine, NOW);
    expect(d.kind === "take" && d.record.error).toBeUndefined();
  });
});

describe("renewLease: only a lease this attempt still holds", () => {
  const later = leaseFor("host:1", job, "c-mine", 30, NOW + 10_000);
  it.each([
    // [case, record, renewed]
    ["its own lease", record({ state: "encoding", runner: mine }), true],
    ["another attempt's lease", record({ state: "encoding", runner: leaseFor("x", job, "c-other", 30, NOW) }), false],
    ["a planned record", record({ state: "planned" }), false],
    ["its lease on a record of another version", record({ state: "encoding", runner: mine, etag: '"new"' }), false],
    ["no record", undefined, false],
  ] as const)("%s → renewed: %s", (_, current, renewed) => {
    const r = renewLease(current, job, later);
    if (renewed) expect(r?.runner).toEqual(later);
    else expect(r).toBeUndefined();
  });
});
