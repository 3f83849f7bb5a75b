import { describe, expect, it } from "vitest";
import { DedupReport, EncodeJob, EncodeQueueMessage, FrameFingerprint, ManifestRecord, S3EventMessage, StatusSummary } from "../../shared/schemas.ts";

describe("schemas", () => {
  it("parses S3 and MinIO notifications and S3's test event", () => {
    const aws = { Records: [{ eventVersion: "2.1", eventSource: "aws:s3", eventName: "ObjectCreated:Put", s3: { bucket: { name: "b" }, object: { key: "a+b.mp4", size: 10, eTag: "abc", sequencer: "1" } } }] };
    const minio = { EventName: "s3:ObjectCreated:Put", Key: "b/a.mp4", Records: [{ eventName: "s3:ObjectCreated:Put", eventSource: "minio:s3", s3: { bucket: { name: "b" }, object: { key: "a.mp4", size: 3, eTag: "e" } } }] };
    expect(S3EventMessage.parse(aws)).toMatchObject({ Records: [{ s3: { object: { key: "a+b.mp4" } } }] });
    expect(S3EventMessage.parse(minio)).toMatchObject({ Records: [{ eventSource: "minio:s3" }] });
    expect(S3EventMessage.safeParse({ Event: "s3:TestEvent", Bucket: "b" }).success).toBe(true);
    expect(S3EventMessage.safeParse({ Records: [{ s3: {} }] }).success).toBe(false);
  });

  it("keeps fingerprints to 64-bit hex hashes", () => {
    expect(FrameFingerprint.safeParse({ t: 1.5, hash: "00ff00ff00ff00ff", dark: false }).success).toBe(true);
    expect(FrameFingerprint.safeParse({ t: 1.5, hash: "00ff", dark: false }).success).toBe(false);
    expect(FrameFingerprint.safeParse({ t: -1, hash: "00ff00ff00ff00ff", dark: false }).success).toBe(false);
  });

  it("requires what a runner needs in an encode job", () => {
    const job = { bucket: "b", key: "a.avi", size: 10, etag: "e", jobId: "j", outputKey: "a.mp4", downscale: false, mustSave: 0, reason: "r", durationSec: 3, fingerprints: [], plannedAt: new Date().toISOString() };
    expect(EncodeJob.parse(job)).toEqual(job);
    expect(EncodeJob.safeParse({ ...job, etag: undefined }).success).toBe(false);
    expect(EncodeJob.safeParse({ ...job, mustSave: 2 }).success).toBe(false);
  });

  it("tells the encode queue's messages apart by `chunk`, and makes no whole job of a malformed chunk", () => {
    const job = { bucket: "b", key: "a.avi", size: 10, etag: "e", jobId: "j", outputKey: "a.mp4", downscale: false, mustSave: 0, reason: "r", durationSec: 3, fingerprints: [], plannedAt: "t" };
    expect(EncodeQueueMessage.parse(job)).toEqual({ kind: "encode", job });
    expect(EncodeQueueMessage.parse({ ...job, passedOn: 2 })).toEqual({ kind: "encode", job });
    const chunk = { ...job, chunk: { index: 1, total: 3 } };
    expect(EncodeQueueMessage.parse(chunk)).toEqual({ kind: "chunk", job: chunk });
    expect(EncodeQueueMessage.parse({ ...chunk, passedOn: 2 })).toEqual({ kind: "chunk", job: { ...chunk, passedOn: 2 } });
    expect(EncodeQueueMessage.safeParse({ ...job, chunk: { index: -1, total: 3 } }).success).toBe(false);
  });

  it("validates manifest records, reports and status", () => {
    expect(ManifestRecord.safeParse({ key: "a", size: 1, etag: "e", state: "failed", error: "x", updatedAt: "t" }).success).toBe(true);
    expect(ManifestRecord.safeParse({ key: "a", size: 1, etag: "e", state: "lost", updatedAt: "t" }).success).toBe(false);
    const report = { groups: [{ group_id: "g1", type: "exact", winner: { key: "a", uri: "s3://b/a", size: 1, reason: "oldest" }, losers: [{ key: "b", uri: "s3://b/b", size: 1, reason: "same bytes" }], metadata: {} }], summary: { total_groups: 1, total_losers: 1, bytes_reclaimable: 1, scan_time: "1s", stages: {} } };
    expect(DedupReport.parse(report).summary).toHaveProperty("stages");
    expect(DedupReport.safeParse({ ...report, groups: [{ ...report.groups[0], type: "fuzzy" }] }).success).toBe(false);
    const cb = { count: 0, bytes: 0 };
    const disk = { total_bytes: 0, library_bytes: 0, backup_bytes: 0, system_bytes: 0, reclaimable_bytes: 0 };
    expect(StatusSummary.safeParse({ compressed: cb, skipped: cb, in_progress: cb, remaining: cb, failed: cb, saved_bytes: 0, disk, queues: { encode: { visible: 1, in_flight: 0 } }, runners: [] }).success).toBe(true);
  });
});
