// Creates the bucket and queues reelpress needs, where the store lets us (emulator, MinIO, LocalStack).
import type { Clients } from "./clients.ts";
import { createBucket, headBucket } from "./objects.ts";
import { createQueue, queueAttribute } from "./queues.ts";

/** Visibility timeouts: longer than each consumer's own limit, so a message is never worked twice at once. */
export const VISIBILITY_SEC = { ingest: 180, plan: 60, encode: 300 } as const;
export const MAX_RECEIVES = 3;
/** Function queues allow a few more tries (as on AWS): a probe can fail for a passing reason. */
export const FUNCTION_MAX_RECEIVES = 5;

export async function ensureResources(clients: Clients): Promise<void> {
  const { config, sqs } = clients;
  try {
    await headBucket(clients);
  } catch {
    await createBucket(clients);
  }
  const { queues } = config;
  /** A queue whose poison messages move to `dlqName` after `maxReceives`, instead of coming back forever. */
  const withDlq = async (name: string, dlqName: string, visibilitySec: number, maxReceives: number) => {
    const dlqUrl = await createQueue(sqs, dlqName, { MessageRetentionPeriod: "1209600" });
    const arn = await queueAttribute(sqs, dlqUrl, "QueueArn");
    await createQueue(sqs, name, {
      VisibilityTimeout: String(visibilitySec),
      RedrivePolicy: JSON.stringify({ deadLetterTargetArn: arn!, maxReceiveCount: String(maxReceives) }),
    });
  };
  await withDlq(queues.ingest, `${queues.ingest}-dlq`, VISIBILITY_SEC.ingest, FUNCTION_MAX_RECEIVES);
  await withDlq(queues.plan, `${queues.plan}-dlq`, VISIBILITY_SEC.plan, FUNCTION_MAX_RECEIVES);
  await withDlq(queues.encode, queues.encodeDlq, VISIBILITY_SEC.encode, MAX_RECEIVES);
}
