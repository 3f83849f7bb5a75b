import { PutObjectCommand } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { patchRecord } from "../../shared/io/manifest.ts";
import { putRunner } from "../../shared/io/runners.ts";
import type { RunnerStatus } from "../../shared/schemas.ts";
import { reelpress } from "../kit/cli.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { SGR, expectHelp, expectOneLineError, hasScript, reelpressInTty } from "./cli-helpers.ts";

/** A runner outside its encode window, finishing the job it had when the window closed. */
const PAUSED_RUNNER: RunnerStatus = {
  id: "gpu-1:42",
  encoder: "x264",
  concurrency: 1,
  hours: "22-07",
  paused_until: new Date(new Date().setHours(22, 0, 0, 0) + 86_400_000).toISOString(),
  jobs: [{ key: "lib/deep/b.mp4", job_id: "j1", started_at: new Date().toISOString(), duration_sec: 10, out_time_sec: 4 }],
  updated_at: new Date().toISOString(),
};

describe("reelpress status", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
    const put = async (key: string, size: number) => {
      const r = await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: Buffer.alloc(size, 1) }));
      return { size, etag: r.ETag! };
    };
    const record = async (key: string, size: number, state: "compressed" | "encoding" | "failed" | "probed" | "skipped", more = {}) =>
      patchRecord(stack, key, { ...(await put(key, size)), state, ...more });
    await record("lib/a.mp4", 1000, "compressed", { savedBytes: 4000 });
    await record("lib/deep/b.mp4", 2000, "encoding", { runner: { id: "r1", jobId: "j1", claim: "c1", leaseUntil: new Date(Date.now() + 60_000).toISOString() } });
    await record("lib/c.mkv", 300, "failed", { error: "Truncating packet of size 9067 to 23; EBML header parsing failed", reason: "Truncating packet of size 9067 to 23; EBML header parsing failed" });
    await record("other/d.mp4", 700, "compressed", { source: { key: "other/d.avi", size: 1200, etag: "x", backupKey: "orig_video_to_delete/other/d.avi" } });
    await record("other/e.avi", 50, "probed");
    await record("lib/f_skip.mp4", 80, "skipped");
    // Not probed yet, so no record: status counts what the records say; this one waits in the ingest queue.
    await put("g.webm", 10);
    // Never library videos: system keys, backups, unsupported files.
    await put("orig_video_to_delete/other/d.avi", 1200);
    await put(".reelpress/reports/latest.json", 5);
    await put("lib/readme.txt", 5);
    const send = async (queue: string, n: number) => {
      for (let i = 0; i < n; i++) await stack.sqs.send(new SendMessageCommand({ QueueUrl: await stack.queueUrl(queue), MessageBody: `{"n":${i}}` }));
    };
    await send("reelpress-ingest", 2);
    await send("reelpress-encode", 1);
    await send("reelpress-encode-dlq", 3);
    await putRunner(stack, PAUSED_RUNNER);
    // One encode job in flight.
    await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: await stack.queueUrl("reelpress-encode"), VisibilityTimeout: 600 }));
  });
  afterAll(() => stack.stop());

  it("--json prints exactly the DESIGN.md shape for the whole bucket", async () => {
    const r = await reelpress(["status", "--json"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    // Written before any status: the first one builds the summary from the records, and says so.
    expect(r.stderr).toMatch(/no summary yet: building it from the manifest records, once/);
    const status = JSON.parse(r.stdout);
    expect(status).toEqual({
      compressed: { count: 2, bytes: 1700 },
      skipped: { count: 1, bytes: 80 },
      in_progress: { count: 1, bytes: 2000 },
      remaining: { count: 1, bytes: 50 },
      failed: { count: 1, bytes: 300 },
      saved_bytes: 4500,
      // From the records: the recorded videos, the backup they name, the manifest's own bytes.
      // The backup of other/d.avi is not reclaimable: its output's record holds no SHA-256.
      disk: { total_bytes: expect.any(Number), library_bytes: 4130, backup_bytes: 1200, system_bytes: expect.any(Number), reclaimable_bytes: 0 },
      queues: {
        ingest: { visible: 2, in_flight: 0 },
        plan: { visible: 0, in_flight: 0 },
        encode: { visible: 0, in_flight: 1 },
        encode_dlq: { visible: 3, in_flight: 0 },
      },
      runners: [PAUSED_RUNNER],
    });
    expect(status.disk.system_bytes).toBeGreaterThan(0);
    expect(status.disk.total_bytes).toBe(4130 + 1200 + status.disk.system_bytes);
  });

  it("--prefix counts only that folder", async () => {
    const r = await reelpress(["status", "--json", "--prefix", "lib"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({
      compressed: { count: 1, bytes: 1000 },
      skipped: { count: 1, bytes: 80 },
      in_progress: { count: 1, bytes: 2000 },
      remaining: { count: 0, bytes: 0 },
      failed: { count: 1, bytes: 300 },
      saved_bytes: 4000,
    });
  });

  it("prints a table, the failures with their reasons and what to do about dead letters, without colour off a terminal", async () => {
    const r = await reelpress(["status"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Library s3:\/\/reelpress\/  6 video\(s\)\n/);
    expect(r.stdout).toMatch(/\n  compressed\s+2\s+1\.7 KiB\n/);
    expect(r.stdout).toMatch(/\n  saved\s+4\.4 KiB\n/);
    expect(r.stdout).toMatch(/\nDisk\n  on disk now\s+[\d.]+ KiB  library 4\.0 KiB, backups 1\.2 KiB, \.reelpress [\d.]+ KiB\n  in backups\s+1\.2 KiB\n  purge would free\s+0 B\n/);
    expect(r.stdout).toMatch(/\n  encode_dlq\s+3\s+0\n/);
    expect(r.stdout).toContain("3 job(s) in the dead-letter queue: 'reelpress redrive' sends them back");
    // The readable sentence, not ffmpeg's words (those stay in the record).
    expect(r.stdout).toMatch(/\nFailed\n  lib\/c\.mkv  not a video file \(damaged or not Matroska\)$/);
    expect(r.stdout).toMatch(/\nRunners\n  gpu-1:42  x264, hours 22-07: paused, resumes \w+ \d\d:00; finishing 1 job\(s\)\n/);
    expect(r.stdout).not.toMatch(SGR);
    expect(r.stderr).toBe("");
  });

  it.skipIf(!hasScript)("uses colour on a terminal unless NO_COLOR is set", async () => {
    expect((await reelpressInTty(["status"], stack.env)).screen).not.toMatch(SGR);
    const { NO_COLOR: _, ...colourEnv } = stack.env;
    const coloured = await reelpressInTty(["status"], colourEnv);
    expect(coloured.exitCode).toBe(0);
    expect(coloured.screen).toMatch(SGR);
  });

  it("answers --help, and bad usage or an unreachable store with one sentence", async () => {
    expectHelp(await reelpress(["status", "--help"], { env: stack.env }), "status");
    expectOneLineError(await reelpress(["status", "lib/"], { env: stack.env }), 2, /^status takes no arguments \(got 'lib\/'\); use --prefix/);
    expectOneLineError(await reelpress(["status", "--json=yes"], { env: stack.env }), 2, /--json/);
    expectOneLineError(await reelpress(["status"], { env: { ...stack.env, AWS_ENDPOINT_URL: "http://127.0.0.1:9" } }), 1, /^Cannot reach http:\/\/127\.0\.0\.1:9 /);
    expectOneLineError(await reelpress(["status", "--bucket", "missing-bucket"], { env: stack.env }), 1, /^Bucket 'missing-bucket' does not exist/);
    expectOneLineError(await reelpress(["status"], { env: { ...stack.env, REELPRESS_ENCODE_DLQ: "nope-dlq" } }), 1, /^A reelpress queue .*nope-dlq.* does not exist/);
  });
});
