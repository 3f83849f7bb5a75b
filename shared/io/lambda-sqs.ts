// Lambda's SQS event and partial-batch response, and a small batch processor in the spirit of
// powertools' BatchProcessor: each record is handled on its own, and only the ones that threw are
// reported back, so the event source mapping deletes the rest and redelivers just those.
import type { z } from "zod";
import { mapLimit } from "../pool.ts";
import type { Log } from "../log.ts";

export type SQSRecord = {
  messageId: string;
  receiptHandle: string;
  body: string;
  attributes: Record<string, string>;
  messageAttributes: Record<string, { stringValue?: string; binaryValue?: string; dataType: string }>;
  md5OfBody: string;
  eventSource: "aws:sqs";
  eventSourceARN: string;
  awsRegion: string;
};
export type SQSEvent = { Records: SQSRecord[] };
export type SQSBatchItemFailure = { itemIdentifier: string };
export type SQSBatchResponse = { batchItemFailures: SQSBatchItemFailure[] };
export type SQSHandler = (event: SQSEvent) => Promise<SQSBatchResponse>;

export type BatchOptions = {
  /** Records handled at once; probing is CPU and network bound, so a few, not the whole batch. */
  concurrency?: number;
  onFailure?(record: SQSRecord, err: unknown): void;
  /** Where a record that can never succeed goes at once (its queue's dead-letter queue), with why. */
  deadLetter?(record: SQSRecord, reason: string): Promise<void>;
};

/** A record that can never succeed, however often it is retried (a body that does not parse). */
export class PermanentError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PermanentError";
  }
}

/** The body parsed by `schema`, or a PermanentError saying why not. */
export function parseBody<T>(schema: z.ZodType<T>, body: string): T {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new PermanentError("the message body is not JSON");
  }
  const parsed = schema.safeParse(json);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  throw new PermanentError(`the message body is not what this queue carries (${issue.path.map(String).join(".") || "body"}: ${issue.message})`);
}

/**
 * Runs `handle` on every record and reports the ones that threw as batch item failures. A record that
 * throws a PermanentError is dead-lettered at once instead. When every record failed for a reason that
 * may pass, it throws: Lambda then backs off instead of retrying the batch at full speed.
 */
export async function processPartialBatch(
  event: SQSEvent,
  handle: (record: SQSRecord) => Promise<void>,
  opts: BatchOptions = {},
): Promise<SQSBatchResponse> {
  const failures: SQSBatchItemFailure[] = [];
  let firstError: unknown;
  const fail = (record: SQSRecord, err: unknown) => {
    opts.onFailure?.(record, err);
    firstError ??= err;
    failures.push({ itemIdentifier: record.messageId });
  };
  await mapLimit(event.Records, Math.max(1, opts.concurrency ?? 1), async (record) => {
    try {
      await handle(record);
    } catch (err) {
      if (!(err instanceof PermanentError) || !opts.deadLetter) return fail(record, err);
      try {
        await opts.deadLetter(record, err.message);
        opts.onFailure?.(record, err);
      } catch (dlqErr) {
        fail(record, dlqErr);
      }
    }
  });
  if (event.Records.length > 0 && failures.length === event.Records.length) {
    throw new Error(`all ${failures.length} record(s) of the batch failed; the first: ${firstError instanceof Error ? firstError.message : String(firstError)}`);
  }
  // Report in batch order, as the mapping sees them.
  const order = new Map(event.Records.map((r, i) => [r.messageId, i]));
  failures.sort((a, b) => order.get(a.itemIdentifier)! - order.get(b.itemIdentifier)!);
  return { batchItemFailures: failures };
}

/** Handlers' log in Lambda: JSON lines for CloudWatch (the CLI passes its own logger). */
export const jsonLog: Log = (event, fields) => console.log(JSON.stringify({ event, ...fields }));
