// Creates the bucket and queues reelpress needs, where the store lets us (emulator, MinIO, LocalStack).
import { CreateBucketCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { Clients } from "./clients.ts";

/** Visibility timeouts: longer than each consumer's own limit, so a message is never worked twice at once. */
export const VISIBILITY_SEC = { ingest: 180, plan: 60, encode: 300 } as const;
export const MAX_RECEIVES = 3;

export async function ensureResources({ config, s3, sqs }: Clients): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: config.bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: config.bucket }));
  }
  const { queues } = config;
  const make = (name: string, attributes: Record<string, string>) =>
    sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  await make(queues.ingest, { VisibilityTimeout: String(VISIBILITY_SEC.ingest) });
  await make(queues.plan, { VisibilityTimeout: String(VISIBILITY_SEC.plan) });
  const dlq = await make(queues.encodeDlq, { MessageRetentionPeriod: "1209600" });
  const dlqAttrs = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }),
  );
  await make(queues.encode, {
    VisibilityTimeout: String(VISIBILITY_SEC.encode),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlqAttrs.Attributes!.QueueArn,
      maxReceiveCount: String(MAX_RECEIVES),
    }),
  });
}
