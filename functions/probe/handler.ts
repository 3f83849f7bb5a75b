// Lambda on the ingest queue: each message carries S3 event records; each record is probed.
import { makeClients, type Clients } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";
import { errorMessage } from "../../shared/errors.ts";
import { ingestEventRecord } from "../../shared/steps/probe.ts";
import { ownDeadLetterQueue } from "../../shared/io/dead-letter.ts";
import { jsonLog, parseBody, processPartialBatch, type SQSHandler, type SQSRecord } from "../../shared/io/lambda-sqs.ts";
import type { Log } from "../../shared/log.ts";
import { FUNCTION_MAX_RECEIVES } from "../../shared/io/resources.ts";
import { type Notifier, notifierFromEnv, settlingDeliveries } from "../../shared/io/notify.ts";
import { S3EventMessage } from "../../shared/schemas.ts";

/** How often the queue has handed this message out, this time included. */
const receiveCount = (m: SQSRecord) => Number(m.attributes.ApproximateReceiveCount ?? "1");

/** Probes run ffprobe and a few ffmpeg seeks each: a handful at once, not the whole batch. */
const CONCURRENCY = 3;

export function makeProbeHandler(clients: () => Clients, log: Log = jsonLog, notifier: Notifier = notifierFromEnv(process.env, log)): SQSHandler {
  return (event) =>
    processPartialBatch(
      event,
      async (message) => {
        const body = parseBody(S3EventMessage, message.body);
        if ("Event" in body) return; // s3:TestEvent, sent once when a notification is configured
        for (const record of body.Records) {
          const outcome = await ingestEventRecord(clients(), record, { lastTry: receiveCount(message) >= FUNCTION_MAX_RECEIVES });
          log(`probe.${outcome.status}`, { key: outcome.key, ...("reason" in outcome ? { reason: outcome.reason } : {}) });
          if (outcome.status === "failed") {
            void notifier.send({ event: "file_failed", bucket: clients().config.bucket, key: outcome.key, reason: outcome.reason, error: outcome.error, stage: "probe" });
          }
        }
      },
      { concurrency: CONCURRENCY, deadLetter: ownDeadLetterQueue(() => clients().sqs), onFailure: (m, err) => log("probe.error", { messageId: m.messageId, error: errorMessage(err) }) },
    );
}

let fromEnv: Clients | undefined;
const notifier = notifierFromEnv(process.env, jsonLog);
export const handler = settlingDeliveries(notifier, makeProbeHandler(() => (fromEnv ??= makeClients(loadConfig())), jsonLog, notifier));
