// The AWS deployment as plain data: infra/*.ts turns it into SST components, and
// test/unit/infra-topology.test.ts checks it, so a wrong wire fails a test before any deploy.
// Pure: no SST globals, no AWS calls; safe to import from Node and from sst.config.ts.
import { INDEX_CHANGED_PREFIX, INDEX_PREFIX, MANIFEST_PREFIX, PREVIEWS_PREFIX, QUEUED_PREFIX, REPORTS_PREFIX, RUNNERS_PREFIX, SCAN_PROGRESS_KEY, SUMMARY_PREFIX, SUMMARY_STALE_KEY, VIDEO_EXTENSIONS } from "../shared/rules/naming.ts";
import { checkNotifyUrl } from "../shared/io/notify.ts";
import { badSetting, enumSetting } from "../shared/settings.ts";

export type QueueId = "ingest" | "plan" | "encode";
export type FunctionId = "probe" | "strategy" | "dedup" | "dashboard";

/** Where a grant applies: the bucket itself (listing), objects under a prefix ("" = all), or a queue. */
export type Target =
  | { kind: "bucket" }
  | { kind: "objects"; prefix: string }
  | { kind: "queue"; queue: QueueId }
  | { kind: "dlq"; queue: QueueId };

/** An Allow, or with `effect: "Deny"` a refusal no Allow can override (IAM evaluates Deny first). */
export type Grant = { actions: readonly string[]; on: readonly Target[]; effect?: "Deny" };

export type QueueSpec = {
  /** Who receives from it: a Lambda (through an event source mapping) or the runner hosts. */
  consumer: FunctionId | "runner";
  visibilitySec: number;
  /** Receives before a message moves to the queue's dead-letter queue. */
  maxReceives: number;
};

export type FunctionSpec = {
  handler: string;
  timeoutSec: number;
  memoryMb: number;
  /** Needs ffmpeg + ffprobe (from a layer, see ffmpegSource). */
  ffmpeg: boolean;
  trigger:
    | { kind: "queue"; queue: QueueId; batchSize: number; batchWindowSec: number; partialResponses: true }
    | { kind: "schedule+url" }
    | { kind: "url"; auth: "iam" };
  /** Repository files it reads at run time, copied into its package at the same path. */
  files: readonly string[];
  /** Everything the function may do beyond what its trigger's mapping needs (SST adds that). */
  grants: readonly Grant[];
};

const ALL_OBJECTS: Target = { kind: "objects", prefix: "" };
const BUCKET: Target = { kind: "bucket" };

/** Reading objects (HeadObject, GET, presigned GETs signed by this role). */
const READ = ["s3:GetObject"] as const;
/** CopyObject copies tags by default, which needs both tagging actions; uploads may be multipart. */
const WRITE_AND_MOVE = [
  "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
  "s3:GetObjectTagging", "s3:PutObjectTagging",
] as const;
/** ListBucket turns a HeadObject on a missing key into 404 instead of 403, and lets readers page. */
const LIST = ["s3:ListBucket"] as const;
/** Sending needs the URL first: clients look queues up by name (GetQueueUrl). */
const SEND = ["sqs:SendMessage", "sqs:GetQueueUrl"] as const;
const CONSUME = [
  "sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:ChangeMessageVisibility",
  "sqs:GetQueueUrl", "sqs:GetQueueAttributes",
] as const;

/** A body that can never parse goes to its queue's dead-letter queue at once, found from the redrive policy. */
const DEAD_LETTER_AT_ONCE = (queue: QueueId): Grant[] => [
  { actions: ["sqs:GetQueueUrl", "sqs:GetQueueAttributes"], on: [{ kind: "queue", queue }] },
  { actions: SEND, on: [{ kind: "dlq", queue }] },
];

export const FUNCTIONS: Record<FunctionId, FunctionSpec> = {
  probe: {
    handler: "functions/probe/handler.handler",
    // Each probe is ffprobe plus a few seek-sampled frames, each step bounded by REELPRESS_PROBE_TIMEOUT.
    timeoutSec: 300,
    // Lambda CPU scales with memory; ffmpeg decoding a handful of frames wants about one vCPU.
    memoryMb: 1769,
    ffmpeg: true,
    // Three records: what the handler probes at once, so a batch is one round.
    trigger: { kind: "queue", queue: "ingest", batchSize: 3, batchWindowSec: 5, partialResponses: true },
    files: [],
    grants: [
      { actions: LIST, on: [BUCKET] },
      { actions: READ, on: [ALL_OBJECTS] },
      // Each record write also adds its change to the library summary.
      { actions: ["s3:PutObject"], on: [{ kind: "objects", prefix: MANIFEST_PREFIX }, { kind: "objects", prefix: SUMMARY_PREFIX }] },
      // The queued mark of a version sent by `reelpress scan` goes once the version is recorded; the
      // record of a removed video goes once a HEAD confirms the object is gone.
      { actions: ["s3:DeleteObject"], on: [{ kind: "objects", prefix: QUEUED_PREFIX }, { kind: "objects", prefix: MANIFEST_PREFIX }] },
      { actions: SEND, on: [{ kind: "queue", queue: "plan" }] },
      ...DEAD_LETTER_AT_ONCE("ingest"),
    ],
  },
  strategy: {
    handler: "functions/strategy/handler.handler",
    // Skips rename in place (server-side copy, verify, delete); a multi-GB copy takes a while.
    timeoutSec: 300,
    memoryMb: 512,
    ffmpeg: false,
    trigger: { kind: "queue", queue: "plan", batchSize: 10, batchWindowSec: 0, partialResponses: true },
    files: [],
    grants: [
      { actions: LIST, on: [BUCKET] },
      { actions: WRITE_AND_MOVE, on: [ALL_OBJECTS] },
      { actions: SEND, on: [{ kind: "queue", queue: "encode" }] },
      ...DEAD_LETTER_AT_ONCE("plan"),
    ],
  },
  dedup: {
    handler: "functions/dedup/handler.handler",
    timeoutSec: 900,
    memoryMb: 2048,
    ffmpeg: false,
    // Schedule and URL auth are deploy options (deployOptions): daily, IAM by default.
    trigger: { kind: "schedule+url" },
    files: [],
    grants: [
      { actions: LIST, on: [BUCKET] },
      // Hashes library objects only where sizes collide; never changes them.
      { actions: READ, on: [ALL_OBJECTS] },
      // Computed hashes go back into the manifest (and so the summary); reports are its output; it
      // reads the records through the index, whose changed shards it writes back.
      { actions: ["s3:PutObject"], on: [MANIFEST_PREFIX, SUMMARY_PREFIX, INDEX_PREFIX, REPORTS_PREFIX].map((prefix): Target => ({ kind: "objects", prefix })) },
      // The writers' change marks, once their changes are in the index.
      { actions: ["s3:DeleteObject"], on: [{ kind: "objects", prefix: INDEX_CHANGED_PREFIX }] },
    ],
  },
  dashboard: {
    handler: "functions/dashboard/handler.handler",
    // A page load reads the library summary (as `status` does); building it once for a library made
    // before it existed reads every record.
    timeoutSec: 120,
    memoryMb: 1024,
    ffmpeg: false,
    // Always IAM: the page names every file in the library.
    trigger: { kind: "url", auth: "iam" },
    files: ["shared/dashboard/page.html"],
    // What `status` reads, plus the latest report and its previews; never a library object. It writes
    // only the summary and index that `status` builds once on a library made before they existed.
    grants: [
      { actions: LIST, on: [BUCKET] },
      {
        actions: READ,
        on: [MANIFEST_PREFIX, SUMMARY_PREFIX, INDEX_PREFIX, REPORTS_PREFIX, PREVIEWS_PREFIX, RUNNERS_PREFIX, SCAN_PROGRESS_KEY].map((prefix): Target => ({ kind: "objects", prefix })),
      },
      { actions: ["s3:PutObject"], on: [SUMMARY_PREFIX, INDEX_PREFIX].map((prefix): Target => ({ kind: "objects", prefix })) },
      { actions: ["s3:DeleteObject"], on: [SUMMARY_STALE_KEY, INDEX_CHANGED_PREFIX].map((prefix): Target => ({ kind: "objects", prefix })) },
      {
        actions: ["sqs:GetQueueUrl", "sqs:GetQueueAttributes"],
        on: [{ kind: "queue", queue: "ingest" }, { kind: "queue", queue: "plan" }, { kind: "queue", queue: "encode" }, { kind: "dlq", queue: "encode" }],
      },
    ],
  },
};

/**
 * Lambda consumers: visibility at least 6× the function timeout (AWS's advice for event source
 * mappings, so throttled retries do not redeliver a message still being worked) and at least 5
 * receives before the DLQ. The encode queue's consumer is the runner, which extends visibility
 * by heartbeat; 300 s and 3 receives match shared/io/resources.ts, what the runner and `dev` use.
 */
export const QUEUES: Record<QueueId, QueueSpec> = {
  ingest: { consumer: "probe", visibilitySec: 6 * FUNCTIONS.probe.timeoutSec, maxReceives: 5 },
  plan: { consumer: "strategy", visibilitySec: 6 * FUNCTIONS.strategy.timeoutSec, maxReceives: 5 },
  encode: { consumer: "runner", visibilitySec: 300, maxReceives: 3 },
};

/** Dead letters are kept for the longest SQS allows, 14 days, so `reelpress redrive` has time. */
export const DLQ_RETENTION_SEC = 14 * 24 * 3600;

/** What a runner host does: take encode jobs, read sources, write outputs, backups, previews, manifest. */
export const RUNNER_GRANTS: readonly Grant[] = [
  { actions: CONSUME, on: [{ kind: "queue", queue: "encode" }] },
  // A source that changed since it was planned goes back through the probe.
  { actions: SEND, on: [{ kind: "queue", queue: "ingest" }] },
  // `reelpress doctor`, the host's pre-flight check, looks every queue up.
  { actions: ["sqs:GetQueueUrl"], on: [{ kind: "queue", queue: "plan" }] },
  // A job body that can never parse goes to the dead-letter queue at once.
  { actions: SEND, on: [{ kind: "dlq", queue: "encode" }] },
  // "Nothing left to do" (REELPRESS_NOTIFY_URL) means no message waits in any queue of the flow.
  { actions: ["sqs:GetQueueAttributes"], on: [{ kind: "queue", queue: "ingest" }, { kind: "queue", queue: "plan" }] },
  { actions: LIST, on: [BUCKET] },
  { actions: WRITE_AND_MOVE, on: [ALL_OBJECTS] },
];

/**
 * What people and tools that upload may do: write and read library keys, never the pipeline's own.
 * `.reelpress/` (manifest, reports) and the backup prefix are written only by the pipeline, so an
 * uploader cannot forge a record, a report or a backup.
 */
export function uploaderGrants(backupPrefix: string): Grant[] {
  const pipelineOwn: Target[] = [{ kind: "objects", prefix: ".reelpress/" }, { kind: "objects", prefix: backupPrefix }];
  return [
    { actions: LIST, on: [BUCKET] },
    { actions: ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload", "s3:ListMultipartUploadParts"], on: [ALL_OBJECTS] },
    { actions: ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"], on: pipelineOwn, effect: "Deny" },
  ];
}

/** S3 matches suffixes case-sensitively: one rule per extension in lower and in upper case. */
export function notificationSuffixes(): string[] {
  return VIDEO_EXTENSIONS.flatMap((ext) => [`.${ext}`, `.${ext.toUpperCase()}`]);
}

// Removals too: a deleted video's record goes with it (the probe checks the object is really gone).
export const NOTIFICATION_EVENTS = ["s3:ObjectCreated:*", "s3:ObjectRemoved:*"] as const;
/** Where the bucket's notifications go: the start of the flow. */
export const NOTIFICATION_QUEUE: QueueId = "ingest";

/** `reelpress-prod-ingest`: a stage never shares a queue with another. */
export function queueName(app: string, stage: string, queue: QueueId, dlq = false): string {
  const name = `${app}-${stage}-${queue}${dlq ? "-dlq" : ""}`;
  if (!/^[A-Za-z0-9_-]{1,80}$/.test(name)) {
    throw new Error(`Queue name "${name}" is not valid for SQS (1-80 letters, digits, '-' or '_'): pick a shorter stage name.`);
  }
  return name;
}

/** The environment every function and runner reads (shared/config.ts, shared/io/notify.ts), for one stage. */
export function reelpressEnv(app: string, stage: string, bucket: string, options: Pick<DeployOptions, "backupPrefix" | "notifyUrl">): Record<string, string> {
  return {
    REELPRESS_BUCKET: bucket,
    REELPRESS_BACKUP_PREFIX: options.backupPrefix,
    REELPRESS_INGEST_QUEUE: queueName(app, stage, "ingest"),
    REELPRESS_PLAN_QUEUE: queueName(app, stage, "plan"),
    REELPRESS_ENCODE_QUEUE: queueName(app, stage, "encode"),
    REELPRESS_ENCODE_DLQ: queueName(app, stage, "encode", true),
    ...(options.notifyUrl ? { REELPRESS_NOTIFY_URL: options.notifyUrl } : {}),
  };
}

export type FfmpegSource = { kind: "layer"; arn: string } | { kind: "dir"; path: string };
export type RunnerIdentity = "policy" | "user" | "role";

export type Schedule = `rate(${string})` | `cron(${string})`;

export type DeployOptions = {
  ffmpeg: FfmpegSource;
  runnerIdentity: RunnerIdentity;
  dedupSchedule: Schedule;
  dedupUrlAuth: "iam" | "none";
  backupPrefix: string;
  /** Where the probe's failures and the dedup's new reports are announced (and runners, from runnerEnv). */
  notifyUrl?: string;
};

const isSchedule = (s: string): s is Schedule => /^(rate|cron)\(.+\)$/.test(s);

const LAYER_ARN = /^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:layer:[A-Za-z0-9_-]+:\d+$/;

/** Deploy-time settings, from the environment of `sst deploy`; one clear sentence for a bad one. */
export function deployOptions(env: Record<string, string | undefined>): DeployOptions {
  const layer = env.REELPRESS_FFMPEG_LAYER_ARN || undefined;
  const dir = env.REELPRESS_FFMPEG_DIR || undefined;
  let ffmpeg: FfmpegSource;
  if (layer && dir) throw new Error("Set REELPRESS_FFMPEG_LAYER_ARN or REELPRESS_FFMPEG_DIR, not both.");
  if (layer) {
    if (!LAYER_ARN.test(layer)) throw badSetting("REELPRESS_FFMPEG_LAYER_ARN", layer, "must be a versioned Lambda layer ARN (arn:aws:lambda:REGION:ACCOUNT:layer:NAME:VERSION)");
    ffmpeg = { kind: "layer", arn: layer };
  } else if (dir) {
    ffmpeg = { kind: "dir", path: dir };
  } else {
    throw new Error(
      "The probe function needs ffmpeg and ffprobe: set REELPRESS_FFMPEG_DIR to a folder with static Linux builds in bin/ (see README, AWS with SST), or REELPRESS_FFMPEG_LAYER_ARN to a layer that has them in bin/.",
    );
  }
  const identity = enumSetting(env, "REELPRESS_RUNNER_IDENTITY", ["policy", "user", "role"], "policy");
  const schedule = env.REELPRESS_DEDUP_SCHEDULE || "rate(1 day)";
  if (!isSchedule(schedule)) {
    throw badSetting("REELPRESS_DEDUP_SCHEDULE", schedule, "must be an EventBridge expression such as rate(1 day) or cron(0 3 * * ? *)");
  }
  const auth = enumSetting(env, "REELPRESS_DEDUP_URL_AUTH", ["iam", "none"], "iam");
  const backupPrefix = env.REELPRESS_BACKUP_PREFIX || "orig_video_to_delete/";
  if (backupPrefix.startsWith(".reelpress/")) throw badSetting("REELPRESS_BACKUP_PREFIX", backupPrefix, "must be outside .reelpress/");
  const notifyUrl = env.REELPRESS_NOTIFY_URL ? checkNotifyUrl(env.REELPRESS_NOTIFY_URL) : undefined;
  return { ffmpeg, runnerIdentity: identity, dedupSchedule: schedule, dedupUrlAuth: auth, backupPrefix, ...(notifyUrl ? { notifyUrl } : {}) };
}

/** An IAM policy document for a list of grants, given the deployed ARNs. */
export function policyDocument(
  grants: readonly Grant[],
  arns: { bucket: string; queue: Record<QueueId, string>; dlq: Record<QueueId, string> },
) {
  const resource = (t: Target) => {
    switch (t.kind) {
      case "bucket":
        return arns.bucket;
      case "objects":
        return `${arns.bucket}/${t.prefix}*`;
      case "queue":
        return arns.queue[t.queue];
      case "dlq":
        return arns.dlq[t.queue];
    }
  };
  return {
    Version: "2012-10-17",
    Statement: grants.map((g) => ({ Effect: g.effect ?? "Allow", Action: [...g.actions], Resource: g.on.map(resource) })),
  };
}
