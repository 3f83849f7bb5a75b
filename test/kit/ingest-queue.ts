// What the event sources put on the ingest queue, as tests read it back.
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import type { Clients } from "../../shared/io/clients.ts";
import { decodeEventKey } from "../../shared/rules/naming.ts";
import { S3EventMessage } from "../../shared/schemas.ts";

/** Keys of the S3 event records waiting on the ingest queue, sorted, taken off it. */
export async function takeIngestKeys(clients: Clients): Promise<string[]> {
  const url = await clients.queueUrl(clients.config.queues.ingest);
  const keys: string[] = [];
  for (;;) {
    const r = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10 }));
    if (!r.Messages?.length) return keys.sort();
    for (const m of r.Messages) {
      const body = S3EventMessage.parse(JSON.parse(m.Body!));
      if (!("Event" in body)) keys.push(...body.Records.map((rec) => decodeEventKey(rec.s3.object.key)));
    }
    await clients.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: r.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
  }
}
