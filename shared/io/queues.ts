// The one door to the queues: every SQS call of reelpress goes through here.
import {
  ChangeMessageVisibilityCommand, CreateQueueCommand, DeleteMessageBatchCommand, DeleteMessageCommand, GetQueueAttributesCommand,
  GetQueueUrlCommand, ReceiveMessageCommand, SendMessageBatchCommand, SendMessageCommand, type Message, type QueueAttributeName, type SQSClient,
} from "@aws-sdk/client-sqs";
import type { QueueDepth } from "../rules/status.ts";

export type { Message };

/** What sending by queue name needs (Clients has it; typed here so clients.ts can use this module). */
type Queues = { sqs: SQSClient; queueUrl(name: string): Promise<string> };

/** `owner`: the account that owns the queue, when it is not the caller's. */
export async function lookupQueueUrl(sqs: SQSClient, name: string, owner?: string): Promise<string> {
  return (await sqs.send(new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: owner }))).QueueUrl!;
}

/** Creates the queue (or finds it, with the same attributes); returns its URL. */
export async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>): Promise<string> {
  return (await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }))).QueueUrl!;
}

export async function queueAttribute(sqs: SQSClient, queueUrl: string, name: QueueAttributeName, opts: { signal?: AbortSignal } = {}): Promise<string | undefined> {
  const r = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [name] }), { abortSignal: opts.signal });
  return r.Attributes?.[name];
}

export async function queueDepth(sqs: SQSClient, queueUrl: string): Promise<QueueDepth> {
  const r = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }));
  const a = r.Attributes ?? {};
  return { visible: Number(a.ApproximateNumberOfMessages ?? 0), in_flight: Number(a.ApproximateNumberOfMessagesNotVisible ?? 0) };
}

export type SendOptions = { delaySec?: number; attributes?: Record<string, string> };

/** Sends `body` as it is; returns the new message's id. */
export async function sendMessage(sqs: SQSClient, queueUrl: string, body: string, opts: SendOptions = {}): Promise<string> {
  const attributes = opts.attributes && Object.fromEntries(Object.entries(opts.attributes).map(([k, v]) => [k, { DataType: "String", StringValue: v }]));
  const r = await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: opts.delaySec, MessageAttributes: attributes }));
  return r.MessageId!;
}

/** Sends `value` as JSON to the queue named `queue`. */
export async function sendJson(clients: Queues, queue: string, value: unknown, opts: SendOptions = {}): Promise<string> {
  return sendMessage(clients.sqs, await clients.queueUrl(queue), JSON.stringify(value), opts);
}

/** Sends each value as JSON, ten (SQS's most) per request; throws when the queue refuses any. */
export async function sendJsonBatch(clients: Queues, queue: string, values: unknown[]): Promise<void> {
  const QueueUrl = await clients.queueUrl(queue);
  for (let i = 0; i < values.length; i += 10) {
    const Entries = values.slice(i, i + 10).map((v, j) => ({ Id: String(j), MessageBody: JSON.stringify(v) }));
    const r = await clients.sqs.send(new SendMessageBatchCommand({ QueueUrl, Entries }));
    if (r.Failed?.length) throw new Error(`queue ${queue} refused ${r.Failed.length} message(s): ${r.Failed[0].Message ?? r.Failed[0].Code}`);
  }
}

export type ReceiveOptions = {
  max: number;
  waitSec: number;
  /** How long what is received stays invisible; the queue's own setting when absent. */
  visibilitySec?: number;
  /** The system attributes wanted ("ApproximateReceiveCount", or "All" with the message attributes too). */
  attributes?: "ApproximateReceiveCount" | "All";
  signal?: AbortSignal;
};

export async function receiveMessages(sqs: SQSClient, queueUrl: string, opts: ReceiveOptions): Promise<Message[]> {
  const r = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: opts.max,
      WaitTimeSeconds: opts.waitSec,
      VisibilityTimeout: opts.visibilitySec,
      MessageSystemAttributeNames: opts.attributes && [opts.attributes],
      MessageAttributeNames: opts.attributes === "All" ? ["All"] : undefined,
    }),
    { abortSignal: opts.signal },
  );
  return r.Messages ?? [];
}

export async function deleteMessage(sqs: SQSClient, queueUrl: string, receiptHandle: string): Promise<void> {
  await sqs.send(new DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
}

export async function deleteMessages(sqs: SQSClient, queueUrl: string, receiptHandles: string[]): Promise<void> {
  await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: receiptHandles.map((h, i) => ({ Id: String(i), ReceiptHandle: h })) }));
}

/** The message becomes visible again after `seconds` (a heartbeat, a hand-back, a retry). */
export async function changeVisibility(sqs: SQSClient, queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
  await sqs.send(new ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: Math.round(seconds) }));
}
