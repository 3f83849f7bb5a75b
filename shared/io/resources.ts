// Creates the bucket and queues reelpress needs, where the store lets us (emulator, MinIO, LocalStack).
import { CreateBucketCommand, HeadBucketCommand } from "@aws-sdk/client-s3";
import { CreateQueueCommand, GetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import type { Clients } from "./clients.ts";

/** Visibility timeouts: longer than each consumer's own limit, so a message is never worked twice at once. */
export const VISIBILITY_SEC = { ingest: 180, plan: 60, encode: 300 } as const;
export const MAX_RECEIVES = 3;
/** Function queues allow a few more tries (as on AWS): a probe can fail for a passing reason. */
export const FUNCTION_MAX_RECEIVES = 5;

export async function ensureResources({ config, s3, sqs }: Clients): Promise<void> {
  try {
    await s3.send(new HeadBucketCommand({ Bucket: config.bucket }));
  } catch {
    await s3.send(new CreateBucketCommand({ Bucket: config.bucket }));
  }
  const { queues } = config;
  const make = (name: string, attributes: Record<string, string>) =>
    sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  /** A queue whose poison messages move to `dlqName` after `maxReceives`, instead of coming back forever. */
  const withDlq = async (name: string, dlqName: string, visibilitySec: number, maxReceives: number) => {
    const dlq = await make(dlqName, { MessageRetentionPeriod: "1209600" });
    const arn = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: dlq.QueueUrl, AttributeNames: ["QueueArn"] }));
    await make(name, {
      VisibilityTimeout: String(visibilitySec),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn.Attributes!.QueueArn, maxReceiveCount: String(maxReceives) }),
    });
  };
  await withDlq(queues.ingest, `${queues.ingest}-dlq`, VISIBILITY_SEC.ingest, FUNCTION_MAX_RECEIVES);
  await withDlq(queues.plan, `${queues.plan}-dlq`, VISIBILITY_SEC.plan, FUNCTION_MAX_RECEIVES);
  await withDlq(queues.encode, queues.encodeDlq, VISIBILITY_SEC.encode, MAX_RECEIVES);
}
