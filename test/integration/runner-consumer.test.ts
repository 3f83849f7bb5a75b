import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { QueueConsumer, receiveCountOf, type ConsumerOptions } from "../../gpu-runner/consumer.ts";
import { closing, nextOpening, parseHours } from "../../gpu-runner/hours.ts";
import { until } from "../kit/wait.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

describe("QueueConsumer (fauxqs as a real SQS server)", () => {
  let stack: TestStack;
  let n = 0;
  beforeAll(async () => void (stack = await startTestStack()));
  afterAll(() => stack.stop());

  /** A fresh queue per test, with one message on it. */
  const queueWithOne = async (body: string) => {
    const { CreateQueueCommand } = await import("@aws-sdk/client-sqs");
    const { QueueUrl } = await stack.sqs.send(new CreateQueueCommand({ QueueName: `consumer-${++n}` }));
    await stack.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: body }));
    return QueueUrl!;
  };
  /** Receives without keeping: what another consumer would get now (or within `waitSec`). */
  const peek = async (QueueUrl: string, waitSec = 0) =>
    (await stack.sqs.send(new ReceiveMessageCommand({ QueueUrl, WaitTimeSeconds: waitSec, VisibilityTimeout: 0, MessageSystemAttributeNames: ["ApproximateReceiveCount"] }))).Messages ?? [];
  const consumer = (queueUrl: string, handle: ConsumerOptions["handle"], visibilitySec = 3) =>
    new QueueConsumer({ sqs: stack.sqs, queueUrl, concurrency: 2, visibilitySec, retryAfterSec: 0, untilDrained: true, handle });

  it("keeps a message invisible past its visibility timeout while the handler works, then deletes it", async () => {
    const url = await queueWithOne("long job");
    const seenDuringWork: number[] = [];
    const c = consumer(url, async () => {
      for (let i = 0; i < 5; i++) {
        await new Promise((r) => setTimeout(r, 500));
        seenDuringWork.push((await peek(url)).length);
      }
      return { kind: "done" };
    }, 1);
    const done: string[] = [];
    c.on("done", (m) => done.push(m.Body!));
    await c.start().finished();
    // 2.5 s of work against a 1 s timeout: the heartbeat kept it hidden the whole time.
    expect(seenDuringWork).toEqual([0, 0, 0, 0, 0]);
    expect(done).toEqual(["long job"]);
    expect(await peek(url)).toEqual([]);
  });

  it("on stop, aborts the handler and makes the message visible again within a second", async () => {
    const url = await queueWithOne("handed back");
    let aborted = false;
    const c = consumer(url, (_m, signal) => new Promise((_, reject) => signal.addEventListener("abort", () => ((aborted = true), reject(signal.reason)))));
    const released: string[] = [];
    c.on("released", (m) => released.push(m.Body!));
    c.start();
    await until("the handler to start", () => c.active > 0, 10_000, 20);
    await c.stop();
    expect(aborted).toBe(true);
    expect(released).toEqual(["handed back"]);
    // Released with a 1 s visibility. Polled, not one long poll: fauxqs can answer a long poll
    // early and empty on a loaded machine (this failed in CI before the folder store as well).
    const [again] = await until("the released message visible again", async () => {
      const got = await peek(url, 1);
      return got.length > 0 ? got : undefined;
    }, 10_000, 100);
    expect(again.Body).toBe("handed back");
    // 2, or 3 when fauxqs answered the stopped consumer's abandoned long poll with it first: either
    // way the message came back, which is what stop() promises.
    expect(receiveCountOf(again)).toBeGreaterThanOrEqual(2);
  });

  it("retries a failed message and counts the receives", async () => {
    const url = await queueWithOne("flaky");
    const attempts: number[] = [];
    const c = consumer(url, async (m) => {
      attempts.push(receiveCountOf(m));
      if (attempts.length < 3) throw new Error("transient");
      return { kind: "done" };
    });
    const errors: unknown[] = [];
    c.on("handler_error", (_m, err) => errors.push(err));
    await c.start().finished();
    expect(attempts).toEqual([1, 2, 3]);
    expect(errors).toHaveLength(2);
  });

  it("outside its encode window takes nothing; a job running when the window closes finishes (fake clock)", async () => {
    const url = await queueWithOne("late job");
    const hours = parseHours("22-07")!;
    let now = new Date(2026, 2, 10, 6, 59, 50);
    let release = () => {};
    const handled: string[] = [];
    const c = new QueueConsumer({
      sqs: stack.sqs, queueUrl: url, concurrency: 2, visibilitySec: 3, retryAfterSec: 0,
      window: () => ({ pausedMs: nextOpening(hours, now).getTime() - now.getTime(), openMs: closing(hours, now).getTime() - now.getTime() }),
      handle: async (m) => {
        handled.push(m.Body!);
        if (m.Body === "late job") await new Promise<void>((r) => (release = r));
        return { kind: "done" };
      },
    });
    const done: string[] = [];
    c.on("done", (m) => done.push(m.Body!));
    c.start();
    await until("the job inside the window to start", () => handled.length === 1, 10_000, 20);
    // 07:00: the window closes while the job runs; a new message arrives.
    now = new Date(2026, 2, 10, 7, 0, 0);
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: url, MessageBody: "next night" }));
    // Settle: "the closed window takes nothing new" has no event to wait for; 1.5 s lets the loop
    // look at the window (and the new message) more than once before the running job ends.
    await new Promise((r) => setTimeout(r, 1500));
    release();
    await until("the running job to finish", () => done.length === 1, 10_000, 20);
    // Settle, for the same reason: a message taken by mistake would show up within 2.5 s.
    await new Promise((r) => setTimeout(r, 2500));
    expect(handled).toEqual(["late job"]);
    expect(done).toEqual(["late job"]);
    // 22:00: the window opens and the waiting message is taken.
    now = new Date(2026, 2, 10, 22, 0, 0);
    await until("the next job at 22:00", () => done.length === 2, 10_000, 50);
    expect(done).toEqual(["late job", "next night"]);
    await c.stop();
  });
});
