// Dead letters back to the encode queue: each job gets three fresh tries, and its `failed` record
// goes back to `planned` so status shows it as waiting again.
import type { Clients } from "../shared/io/clients.ts";
import { updateRecord } from "../shared/io/manifest.ts";
import { deleteMessage, receiveMessages, sendMessage } from "../shared/io/queues.ts";
import { parseJob } from "./job.ts";
import { workKeys } from "./chunked/plan.ts";
import { parseChunkJob } from "./chunked/chunk.ts";
import { handOverClaim } from "./chunked/work.ts";

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
      const chunk = parseChunkJob(m.Body);
      if (chunk) await handOverClaim(clients, workKeys(chunk.jobId).mergeClaim, chunk.chunk.index, sentId);
      await deleteMessage(sqs, from, m.ReceiptHandle!);
      result.moved++;
      const job = parseJob(m.Body);
      if (typeof job === "string") continue;
      result.keys.push(job.key);
      await updateRecord(clients, job.key, (cur) => (cur && cur.state === "failed" && cur.etag === job.etag ? { ...cur, state: "planned" } : undefined));
    }
  }
}
