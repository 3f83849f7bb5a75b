// The AWS topology (infra/topology.ts, which infra/*.ts deploys): resources, wiring, filters,
// timeouts, dead-letter queues and permissions. Expected values are written out here on purpose.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../../shared/config.ts";
import { PAGE_FILE } from "../../shared/dashboard/routes.ts";
import { MAX_RECEIVES, VISIBILITY_SEC } from "../../shared/io/resources.ts";
import {
  DLQ_RETENTION_SEC,
  FUNCTIONS,
  NOTIFICATION_EVENTS,
  NOTIFICATION_QUEUE,
  QUEUES,
  RUNNER_GRANTS,
  deployOptions,
  notificationSuffixes,
  policyDocument,
  queueName,
  reelpressEnv,
  uploaderGrants,
  type Grant,
  type QueueId,
} from "../../infra/topology.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const ARNS = {
  bucket: "arn:aws:s3:::lib",
  queue: { ingest: "arn:aws:sqs:us-east-1:1:ingest", plan: "arn:aws:sqs:us-east-1:1:plan", encode: "arn:aws:sqs:us-east-1:1:encode" },
  dlq: { ingest: "arn:aws:sqs:us-east-1:1:ingest-dlq", plan: "arn:aws:sqs:us-east-1:1:plan-dlq", encode: "arn:aws:sqs:us-east-1:1:encode-dlq" },
};
const LIBRARY_EXTENSIONS = ["mp4", "mkv", "avi", "mov", "wmv", "flv", "webm", "m4v", "mpeg", "mpg", "ts", "mts", "m2ts"];
const FFMPEG = { REELPRESS_FFMPEG_DIR: "/opt/ffmpeg" };

/** Every (action, resource ARN) pair a list of grants allows. */
function allowed(grants: readonly Grant[]): Array<[string, string]> {
  return policyDocument(grants, ARNS).Statement.flatMap((s) => s.Action.flatMap((a) => s.Resource.map((r) => [a, r] as [string, string])));
}
const can = (grants: readonly Grant[], action: string, resource: string) =>
  allowed(grants).some(([a, r]) => a === action && (r === resource || (r.endsWith("*") && resource.startsWith(r.slice(0, -1)))));
const object = (key: string) => `${ARNS.bucket}/${key}`;
const PRINCIPALS = { ...Object.fromEntries(Object.entries(FUNCTIONS).map(([id, f]) => [id, f.grants])), runner: RUNNER_GRANTS };

describe("bucket notifications", () => {
  it("send ObjectCreated for every video suffix, lower and upper case, to the ingest queue", () => {
    const suffixes = notificationSuffixes();
    expect(new Set(suffixes)).toEqual(new Set(LIBRARY_EXTENSIONS.flatMap((e) => [`.${e}`, `.${e.toUpperCase()}`])));
    expect(suffixes).toHaveLength(LIBRARY_EXTENSIONS.length * 2);
    expect(NOTIFICATION_EVENTS).toEqual(["s3:ObjectCreated:*", "s3:ObjectRemoved:*"]);
    expect(NOTIFICATION_QUEUE).toBe("ingest");
  });

  it("have no two rules S3 would reject as overlapping (one suffix ending another)", () => {
    const suffixes = notificationSuffixes();
    for (const a of suffixes) for (const b of suffixes) if (a !== b) expect(a.endsWith(b), `${a} overlaps ${b}`).toBe(false);
  });
});

describe("queues", () => {
  it("each has a dead-letter queue, kept 14 days", () => {
    for (const id of ["ingest", "plan", "encode"] as const) expect(QUEUES[id].maxReceives, id).toBeGreaterThan(0);
    expect(DLQ_RETENTION_SEC).toBe(1_209_600);
  });

  it("are consumed ingest → probe, plan → strategy, encode → runner, and each Lambda trigger matches", () => {
    expect({ ingest: QUEUES.ingest.consumer, plan: QUEUES.plan.consumer, encode: QUEUES.encode.consumer }).toEqual({
      ingest: "probe",
      plan: "strategy",
      encode: "runner",
    });
    for (const [id, fn] of Object.entries(FUNCTIONS)) {
      if (fn.trigger.kind === "queue") expect(QUEUES[fn.trigger.queue].consumer, id).toBe(id);
    }
    expect(FUNCTIONS.dedup.trigger.kind).toBe("schedule+url");
  });

  it("hide a Lambda's message at least 6× its timeout, and allow 5 receives before the DLQ (AWS's advice)", () => {
    for (const id of ["ingest", "plan"] as const) {
      const fn = FUNCTIONS[QUEUES[id].consumer as "probe" | "strategy"];
      expect(QUEUES[id].visibilitySec, id).toBeGreaterThanOrEqual(6 * fn.timeoutSec);
      expect(QUEUES[id].maxReceives, id).toBeGreaterThanOrEqual(5);
    }
  });

  it("give the encode queue the visibility and receive count the runner and `dev` use", () => {
    expect(QUEUES.encode.visibilitySec).toBe(VISIBILITY_SEC.encode);
    expect(QUEUES.encode.maxReceives).toBe(MAX_RECEIVES);
  });

  it("are named per stage, within SQS's limits", () => {
    expect(queueName("reelpress", "prod", "ingest")).toBe("reelpress-prod-ingest");
    expect(queueName("reelpress", "prod", "encode", true)).toBe("reelpress-prod-encode-dlq");
    expect(queueName("reelpress", "dev", "plan")).not.toBe(queueName("reelpress", "prod", "plan"));
    expect(() => queueName("reelpress", "x".repeat(70), "ingest")).toThrow(/shorter stage name/);
    expect(() => queueName("reelpress", "feature.branch", "ingest")).toThrow(/not valid for SQS/);
  });
});

describe("functions", () => {
  it("are the four handlers, queue consumers with partial batch responses", async () => {
    expect(Object.fromEntries(Object.entries(FUNCTIONS).map(([id, f]) => [id, f.handler]))).toEqual({
      probe: "functions/probe/handler.handler",
      strategy: "functions/strategy/handler.handler",
      dedup: "functions/dedup/handler.handler",
      dashboard: "functions/dashboard/handler.handler",
    });
    for (const fn of [FUNCTIONS.probe, FUNCTIONS.strategy]) {
      expect(fn.trigger).toMatchObject({ kind: "queue", partialResponses: true });
    }
    // A batch the probe handler works through in one round of its concurrency.
    expect(FUNCTIONS.probe.trigger).toMatchObject({ batchSize: 3 });
  });

  it("point at handler modules that exist and export `handler`", async () => {
    for (const [id, fn] of Object.entries(FUNCTIONS)) {
      const file = path.join(ROOT, `${fn.handler.slice(0, fn.handler.lastIndexOf("."))}.ts`);
      const source = await readFile(file, "utf8").catch(() => "");
      expect(source, `${id}: ${file}`).toMatch(/export (const|async function|function) handler\b/);
    }
  });

  it("the dashboard is reached only through a function URL with IAM auth, and carries its page", async () => {
    expect(FUNCTIONS.dashboard.trigger).toEqual({ kind: "url", auth: "iam" });
    expect(FUNCTIONS.dashboard.files).toEqual([PAGE_FILE]);
    for (const [id, fn] of Object.entries(FUNCTIONS)) {
      for (const file of fn.files) expect(await readFile(path.join(ROOT, file)).then(() => file, () => "missing"), id).toBe(file);
    }
  });

  it("only the probe carries ffmpeg, and Lambda limits hold", () => {
    expect(Object.entries(FUNCTIONS).filter(([, f]) => f.ffmpeg).map(([id]) => id)).toEqual(["probe"]);
    for (const fn of Object.values(FUNCTIONS)) {
      expect(fn.timeoutSec).toBeLessThanOrEqual(900);
      expect(fn.memoryMb).toBeGreaterThanOrEqual(128);
      expect(fn.memoryMb).toBeLessThanOrEqual(10_240);
    }
  });
});

describe("permissions (least privilege)", () => {
  const sqsSenders = (queue: QueueId) =>
    Object.entries(PRINCIPALS).filter(([, g]) => can(g, "sqs:SendMessage", ARNS.queue[queue])).map(([id]) => id);

  it("each queue has one producer besides S3's notifications: the runner re-plans, probe plans, strategy encodes", () => {
    expect(sqsSenders("ingest")).toEqual(["runner"]);
    expect(sqsSenders("plan")).toEqual(["probe"]);
    expect(sqsSenders("encode")).toEqual(["strategy"]);
  });

  it("only the runner receives from the encode queue outside Lambda's own mappings", () => {
    const receivers = Object.entries(PRINCIPALS).filter(([, g]) => allowed(g).some(([a]) => a === "sqs:ReceiveMessage")).map(([id]) => id);
    expect(receivers).toEqual(["runner"]);
    expect(can(RUNNER_GRANTS, "sqs:ReceiveMessage", ARNS.queue.encode)).toBe(true);
    expect(can(RUNNER_GRANTS, "sqs:ChangeMessageVisibility", ARNS.queue.encode)).toBe(true);
    expect(can(RUNNER_GRANTS, "sqs:ReceiveMessage", ARNS.queue.plan)).toBe(false);
  });

  it("a runner can tell that the flow is empty (for its 'nothing left to do' notification)", () => {
    for (const arn of Object.values(ARNS.queue)) expect(can(RUNNER_GRANTS, "sqs:GetQueueAttributes", arn), arn).toBe(true);
  });

  it("a runner host's `doctor` can look every queue up; only a queue's consumer may send to its dead-letter queue", () => {
    for (const arn of [...Object.values(ARNS.queue), ARNS.dlq.encode]) expect(can(RUNNER_GRANTS, "sqs:GetQueueUrl", arn), arn).toBe(true);
    const consumerOf = { ingest: "probe", plan: "strategy", encode: "runner" } as const;
    for (const [id, g] of Object.entries(PRINCIPALS)) {
      for (const [queue, arn] of Object.entries(ARNS.dlq)) {
        const onDlq = allowed(g).filter(([, r]) => r === arn).map(([a]) => a);
        const mine = consumerOf[queue as keyof typeof consumerOf] === id;
        // Looking a queue up and reading its depth change nothing.
        const changes = onDlq.filter((a) => a !== "sqs:GetQueueUrl" && a !== "sqs:GetQueueAttributes");
        expect(changes, `${id} on ${queue}'s dead letters`).toEqual(mine ? ["sqs:SendMessage"] : []);
      }
    }
    // The functions find their dead-letter queue in their own queue's redrive policy.
    expect(can(FUNCTIONS.probe.grants, "sqs:GetQueueAttributes", ARNS.queue.ingest)).toBe(true);
    expect(can(FUNCTIONS.strategy.grants, "sqs:GetQueueAttributes", ARNS.queue.plan)).toBe(true);
  });

  it("the probe reads anything but writes only manifest records and the summary they keep, and deletes only queued marks and records", () => {
    const g = FUNCTIONS.probe.grants;
    expect(can(g, "s3:GetObject", object("a/b.mkv"))).toBe(true);
    expect(can(g, "s3:PutObject", object(".reelpress/manifest/a/b.mkv.json"))).toBe(true);
    expect(can(g, "s3:PutObject", object(".reelpress/summary/shard-03.json"))).toBe(true);
    expect(can(g, "s3:PutObject", object(".reelpress/reports/latest.json"))).toBe(false);
    expect(can(g, "s3:PutObject", object("a/b.mkv"))).toBe(false);
    expect(can(g, "s3:DeleteObject", object("a/b.mkv"))).toBe(false);
    expect(can(g, "s3:DeleteObject", object(".reelpress/queued/a/b.mkv.json"))).toBe(true);
    // The record of a removed video (the probe HEADs the object first).
    expect(can(g, "s3:DeleteObject", object(".reelpress/manifest/a/b.mkv.json"))).toBe(true);
  });

  it("strategy and runner may move library objects (copy, verify, delete); dedup may not", () => {
    for (const g of [FUNCTIONS.strategy.grants, RUNNER_GRANTS]) {
      for (const action of ["s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:GetObjectTagging", "s3:PutObjectTagging"]) {
        expect(can(g, action, object("dir/a.avi")), action).toBe(true);
      }
    }
    const d = FUNCTIONS.dedup.grants;
    expect(can(d, "s3:DeleteObject", object("dir/a.avi"))).toBe(false);
    expect(can(d, "s3:PutObject", object("dir/a.avi"))).toBe(false);
    expect(can(d, "s3:PutObject", object(".reelpress/reports/latest.json"))).toBe(true);
    expect(can(d, "s3:PutObject", object(".reelpress/index/records-07.json"))).toBe(true);
    expect(can(d, "s3:DeleteObject", object(".reelpress/index/changed/dir/a.avi.json"))).toBe(true);
    expect(can(d, "s3:DeleteObject", object(".reelpress/index/records-07.json"))).toBe(false);
    expect(allowed(d).some(([a]) => a.startsWith("sqs:"))).toBe(false);
  });

  it("the dashboard reads what `status` reads (summary, manifest, runners, queue depths), the latest report and previews, and writes only the summary and index", () => {
    const g = FUNCTIONS.dashboard.grants;
    for (const key of [".reelpress/summary/shard-00.json", ".reelpress/manifest/a/b.mkv.json", ".reelpress/runners/gpu-1.json", ".reelpress/reports/latest.json", ".reelpress/previews/a/b.mkv.montage.jpg", ".reelpress/scan.json"]) {
      expect(can(g, "s3:GetObject", object(key)), key).toBe(true);
    }
    for (const key of ["a/b.mkv", "orig_video_to_delete/a/b.mkv", ".reelpress/work/j1/state.json"]) expect(can(g, "s3:GetObject", object(key)), key).toBe(false);
    // A library made before the summary gets it built once, by whoever asks for status first.
    expect(allowed(g).filter(([a]) => a.startsWith("s3:") && a !== "s3:GetObject" && a !== "s3:ListBucket")).toEqual([
      ["s3:PutObject", `${ARNS.bucket}/.reelpress/summary/*`],
      ["s3:PutObject", `${ARNS.bucket}/.reelpress/index/*`],
      ["s3:DeleteObject", `${ARNS.bucket}/.reelpress/summary/stale*`],
      // The writers' change marks the index took in on the way.
      ["s3:DeleteObject", `${ARNS.bucket}/.reelpress/index/changed/*`],
    ]);
    for (const arn of [...Object.values(ARNS.queue), ARNS.dlq.encode]) {
      expect(can(g, "sqs:GetQueueAttributes", arn), arn).toBe(true);
      expect(can(g, "sqs:GetQueueUrl", arn), arn).toBe(true);
    }
    expect(allowed(g).filter(([a]) => a.startsWith("sqs:") && a !== "sqs:GetQueueAttributes" && a !== "sqs:GetQueueUrl")).toEqual([]);
  });

  it("every principal can list the bucket, and nothing uses wildcard actions or other buckets", () => {
    for (const [id, g] of Object.entries(PRINCIPALS)) {
      expect(can(g, "s3:ListBucket", ARNS.bucket), id).toBe(true);
      for (const [action, resource] of allowed(g)) {
        expect(action, id).toMatch(/^(s3|sqs):[A-Z][A-Za-z]+$/);
        const queues = [...Object.values(ARNS.queue), ...Object.values(ARNS.dlq)];
        expect(resource === ARNS.bucket || resource.startsWith(`${ARNS.bucket}/`) || queues.includes(resource), `${id}: ${resource}`).toBe(true);
      }
    }
  });

  it("become IAM statements with object ARNs per prefix", () => {
    expect(policyDocument([{ actions: ["s3:PutObject"], on: [{ kind: "objects", prefix: ".reelpress/manifest/" }] }], ARNS)).toEqual({
      Version: "2012-10-17",
      Statement: [{ Effect: "Allow", Action: ["s3:PutObject"], Resource: ["arn:aws:s3:::lib/.reelpress/manifest/*"] }],
    });
  });
});

describe("function and runner environment", () => {
  it("is a valid reelpress configuration naming this stage's bucket and queues", () => {
    const config = loadConfig(reelpressEnv("reelpress", "prod", "reelpress-prod-librarybucket-abc", { backupPrefix: "orig_video_to_delete/" }));
    expect(config.bucket).toBe("reelpress-prod-librarybucket-abc");
    expect(config.queues).toEqual({
      ingest: "reelpress-prod-ingest",
      plan: "reelpress-prod-plan",
      encode: "reelpress-prod-encode",
      encodeDlq: "reelpress-prod-encode-dlq",
    });
  });

  it("passes the deploy's REELPRESS_NOTIFY_URL on, so the probe and dedup functions notify from AWS", () => {
    const hook = "https://hooks.slack.com/services/T0/B0/x";
    const options = deployOptions({ ...FFMPEG, REELPRESS_NOTIFY_URL: hook });
    expect(options.notifyUrl).toBe(hook);
    expect(reelpressEnv("reelpress", "prod", "lib", options).REELPRESS_NOTIFY_URL).toBe(hook);
    expect(reelpressEnv("reelpress", "prod", "lib", deployOptions(FFMPEG))).not.toHaveProperty("REELPRESS_NOTIFY_URL");
  });
});

describe("deploy options", () => {
  it("default to IAM auth on the report URL, a daily dedup and a policy-only runner identity", () => {
    expect(deployOptions(FFMPEG)).toEqual({
      ffmpeg: { kind: "dir", path: "/opt/ffmpeg" },
      runnerIdentity: "policy",
      dedupSchedule: "rate(1 day)",
      dedupUrlAuth: "iam",
      backupPrefix: "orig_video_to_delete/",
    });
  });

  it("take ffmpeg from a layer or a folder, exactly one", () => {
    const arn = "arn:aws:lambda:eu-west-1:123456789012:layer:ffmpeg:3";
    expect(deployOptions({ REELPRESS_FFMPEG_LAYER_ARN: arn }).ffmpeg).toEqual({ kind: "layer", arn });
    expect(() => deployOptions({})).toThrow(/needs ffmpeg and ffprobe/);
    expect(() => deployOptions({ ...FFMPEG, REELPRESS_FFMPEG_LAYER_ARN: arn })).toThrow(/not both/);
    expect(() => deployOptions({ REELPRESS_FFMPEG_LAYER_ARN: "arn:aws:lambda:eu-west-1:123456789012:layer:ffmpeg" })).toThrow(/versioned Lambda layer ARN/);
  });

  it("reject a bad runner identity, schedule, URL auth, backup prefix or notify URL in one sentence", () => {
    expect(deployOptions({ ...FFMPEG, REELPRESS_RUNNER_IDENTITY: "role" }).runnerIdentity).toBe("role");
    expect(() => deployOptions({ ...FFMPEG, REELPRESS_RUNNER_IDENTITY: "admin" })).toThrow(/policy, user or role/);
    expect(deployOptions({ ...FFMPEG, REELPRESS_DEDUP_SCHEDULE: "cron(0 3 * * ? *)" }).dedupSchedule).toBe("cron(0 3 * * ? *)");
    expect(() => deployOptions({ ...FFMPEG, REELPRESS_DEDUP_SCHEDULE: "daily" })).toThrow(/EventBridge expression/);
    expect(() => deployOptions({ ...FFMPEG, REELPRESS_DEDUP_URL_AUTH: "public" })).toThrow(/iam or none/);
    expect(() => deployOptions({ ...FFMPEG, REELPRESS_BACKUP_PREFIX: ".reelpress/old/" })).toThrow(/outside \.reelpress/);
    expect(() => deployOptions({ ...FFMPEG, REELPRESS_NOTIFY_URL: "slack" })).toThrow(/^Bad setting REELPRESS_NOTIFY_URL = "slack": must be an http\(s\) URL/);
  });
});

describe("the uploader policy", () => {
  /** IAM's evaluation: an explicit Deny wins, else any Allow. */
  const may = (action: string, key: string) => {
    const doc = policyDocument(uploaderGrants("orig_video_to_delete/"), ARNS);
    const hits = (effect: string) =>
      doc.Statement.some((s) => s.Effect === effect && s.Action.includes(action) && s.Resource.some((r) => r === object(key) || (r.endsWith("*") && object(key).startsWith(r.slice(0, -1)))));
    return !hits("Deny") && hits("Allow");
  };
  it("may upload and read library keys, but never write or delete the pipeline's own keys or backups", () => {
    expect(may("s3:PutObject", "films/a.mkv")).toBe(true);
    expect(may("s3:GetObject", "films/a.mkv")).toBe(true);
    for (const key of [".reelpress/manifest/films/a.mkv.json", ".reelpress/reports/latest.json", "orig_video_to_delete/films/a.mkv"]) {
      expect(may("s3:PutObject", key), key).toBe(false);
      expect(may("s3:DeleteObject", key), key).toBe(false);
    }
    expect(may("s3:DeleteObject", "films/a.mkv")).toBe(false);
  });
});
