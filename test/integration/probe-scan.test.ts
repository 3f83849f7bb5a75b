import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFunctionHost } from "../../cli/host.ts";
import { makeProbeHandler } from "../../functions/probe/handler.ts";
import { makeStrategyHandler } from "../../functions/strategy/handler.ts";
import { readRecord } from "../../shared/io/manifest.ts";
import { decodeEventKey } from "../../shared/rules/naming.ts";
import { headObject } from "../../shared/io/objects.ts";
import { reelpress } from "../kit/cli.ts";
import { videoFixture } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { until } from "../kit/wait.ts";

describe("reelpress scan (real CLI against the folder store)", () => {
  let stack: TestStack;
  const sizes = new Map<string, number>();
  beforeAll(async () => {
    stack = await startTestStack({ REELPRESS_FINGERPRINTS: "4" });
    const files: Array<[string, string]> = [
      ["lib/movie.avi", await videoFixture("avi_mpeg4")],
      ["lib/low.mp4", await videoFixture("mp4_h264_300k")],
      ["lib/deep/hevc.mp4", await videoFixture("mp4_hevc8")],
      ["lib/phone.MOV", await videoFixture("mov_h264")],
      ["lib/done_skip.mp4", await videoFixture("mp4_h264_300k")],
      ["lib/notes.txt", await videoFixture("mkv_h264")],
      ["elsewhere/outside.mkv", await videoFixture("mkv_h264")],
    ];
    for (const [key, file] of files) {
      const { size } = await stat(file);
      sizes.set(key, size);
      await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: createReadStream(file), ContentLength: size }));
    }
  });
  afterAll(() => stack.stop());

  const byDescendingSize = (keys: string[]) => [...keys].sort((a, b) => sizes.get(b)! - sizes.get(a)!);
  const LIBRARY = ["lib/movie.avi", "lib/low.mp4", "lib/deep/hevc.mp4", "lib/phone.MOV"];

  async function drain(queue: string): Promise<Array<Record<string, any>>> {
    const url = await stack.queueUrl(queue);
    const bodies = [];
    for (;;) {
      const r = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
      if (!r.Messages?.length) return bodies;
      bodies.push(...r.Messages.map((m) => JSON.parse(m.Body!)));
      await stack.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: r.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    }
  }

  it("--dry-run prints every decision and its reason, largest first, and touches nothing", async () => {
    const r = await reelpress(["scan", "--dry-run", "--prefix", "lib/"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    const lines = r.stdout.split("\n").filter((l) => /^(encode|skip|ignore|failed) /.test(l));
    expect(lines.map((l) => l.split(/\s{2,}/)[2])).toEqual(byDescendingSize(LIBRARY));
    expect(r.stdout).toMatch(/^skip .*lib\/low\.mp4 +MP4 H\.264 at 0\.\d\d Mbit\/s, below 0\.50 Mbit\/s: skip$/m);
    expect(r.stdout).toMatch(/^encode .*lib\/phone\.MOV +not MP4 \(\.mov\), below 4K: H\.264 MP4$/m);
    expect(r.stdout).toMatch(/^encode .*lib\/deep\/hevc\.mp4 +MP4 HEVC: H\.264 for compatibility$/m);
    expect(r.stdout).not.toContain("outside.mkv");
    expect(r.stdout).not.toContain("done_skip");
    expect(await headObject(stack, "lib/low.mp4")).toBeDefined();
    expect(await headObject(stack, "lib/low_skip.mp4")).toBeUndefined();
    expect(await drain("reelpress-encode")).toEqual([]);
    expect(await drain("reelpress-ingest")).toEqual([]);
    expect((await readRecord(stack, "lib/low.mp4"))?.record).toMatchObject({ state: "probed", decision: { action: "skip" } });
  });

  it("queues the largest --batch N, and never plans an object twice while its job is pending", async () => {
    const first = await reelpress(["scan", "--prefix", "lib/", "--batch", "2"], { env: stack.env });
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout).toContain("Queued 2 video(s) under lib/");
    expect(first.stdout).toContain("2 smaller video(s) left for the next scan");
    const queued = byDescendingSize(LIBRARY).slice(0, 2);
    const events = await drain("reelpress-ingest");
    expect(events.map((e) => decodeEventKey(e.Records[0].s3.object.key))).toEqual(queued);

    // Put them back and let the real handlers plan them.
    const again = await reelpress(["scan", "--prefix", "lib/", "--batch", "2"], { env: stack.env });
    expect(again.exitCode).toBe(0);
    const host = startFunctionHost(stack, [
      { queue: "reelpress-ingest", handler: makeProbeHandler(() => stack, () => undefined) },
      { queue: "reelpress-plan", handler: makeStrategyHandler(() => stack, () => undefined) },
    ], { waitTimeSec: 1 });
    try {
      for (const key of queued) await until(`${key} to be planned`, async () => (await readRecord(stack, key))?.record.state === "planned", 30_000, 200);
      const rest = await reelpress(["scan", "--prefix", "lib/"], { env: stack.env });
      expect(rest.exitCode, rest.stderr).toBe(0);
      expect(rest.stdout).toContain("Queued 2 video(s)");
      expect(rest.stdout).toContain("2 video(s) left alone: already planned");
      for (const key of queued) expect(rest.stdout).not.toContain(key);
      // Every video of the rest must be planned (or skipped) before the host stops, whichever finishes first.
      const others = LIBRARY.filter((k) => !queued.includes(k) && k !== "lib/low.mp4");
      const restPlanned = async () => (await Promise.all(others.map(async (k) => (await readRecord(stack, k))?.record.state === "planned"))).every(Boolean);
      await until("the rest to be planned and lib/low.mp4 skipped", async () => Boolean(await headObject(stack, "lib/low_skip.mp4")) && (await restPlanned()), 30_000, 200);
    } finally {
      await host.stop();
    }
    const jobs = await drain("reelpress-encode");
    expect(jobs.map((j) => j.key).sort()).toEqual(["lib/deep/hevc.mp4", "lib/movie.avi", "lib/phone.MOV"]);
  });

  it("rejects a bad --batch with exit status 2", async () => {
    const r = await reelpress(["scan", "--batch", "0"], { env: stack.env });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe("--batch must be a whole number of at least 1, not '0'.");
  });
});
