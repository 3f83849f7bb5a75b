// Puts S3 event records on the ingest queue, one record per message, exactly as S3 would.
import type { Clients } from "./clients.ts";
import { sendJsonBatch } from "./queues.ts";
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
  await sendJsonBatch(clients, clients.config.queues.ingest, records.map((r) => ({ Records: [r] })));
}
