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

describe("claims", () => {
  it("takes a planned job, keeping what the record knew, with runner, job, attempt and lease expiry", () => {
    const d = decideClaim(record(), job, mine, NOW);
    expect(d).toMatchObject({ kind: "take", record: { state: "encoding", reason: "probed", runner: { id: "host:1", jobId: "j1", claim: "c-mine", leaseUntil: "2026-01-01T12:00:30.000Z" } } });
  });

  it("treats a live lease of another attempt as a duplicate delivery, even from the same runner", () => {
    const other = leaseFor("host:1", job, "c-other", 10, NOW);
    expect(decideClaim(record({ state: "encoding", runner: other }), job, mine, NOW)).toEqual({ kind: "held", by: "host:1", untilMs: NOW + 10_000 });
  });

  it("takes over an expired lease, and its own", () => {
    const expired = leaseFor("dead:9", job, "c-dead", 10, NOW - 11_000);
    expect(decideClaim(record({ state: "encoding", runner: expired }), job, mine, NOW).kind).toBe("take");
    expect(decideClaim(record({ state: "encoding", runner: mine }), job, mine, NOW).kind).toBe("take");
  });

  it("never claims over the finished record of the version that replaced the source (its own published output)", () => {
    expect(decideClaim(record({ etag: '"out"', size: 600, state: "compressed" }), job, mine, NOW)).toEqual({ kind: "superseded" });
    // Unless the source was seen to be still the job's version: then that record is an old one.
    expect(decideClaim(record({ etag: '"out"', size: 600, state: "compressed" }), job, mine, NOW, true).kind).toBe("take");
    // A stale record of an older version is replaced by a fresh one for this version.
    const d = decideClaim(record({ etag: '"old"', state: "failed", error: "x" }), job, mine, NOW);
    expect(d).toMatchObject({ kind: "take", record: { etag: '"e1"', state: "encoding" } });
    expect(d.kind === "take" && d.record.error).toBeUndefined();
    expect(decideClaim(undefined, job, mine, NOW).kind).toBe("take");
  });

  it("renews only a lease this attempt still holds", () => {
    const later = leaseFor("host:1", job, "c-mine", 30, NOW + 10_000);
    expect(renewLease(record({ state: "encoding", runner: mine }), job, later)?.runner).toEqual(later);
    expect(renewLease(record({ state: "encoding", runner: leaseFor("x", job, "c-other", 30, NOW) }), job, later)).toBeUndefined();
    expect(renewLease(record({ state: "planned" }), job, later)).toBeUndefined();
    expect(renewLease(record({ state: "encoding", runner: mine, etag: '"new"' }), job, later)).toBeUndefined();
    expect(renewLease(undefined, job, later)).toBeUndefined();
  });
});
