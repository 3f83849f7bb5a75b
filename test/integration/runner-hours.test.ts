// REELPRESS_RUNNER_HOURS on a real runner with a fake clock: outside the window it takes nothing and
// says (in its object under .reelpress/runners/, which status reads) when it resumes.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { runnerSettings, startRunner, type Runner } from "../../gpu-runner/runner.ts";
import { gatherStatus } from "../../shared/io/library.ts";
import { listRunners } from "../../shared/io/runners.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { until } from "../kit/wait.ts";

describe("runner with an encode window (fake clock)", () => {
  let stack: TestStack;
  let tmp: string;
  let runner: Runner;
  const events: Array<Record<string, unknown>> = [];
  let now = new Date(2026, 2, 10, 12, 0, 0);

  beforeAll(async () => {
    stack = await startTestStack();
    tmp = await mkdtemp(path.join(os.tmpdir(), "reelpress-hours-"));
    runner = await startRunner(stack, {
      encoder: "x264",
      concurrency: 1,
      settings: runnerSettings({ REELPRESS_RUNNER_VISIBILITY: "3", REELPRESS_X264_PRESET: "ultrafast", REELPRESS_RUNNER_HOURS: "22-07" }),
      log: (event, fields) => void events.push({ event, ...fields }),
      workBase: path.join(tmp, "work"),
      now: () => now,
    });
  });
  afterAll(async () => {
    await runner?.stop();
    await stack?.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  it("at noon takes no job and status says it resumes at 22:00; at 22:00 it takes the job", async () => {
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: await stack.queueUrl("reelpress-encode"), MessageBody: "not a job" }));
    const resumesAt = new Date(2026, 2, 10, 22, 0, 0).toISOString();
    const [paused] = await until("the runner to say it is paused", async () => {
      const r = await listRunners(stack);
      return r[0]?.paused_until && r;
    }, 10_000);
    expect(paused).toMatchObject({ id: runner.id, encoder: "x264", hours: "22-07", paused_until: resumesAt, jobs: [] });
    expect(events).toContainEqual(expect.objectContaining({ event: "runner_paused", resumes_at: resumesAt }));
    // Settle: a paused runner taking the message has no event of its own to wait for; 2 s is two
    // of its looks at the window (once a second), and the message would show up as job_invalid.
    await new Promise((r) => setTimeout(r, 2000));
    expect(events.map((e) => e.event)).not.toContain("job_invalid");
    const { summary } = await gatherStatus(stack);
    expect(summary.queues.encode).toEqual({ visible: 1, in_flight: 0 });
    expect(summary.runners).toEqual([paused]);

    now = new Date(2026, 2, 10, 22, 0, 0);
    await until("the job to be taken once the window opens", () => events.some((e) => e.event === "job_invalid"), 10_000);
    expect(events).toContainEqual(expect.objectContaining({ event: "runner_resumed" }));
    await until("the runner object to drop paused_until", async () => (await listRunners(stack))[0]?.paused_until === undefined, 10_000);
  });

  it("removes its object when it stops", async () => {
    await runner.stop();
    expect(await listRunners(stack)).toEqual([]);
  });
});
