/// <reference path="../.sst/platform/config.d.ts" />
// The library bucket and the queues of the flow, each with its dead-letter queue, plus the S3 → ingest
// queue notifications. Settings come from topology.ts.
import { DLQ_RETENTION_SEC, NOTIFICATION_EVENTS, NOTIFICATION_QUEUE, QUEUES, notificationSuffixes, queueName, type QueueId } from "./topology.ts";

export type Queues = Record<QueueId, { queue: sst.aws.Queue; dlq: sst.aws.Queue }>;

export function libraryBucket() {
  const bucket = new sst.aws.Bucket("Library", { cors: false });
  // Interrupted multipart uploads (upload, runner publish) are billed until aborted.
  new aws.s3.BucketLifecycleConfigurationV2("LibraryLifecycle", {
    bucket: bucket.name,
    rules: [
      { id: "abort-incomplete-multipart", status: "Enabled", filter: {}, abortIncompleteMultipartUpload: { daysAfterInitiation: 7 } },
      // A chunked job's segments and chunks, left behind by a job given up (dead-letter queue) or a removed source.
      { id: "expire-chunked-work", status: "Enabled", filter: { prefix: ".reelpress/work/" }, expiration: { days: 14 } },
    ],
  });
  return bucket;
}

export function flowQueues(): Queues {
  const make = (id: QueueId) => {
    const spec = QUEUES[id];
    const title = id[0].toUpperCase() + id.slice(1);
    const dlq = new sst.aws.Queue(`${title}Dlq`, {
      transform: { queue: { name: queueName($app.name, $app.stage, id, true), messageRetentionSeconds: DLQ_RETENTION_SEC } },
    });
    const queue = new sst.aws.Queue(`${title}Queue`, {
      visibilityTimeout: `${spec.visibilitySec} seconds`,
      dlq: { queue: dlq.arn, retry: spec.maxReceives },
      transform: { queue: { name: queueName($app.name, $app.stage, id) } },
    });
    return { queue, dlq };
  };
  return { ingest: make("ingest"), plan: make("plan"), encode: make("encode") };
}

/**
 * One rule per video suffix to the ingest queue. Built on aws.s3.BucketNotification rather than
 * Bucket.notify, which writes a queue policy per rule that lets any bucket, topic or rule send.
 */
export function libraryNotifications(bucket: sst.aws.Bucket, queues: Queues) {
  const ingest = queues[NOTIFICATION_QUEUE].queue;
  const policy = new aws.sqs.QueuePolicy("IngestFromLibrary", {
    queueUrl: ingest.url,
    policy: $jsonStringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "s3.amazonaws.com" },
          Action: "sqs:SendMessage",
          Resource: ingest.arn,
          Condition: { ArnEquals: { "aws:SourceArn": bucket.arn } },
        },
      ],
    }),
  });
  return new aws.s3.BucketNotification(
    "LibraryToIngest",
    {
      bucket: bucket.name,
      queues: notificationSuffixes().map((suffix) => ({
        id: `ingest${suffix}`,
        queueArn: ingest.arn,
        events: [...NOTIFICATION_EVENTS],
        filterSuffix: suffix,
      })),
    },
    // S3 checks that it may send before it accepts the configuration.
    { dependsOn: [policy] },
  );
}
