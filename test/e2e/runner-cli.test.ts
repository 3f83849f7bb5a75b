import { DeleteMessageCommand, ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRecord } from "../../shared/io/manifest.ts";
import { headObject } from "../../shared/io/objects.ts";
import { REELPRESS, reelpress } from "../kit/cli.ts";
import { makeVideo, videoFixture } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { planJob } from "../integration/runner-kit.ts";
import { expectHelp, expectOneLineError, hasScript, jsonLines, reelpressInTty } from "./cli-helpers.ts";

describe("reelpress runner and redrive (real CLI, folder store, ffmpeg)", () => {
  let stack: TestStack;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    stack = await startTestStack({ REELPRESS_FINGERPRINTS: "4" });
    env = { ...stack.env, REELPRESS_RUNNER_VISIBILITY: "3", REELPRESS_X264_PRESET: "ultrafast" };
  });
  afterAll(() => stack.stop());

  /** Starts `reelpress runner …` and resolves once its stderr logged `event`. */
  const startRunnerUntil = async (args: string[], event: string, extraEnv: NodeJS.ProcessEnv = {}) => {
    const child = execa(REELPRESS, ["runner", ...args], { env: { ...env, ...extraEnv }, reject: false, all: false });
    let err = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        if (err.includes(`"event":"${event}"`)) resolve();
      });
      void child.then(() => reject(new Error(`runner exited before ${event}:\n${err}`)));
    });
    return { child, stderr: () => err };
  };

  it("--once works the queue to the end and logs JSON lines, with the encoder it chose and why", async () => {
    const job = await planJob(stack, await videoFixture("mkv_h264"), "cli/a.mkv");
    const r = await reelpress(["runner", "--once"], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    const events = jsonLines(r.stderr);
    expect(events[0]).toMatchObject({ event: "runner_started", encoder: "x264", reason: expect.stringMatching(/^NVENC test encode failed/), concurrency: 1 });
    expect(events.find((e) => e.event === "job_compressed")).toMatchObject({ key: "cli/a.mkv", outputKey: job.outputKey });
    expect(events.at(-1)).toMatchObject({ event: "runner_stopped" });
    expect((await headObject(stack, job.outputKey))?.metadata["reelpress-state"]).toBe("compressed_h264_v4");
  });

  it("sends a body that is not a job to the dead-letter queue on its first receive, with the reason", async () => {
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: await stack.queueUrl(stack.config.queues.encode), MessageBody: "{\"key\":1}" }));
    const r = await reelpress(["runner", "--once"], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(jsonLines(r.stderr).filter((e) => e.event === "job_invalid")).toEqual([expect.objectContaining({ attempt: 1, error: expect.stringMatching(/^not an EncodeJob: /) })]);
    const dlq = await stack.queueUrl(stack.config.queues.encodeDlq);
    const dead = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl: dlq, MaxNumberOfMessages: 10, WaitTimeSeconds: 1, MessageAttributeNames: ["All"] }));
    expect(dead.Messages?.map((m) => [m.Body, m.MessageAttributes?.["reelpress-reason"]?.StringValue])).toEqual([['{"key":1}', expect.stringMatching(/^not an EncodeJob: /)]]);
    await stack.sqs.send(new DeleteMessageCommand({ QueueUrl: dlq, ReceiptHandle: dead.Messages![0].ReceiptHandle }));
  });

  it("says what is wrong with its flags in one line", async () => {
    expectHelp(await reelpress(["runner", "--help"], { env }), "runner");
    expectOneLineError(await reelpress(["runner", "--encoder", "qsv"], { env }), 2, /--encoder must be auto, nvenc or x264, not 'qsv'\./);
    expectOneLineError(await reelpress(["runner", "--concurrency", "0"], { env }), 2, /--concurrency must be a whole number from 1 to 64/);
    expectOneLineError(await reelpress(["runner", "--encoder", "nvenc", "--once"], { env }), 1, /^NVENC is not usable here: .+; run with --encoder x264 or auto\.$/);
    expectOneLineError(await reelpress(["runner", "--once"], { env: { ...env, REELPRESS_X264_PRESET: "warp" } }), 1, /^Bad setting REELPRESS_X264_PRESET = "warp": must be an x264 preset/);
  });

  it("on SIGTERM hands the running job back at once and exits 0; a second signal exits at once", async () => {
    // Slow on purpose: a 20 s source with the slowest preset is still encoding when the signal comes.
    const job = await planJob(stack, await makeVideo({ ext: "avi", vcodec: "mpeg4", durationSec: 20 }), "cli/long.avi");
    const slow = { REELPRESS_X264_PRESET: "veryslow" };
    const first = await startRunnerUntil(["--encoder", "x264"], "job_started", slow);
    first.child.kill("SIGTERM");
    const exited = await first.child;
    expect(exited.exitCode).toBe(0);
    expect(jsonLines(first.stderr()).map((e) => e.event).filter((e) => e !== "stale_work_removed")).toEqual(["runner_started", "job_started", "runner_stopping", "job_handed_back", "runner_stopped"]);
    expect((await readRecord(stack, job.key))?.record).toMatchObject({ state: "planned" });
    expect(await headObject(stack, job.outputKey)).toBeUndefined();

    const second = await startRunnerUntil(["--encoder", "x264"], "job_started", slow);
    // Two different signals: the kernel would merge two pending SIGINTs into one.
    second.child.kill("SIGTERM");
    second.child.kill("SIGINT");
    expect((await second.child).exitCode).toBe(130);
    // Nothing was lost: the job is on the queue again (after its visibility timeout at the latest).
    const QueueUrl = await stack.queueUrl(stack.config.queues.encode);
    const back = await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: 5 }));
    expect(JSON.parse(back.Messages![0].Body!)).toMatchObject({ key: job.key });
    await stack.sqs.send(new DeleteMessageCommand({ QueueUrl, ReceiptHandle: back.Messages![0].ReceiptHandle }));
  });

  it.skipIf(!hasScript)("draws a progress bar per job on a terminal", async () => {
    await planJob(stack, await makeVideo({ ext: "avi", vcodec: "mpeg4", durationSec: 8 }), "cli/bar.avi");
    const { exitCode, screen } = await reelpressInTty(["runner", "--once", "--encoder", "x264"], { ...env, REELPRESS_X264_PRESET: "medium" });
    expect(exitCode, screen).toBe(0);
    expect(screen).toMatch(/cli\/bar\.avi \[[█░]{24}\] encode\s+\d+%\s+elapsed \d+:\d\d\s+ETA/);
    expect(screen).toContain("job_compressed");
  });

  it("redrive sends dead letters back to the encode queue", async () => {
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: await stack.queueUrl(stack.config.queues.encodeDlq), MessageBody: "{}" }));
    const r = await reelpress(["redrive"], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toBe("Sent 1 job back to the encode queue.");
    expect((await reelpress(["redrive"], { env })).stdout).toBe("The dead-letter queue is empty: nothing to send back.");
  });
});
