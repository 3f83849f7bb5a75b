// Dead letters back to the encode queue: each job gets three fresh tries, and its `failed` record
// goes back to `planned` so status shows it as waiting again.
import type { Clients } from "../shared/io/clients.ts";
import { updateRecord } from "../shared/io/manifest.ts";
import { deleteMessage, receiveMessages, sendMessage } from "../shared/io/queues.ts";
import { workKeys } from "./chunked/plan.ts";
import { handOverClaim } from "./chunked/work.ts";
import { parseBody } from "../shared/io/lambda-sqs.ts";
import { EncodeQueueMessage } from "../shared/schemas.ts";

/** The message in a dead letter's body; undefined for one that never parsed (it moves all the same). */
function messageOf(body: string | undefined): EncodeQueueMessage | undefined {
  try {
    return parseBody(EncodeQueueMessage, body ?? "");
  } catch {
    return undefined;
  }
}

export type RedriveResult = { moved: number; keys: string[] };

export async function redrive(clients: Clients): Promise<RedriveResult> {
  const { sqs, config } = clients;
  const from = await clients.queueUrl(config.queues.encodeDlq);
  const to = await clients.queueUrl(config.queues.encode);
  const result: RedriveResult = { moved: 0, keys: [] };
  for (;;) {
    // Long enough to move the batch; a message not deleted in time just reappears and moves later.
    const messages = await receiveMessages(sqs, from, { max: 10, waitSec: 1, visibilitySec: 60 });
    if (messages.length === 0) return result;
    for (const m of messages) {
      // Sent before it is deleted: a crash in between leaves a duplicate, never a loss (jobs are idempotent).
      const sentId = await sendMessage(sqs, to, m.Body!);
      const received = messageOf(m.Body);
      if (received?.kind === "chunk") await handOverClaim(clients, workKeys(received.job.jobId).mergeClaim, received.job.chunk.index, sentId);
      await deleteMessage(sqs, from, m.ReceiptHandle!);
      result.moved++;
      if (!received) continue;
      const { job } = received;
      result.keys.push(job.key);
      await updateRecord(clients, job.key, (cur) => (cur && cur.state === "failed" && cur.etag === job.etag ? { ...cur, state: "planned" } : undefined));
    }
  }
}
