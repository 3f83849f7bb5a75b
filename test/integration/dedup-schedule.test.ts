import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readLatestReport } from "../../shared/dedup/run.ts";
import { patchRecord } from "../../shared/io/manifest.ts";
import { UserError } from "../../shared/errors.ts";
import { dedupIntervalMs, libraryIdle, startDedupSchedule } from "../../cli/schedule.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { until } from "../kit/wait.ts";

describe("local dedup schedule (reelpress dev)", () => {
  let stack: TestStack;
  beforeAll(async () => void (stack = await startTestStack()));
  afterAll(() => stack.stop());

  it("reads minutes, 0 for off, and refuses anything else in one sentence", () => {
    expect(dedupIntervalMs({})).toBe(60 * 60_000);
    expect(dedupIntervalMs({ REELPRESS_DEDUP_INTERVAL: "0" })).toBe(0);
    expect(dedupIntervalMs({ REELPRESS_DEDUP_INTERVAL: "0.5" })).toBe(30_000);
    expect(() => dedupIntervalMs({ REELPRESS_DEDUP_INTERVAL: "soon" })).toThrow(UserError);
    expect(() => dedupIntervalMs({ REELPRESS_DEDUP_INTERVAL: "-1" })).toThrow(/REELPRESS_DEDUP_INTERVAL/);
  });

  it("builds and stores the report with the dedup function's own handler, again and again", async () => {
    await patchRecord(stack, "a.mp4", { size: 10, etag: "e", state: "compressed" });
    expect(await readLatestReport(stack)).toBeUndefined();
    const logged: string[] = [];
    const schedule = startDedupSchedule(stack, 200, (event) => logged.push(event));
    await until("two scheduled reports", () => logged.filter((e) => e === "dedup.report").length >= 2, 20_000);
    await schedule.stop();
    expect((await readLatestReport(stack))?.summary.total_groups).toBe(0);
    const after = logged.length;
    // Settle: after stop() nothing may be logged; a timer left running at 200 ms would log within 500 ms.
    await new Promise((r) => setTimeout(r, 500));
    expect(logged.length).toBe(after);
  });

  it("in dev, builds one report by itself once the library goes idle after work, not before", async () => {
    const encode = await stack.queueUrl("reelpress-encode");
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: encode, MessageBody: "{}" }));
    const logged: string[] = [];
    const schedule = startDedupSchedule(stack, 3_600_000, (event) => logged.push(event), { store: stack.embedded.store, idleCheckMs: 50 });
    await patchRecord(stack, "b.mp4", { size: 10, etag: "f", state: "compressed" });
    // Several idle checks see the queued message; only its end lets the report be built.
    const start = Date.now();
    await until("a few idle checks", async () => !(await libraryIdle(stack)) && Date.now() - start > 300, 10_000, 50);
    const { Messages } = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: encode, MaxNumberOfMessages: 1 }));
    const drained = new Date();
    await stack.sqs.send(new DeleteMessageCommand({ QueueUrl: encode, ReceiptHandle: Messages![0].ReceiptHandle }));
    await until("the idle report", () => logged.includes("dedup.idle-report"), 20_000);
    await schedule.stop();
    const report = await readLatestReport(stack);
    expect(Date.parse(report!.summary.scan_time)).toBeGreaterThanOrEqual(drained.getTime());
    expect(logged.filter((e) => e === "dedup.idle-report")).toHaveLength(1);
  });
});
