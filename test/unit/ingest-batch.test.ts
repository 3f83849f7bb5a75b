import { describe, expect, it } from "vitest";
import { failedMessageIds, toSqsEvent } from "../../cli/host.ts";
import { ProbeResult } from "../../shared/schemas.ts";
import { PermanentError, parseBody, processPartialBatch, type SQSEvent } from "../../shared/io/lambda-sqs.ts";

const event = (...ids: string[]): SQSEvent => toSqsEvent(ids.map((id) => ({ MessageId: id, ReceiptHandle: `rh-${id}`, Body: id })), "arn:aws:sqs:eu-west-1:1:q", "eu-west-1");

describe("processPartialBatch", () => {
  it("reports exactly the records that threw, in batch order, and handles the rest", async () => {
    const handled: string[] = [];
    const errors: string[] = [];
    const res = await processPartialBatch(
      event("a", "b", "c", "d"),
      async (r) => {
        await new Promise((ok) => setTimeout(ok, r.body === "b" ? 20 : 1));
        if (r.body === "b" || r.body === "d") throw new Error(`bad ${r.body}`);
        handled.push(r.body);
      },
      { concurrency: 3, onFailure: (r, err) => errors.push(`${r.messageId}:${(err as Error).message}`) },
    );
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: "b" }, { itemIdentifier: "d" }] });
    expect(handled.sort()).toEqual(["a", "c"]);
    expect(errors.sort()).toEqual(["b:bad b", "d:bad d"]);
  });

  it("keeps to its concurrency", async () => {
    let running = 0;
    let peak = 0;
    await processPartialBatch(event("1", "2", "3", "4", "5", "6"), async () => {
      peak = Math.max(peak, ++running);
      await new Promise((ok) => setTimeout(ok, 5));
      running--;
    }, { concurrency: 2 });
    expect(peak).toBe(2);
  });

  it("throws when every record failed for a reason that may pass, so Lambda backs off", async () => {
    await expect(processPartialBatch(event("a", "b"), async (r) => { throw new Error(`store down for ${r.body}`); })).rejects.toThrow(/all 2 record\(s\) of the batch failed; the first: store down for/);
  });

  it("sends a body that can never parse to the dead-letter queue at once, with the reason, and reports it done", async () => {
    const dead: string[] = [];
    const res = await processPartialBatch(
      event("{", "ok", "later"),
      async (r) => {
        if (r.body === "ok") return;
        if (r.body === "later") throw new Error("try again");
        parseBody(ProbeResult, r.body);
      },
      { deadLetter: async (r, reason) => void dead.push(`${r.messageId}: ${reason}`) },
    );
    expect(dead).toEqual(["{: the message body is not JSON"]);
    expect(res).toEqual({ batchItemFailures: [{ itemIdentifier: "later" }] });
    // A dead-letter queue that cannot be reached leaves the record to be retried.
    const kept = await processPartialBatch(event("x", "ok"), async (r) => { if (r.body === "x") throw new PermanentError("bad"); }, { deadLetter: async () => { throw new Error("no dlq"); } });
    expect(kept).toEqual({ batchItemFailures: [{ itemIdentifier: "x" }] });
  });

  it("says which field of a body is wrong", () => {
    expect(() => parseBody(ProbeResult, JSON.stringify({ key: 1 }))).toThrow(/not what this queue carries \(bucket: /);
  });

  it("an empty batch has no failures", async () => {
    expect(await processPartialBatch({ Records: [] }, async () => undefined)).toEqual({ batchItemFailures: [] });
  });
});

describe("failedMessageIds (Lambda's reading of a partial batch response)", () => {
  const batch = event("a", "b", "c");
  it("keeps only the listed messages", () => {
    expect([...failedMessageIds(batch, { batchItemFailures: [{ itemIdentifier: "b" }] })]).toEqual(["b"]);
    expect(failedMessageIds(batch, { batchItemFailures: [] }).size).toBe(0);
    expect(failedMessageIds(batch, undefined).size).toBe(0);
  });
  it("keeps the whole batch when the handler threw or named a message that is not in it", () => {
    expect(failedMessageIds(batch, undefined, true).size).toBe(3);
    expect(failedMessageIds(batch, { batchItemFailures: [{ itemIdentifier: "zzz" }] }).size).toBe(3);
    expect(failedMessageIds(batch, { batchItemFailures: [{ itemIdentifier: "" }] }).size).toBe(3);
  });
  it("builds Lambda-shaped records", () => {
    expect(batch.Records[1]).toMatchObject({ messageId: "b", receiptHandle: "rh-b", body: "b", eventSource: "aws:sqs", eventSourceARN: "arn:aws:sqs:eu-west-1:1:q", awsRegion: "eu-west-1" });
  });
});
