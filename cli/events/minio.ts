// Event source for MinIO (REELPRESS_EVENTS=minio): MinIO's own listen API (`listenBucketNotification`
// in the `minio` package, a long-lived streaming GET) delivers S3 event records as objects are written;
// each is forwarded unchanged to the ingest queue, where LocalStack (or any SQS) holds it for the probe.
// Nothing needs configuring on the MinIO side. A listing at start catches uploads made while down.
import { Client, type NotificationPoller } from "minio";
import type { Clients } from "../../shared/io/clients.ts";
import { s3EndpointOf } from "../../shared/config.ts";
import { UserError, errorMessage } from "../../shared/errors.ts";
import type { Log } from "../../shared/log.ts";
import { decodeEventKey, isRecordedKind, keyKind } from "../../shared/rules/naming.ts";
import { S3EventRecord } from "../../shared/schemas.ts";
import type { EventSource } from "./embedded.ts";
import { type ReconcileTally, startReconcile } from "./reconcile.ts";
import { sendEventRecords } from "../../shared/io/event-records.ts";
import { isRemoval } from "../../shared/steps/probe.ts";

const RETRY_MS = 2000;

/** A MinIO client for the S3 endpoint, with the credentials the S3 client resolved (env, profile, …). */
async function minioClient(clients: Clients): Promise<Client> {
  const endpoint = s3EndpointOf(clients.config);
  if (!endpoint) throw new UserError("REELPRESS_EVENTS=minio needs AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL) pointing at MinIO.");
  const url = new URL(endpoint);
  const creds = await clients.s3.config.credentials();
  return new Client({
    endPoint: url.hostname,
    port: url.port ? Number(url.port) : undefined,
    useSSL: url.protocol === "https:",
    accessKey: creds.accessKeyId,
    secretKey: creds.secretAccessKey,
    sessionToken: creds.sessionToken,
    region: clients.config.region,
    pathStyle: true,
  });
}

/**
 * MinIO's records, kept only for library videos (and removals of kept `_skip` files, whose records go
 * with them): reelpress's own writes never come back as input.
 */
export function libraryRecord(raw: unknown, bucket: string, backupPrefix: string): S3EventRecord | undefined {
  const parsed = S3EventRecord.safeParse(raw);
  if (!parsed.success || parsed.data.s3.bucket.name !== bucket) return undefined;
  const key = decodeEventKey(parsed.data.s3.object.key);
  const wanted = isRemoval(parsed.data.eventName) ? isRecordedKind(key, backupPrefix) : keyKind(key, backupPrefix) === "video";
  return wanted ? parsed.data : undefined;
}

/** Starts listening and returns at once; the listing that catches uploads made while down runs in the background. */
export async function startMinioEvents(clients: Clients, log: Log = () => undefined, tally?: ReconcileTally): Promise<EventSource> {
  const { bucket, prefix, backupPrefix } = clients.config;
  const minio = await minioClient(clients);
  let stopped = false;
  let poller: NotificationPoller | undefined;
  let retry: NodeJS.Timeout | undefined;
  let sending: Promise<void> = Promise.resolve();

  const forward = (raw: unknown) => {
    const record = libraryRecord(raw, bucket, backupPrefix);
    if (!record) return;
    // Sent in arrival order; a failed send is logged and the key left to the next start's listing.
    sending = sending
      .then(() => sendEventRecords(clients, [record]))
      .then(
        () => log(isRemoval(record.eventName) ? "events.object-removed" : "events.object-created", { key: decodeEventKey(record.s3.object.key) }),
        (err) => log("events.send-error", { error: errorMessage(err) }),
      );
  };

  // The poller stops for good on an error (MinIO restarting, network): listen again after a pause.
  const listen = () => {
    if (stopped) return;
    poller = minio.listenBucketNotification(bucket, prefix, "", ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]);
    poller.on("notification", forward);
    poller.on("error", (err) => {
      poller?.stop();
      log("events.listen-error", { error: errorMessage(err) });
      if (!stopped) retry = setTimeout(listen, RETRY_MS);
    });
  };
  listen();

  const reconciling = startReconcile(clients, log, { tally });

  return {
    async stop() {
      stopped = true;
      await reconciling.stop();
      clearTimeout(retry);
      poller?.stop();
      await sending;
    },
  };
}
