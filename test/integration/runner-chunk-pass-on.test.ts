// A runner without NVENC given a chunk of a job split for NVENC puts it back on the queue as a new
// message (receives of a hand-back would dead-letter it), and gives up only after about a day.
import { GetQueueAttributesCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PASS_ON_DELAY_SEC, passOn, runChunk } from "../../gpu-runner/chunked/chunk.ts";
import { createJson } from "../../shared/io/objects.ts";
import type { JobContext } from "../../gpu-runner/job.ts";
import { workKeys } from "../../gpu-runner/chunked/plan.ts";
import type { ChunkJob, ChunkPlan } from "../../shared/schemas.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

describe("chunks of an NVENC job on a runner without NVENC", () => {
  let stack: TestStack;
  const jobId = "0123456789abcdef0123";
  const job: ChunkJob = {
    bucket: "reelpress", key: "films/long.mkv", size: 1000, etag: '"e"', jobId, outputKey: "films/long.mp4", downscale: false, mustSave: 0,
    reason: "test", durationSec: 1200, fingerprints: [], plannedAt: new Date().toISOString(), chunk: { index: 0, total: 2 },
  };
  const plan: ChunkPlan = {
    jobId, etag: '"e"', encoder: "nvenc", x264Preset: "medium", width: 1280, height: 720, formatStartSec: 0, createdAt: new Date().toISOString(),
    chunks: [0, 1].map((index) => ({ index, startSec: index * 600, endSec: (index + 1) * 600, frames: 18000, segmentKey: workKeys(jobId).segment(index), sha256: "0".repeat(64) })),
  };
  beforeAll(async () => {
    stack = await startTestStack();
    expect(await createJson(stack, workKeys(jobId).plan, plan)).toBe(true);
  });
  afterAll(() => stack.stop());

  const encodeQueue = () => stack.queueUrl(stack.config.queues.encode);

  it("puts the chunk back as a new, delayed message instead of failing it", async () => {
    const ctx: JobContext = {
      clients: stack, encoder: "x264", x264Preset: "medium", runnerId: "cpu-only", leaseSec: 60, busyRetryMs: 0, log: () => undefined,
      jobDir: () => Promise.reject(new Error("this runner must not encode the chunk")),
    };
    const outcome = await runChunk(ctx, job, "message-1", new AbortController().signal);
    expect(outcome).toMatchObject({ kind: "dropped", reason: expect.stringMatching(/^chunk 0 needs NVENC .*put back on the queue for a runner with NVENC \(1\. time\)$/) });
    const attrs = await stack.sqs.send(new GetQueueAttributesCommand({ QueueUrl: await encodeQueue(), AttributeNames: ["ApproximateNumberOfMessagesDelayed"] }));
    expect(Number(attrs.Attributes?.ApproximateNumberOfMessagesDelayed)).toBe(1);
    expect(PASS_ON_DELAY_SEC).toBeGreaterThan(0);
  });

  it("counts the passes in the message, and gives up after the last one", async () => {
    expect(await passOn(stack, { ...job, passedOn: 287 }, 0)).toBe(288);
    const got = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: await encodeQueue(), WaitTimeSeconds: 2 }));
    expect(JSON.parse(got.Messages![0].Body!)).toMatchObject({ jobId, chunk: { index: 0 }, passedOn: 288 });
    await expect(passOn(stack, { ...job, passedOn: 288 }, 0)).rejects.toThrow("chunk 0 of films/long.mkv needs NVENC, and no runner with NVENC took it in 288 tries");
  });
});
