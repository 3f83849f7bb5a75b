// The local function host: what Lambda's SQS event source mapping does, for `reelpress dev`.
// It long-polls each queue, hands the batch to the same handler Lambda runs, deletes the messages
// that succeeded and leaves the failed ones to reappear after their visibility timeout.
import type { Clients } from "../shared/io/clients.ts";
import { type Message, deleteMessages, queueAttribute, receiveMessages } from "../shared/io/queues.ts";
import { errorMessage } from "../shared/errors.ts";
import type { SQSBatchResponse, SQSEvent, SQSHandler } from "../shared/io/lambda-sqs.ts";
import type { Log } from "../shared/log.ts";

export type Route = { queue: string; handler: SQSHandler; batchSize?: number };
export type FunctionHost = { stop(): Promise<void> };
export type HostOptions = { waitTimeSec?: number; log?: Log };

export function toSqsEvent(messages: Message[], queueArn: string, region: string): SQSEvent {
  return {
    Records: messages.map((m) => ({
      messageId: m.MessageId!,
      receiptHandle: m.ReceiptHandle!,
      body: m.Body ?? "",
      attributes: m.Attributes ?? {},
      messageAttributes: Object.fromEntries(
        Object.entries(m.MessageAttributes ?? {}).map(([k, v]) => [k, { stringValue: v.StringValue, dataType: v.DataType ?? "String" }]),
      ),
      md5OfBody: m.MD5OfBody ?? "",
      eventSource: "aws:sqs",
      eventSourceARN: queueArn,
      awsRegion: region,
    })),
  };
}

/**
 * The messages to keep, as Lambda reads a partial-batch response: the ones listed, or the whole batch
 * when the handler threw or listed an identifier that is empty or not in the batch.
 */
export function failedMessageIds(event: SQSEvent, response: SQSBatchResponse | undefined | null, threw = false): Set<string> {
  const all = new Set(event.Records.map((r) => r.messageId));
  if (threw) return all;
  const listed = response?.batchItemFailures ?? [];
  if (listed.some((f) => !f.itemIdentifier || !all.has(f.itemIdentifier))) return all;
  return new Set(listed.map((f) => f.itemIdentifier));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function startFunctionHost(clients: Clients, routes: Route[], opts: HostOptions = {}): FunctionHost {
  const { sqs, config } = clients;
  const log = opts.log ?? (() => undefined);
  const abort = new AbortController();

  async function poll(route: Route): Promise<void> {
    const queueUrl = await clients.queueUrl(route.queue);
    const queueArn = (await queueAttribute(sqs, queueUrl, "QueueArn")) ?? route.queue;
    while (!abort.signal.aborted) {
      let messages: Message[];
      try {
        messages = await receiveMessages(sqs, queueUrl, { max: route.batchSize ?? 10, waitSec: opts.waitTimeSec ?? 20, attributes: "All", signal: abort.signal });
      } catch (err) {
        if (abort.signal.aborted) return;
        log("host.receive-error", { queue: route.queue, error: errorMessage(err) });
        await sleep(1000);
        continue;
      }
      if (messages.length === 0) continue;
      const event = toSqsEvent(messages, queueArn, config.region);
      let failed: Set<string>;
      try {
        failed = failedMessageIds(event, await route.handler(event));
      } catch (err) {
        log("host.handler-error", { queue: route.queue, error: errorMessage(err) });
        failed = failedMessageIds(event, undefined, true);
      }
      const done = event.Records.filter((r) => !failed.has(r.messageId));
      if (done.length > 0) {
        await deleteMessages(sqs, queueUrl, done.map((r) => r.receiptHandle))
          .catch((err) => log("host.delete-error", { queue: route.queue, error: errorMessage(err) }));
      }
    }
  }

  const loops = routes.map((route) =>
    poll(route).catch((err) => log("host.stopped", { queue: route.queue, error: errorMessage(err) })),
  );
  return {
    async stop() {
      abort.abort();
      await Promise.all(loops);
    },
  };
}
