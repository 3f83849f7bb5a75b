// A message that can never succeed (its body does not parse) goes to the dead-letter queue on its
// first receive, with the reason, instead of failing once per receive until the queue gives up.
import type { SQSClient } from "@aws-sdk/client-sqs";
import { lookupQueueUrl, queueAttribute, sendMessage } from "./queues.ts";

/** The message attribute that says why a message was dead-lettered at once. */
export const DEAD_LETTER_REASON = "reelpress-reason";

export async function sendToDeadLetter(sqs: SQSClient, dlqUrl: string, body: string, reason: string): Promise<void> {
  await sendMessage(sqs, dlqUrl, body, { attributes: { [DEAD_LETTER_REASON]: reason.slice(0, 1000) || "unknown" } });
}

/** `arn:aws:sqs:region:account:name` → its parts. */
function queueArnParts(arn: string): { account: string; name: string } {
  const [, , , , account, name] = arn.split(":");
  if (!name) throw new Error(`${arn} is not an SQS queue ARN`);
  return { account, name };
}

const byArn = new Map<string, Promise<string>>();

/** The URL of the dead-letter queue in the redrive policy of the queue with this ARN (looked up once). */
export function deadLetterUrlOf(sqs: SQSClient, queueArn: string): Promise<string> {
  let url = byArn.get(queueArn);
  if (!url) {
    url = (async () => {
      const queue = queueArnParts(queueArn);
      const queueUrl = await lookupQueueUrl(sqs, queue.name, queue.account);
      const target = JSON.parse((await queueAttribute(sqs, queueUrl, "RedrivePolicy")) ?? "{}").deadLetterTargetArn as string | undefined;
      if (!target) throw new Error(`queue ${queue.name} has no dead-letter queue`);
      const dlq = queueArnParts(target);
      return lookupQueueUrl(sqs, dlq.name, dlq.account);
    })();
    url.catch(() => byArn.delete(queueArn));
    byArn.set(queueArn, url);
  }
  return url;
}

/** For a Lambda consumer's batch: the record goes to the dead-letter queue of the queue it came from. */
export function ownDeadLetterQueue(sqs: () => SQSClient) {
  return async (record: { eventSourceARN: string; body: string }, reason: string): Promise<void> => {
    await sendToDeadLetter(sqs(), await deadLetterUrlOf(sqs(), record.eventSourceARN), record.body, reason);
  };
}
