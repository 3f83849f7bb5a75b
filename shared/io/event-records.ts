// Puts S3 event records on the ingest queue, one record per message, exactly as S3 would.
import { SendMessageBatchCommand } from "@aws-sdk/client-sqs";
import type { Clients } from "./clients.ts";
import type { S3EventRecord } from "../schemas.ts";

/** S3 URL-encodes keys in events, "+" for space, "/" kept; decodeEventKey undoes it. */
export function encodeEventKey(key: string): string {
  return encodeURIComponent(key).replace(/%2F/g, "/").replace(/%20/g, "+");
}

export type CreatedObject = { key: string; size?: number; etag?: string };

export function objectCreatedRecord(bucket: string, obj: CreatedObject, eventName = "ObjectCreated:Put"): S3EventRecord {
  return {
    eventSource: "reelpress",
    eventName,
    eventTime: new Date().toISOString(),
    s3: { bucket: { name: bucket }, object: { key: encodeEventKey(obj.key), size: obj.size, eTag: obj.etag?.replace(/"/g, "") } },
  };
}

export async function sendEventRecords(clients: Clients, records: S3EventRecord[]): Promise<void> {
  if (records.length === 0) return;
  const queueUrl = await clients.queueUrl(clients.config.queues.ingest);
  for (let i = 0; i < records.length; i += 10) {
    const entries = records.slice(i, i + 10).map((r, j) => ({ Id: String(j), MessageBody: JSON.stringify({ Records: [r] }) }));
    const res = await clients.sqs.send(new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }));
    if (res.Failed?.length) throw new Error(`the ingest queue refused ${res.Failed.length} event(s): ${res.Failed[0].Message}`);
  }
}
