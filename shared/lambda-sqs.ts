// Lambda's SQS event and partial-batch response, and a small batch processor in the spirit of
// powertools' BatchProcessor: each record is handled on its own, and only the ones that threw are
// reported back, so the event source mapping deletes the rest and redelivers just those.

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
};

/** Runs `handle` on every record and reports the ones that threw as batch item failures. */
export async function processPartialBatch(
  event: SQSEvent,
  handle: (record: SQSRecord) => Promise<void>,
  opts: BatchOptions = {},
): Promise<SQSBatchResponse> {
  const failures: SQSBatchItemFailure[] = [];
  let next = 0;
  const worker = async () => {
    while (next < event.Records.length) {
      const record = event.Records[next++];
      try {
        await handle(record);
      } catch (err) {
        opts.onFailure?.(record, err);
        failures.push({ itemIdentifier: record.messageId });
      }
    }
  };
  const workers = Math.max(1, Math.min(opts.concurrency ?? 1, event.Records.length));
  await Promise.all(Array.from({ length: workers }, worker));
  // Report in batch order, as the mapping sees them.
  const order = new Map(event.Records.map((r, i) => [r.messageId, i]));
  failures.sort((a, b) => order.get(a.itemIdentifier)! - order.get(b.itemIdentifier)!);
  return { batchItemFailures: failures };
}

/** Where handlers report what they did: JSON lines in Lambda (CloudWatch), the CLI's logger locally. */
export type LogFn = (event: string, fields: Record<string, unknown>) => void;
export const jsonLog: LogFn = (event, fields) => console.log(JSON.stringify({ event, ...fields }));
