/// <reference path="../.sst/platform/config.d.ts" />
// probe and strategy on their queues (partial batch responses), dedup on a schedule and behind a
// function URL, the dashboard behind an IAM-authenticated function URL. Each gets exactly the grants topology.ts lists, as explicit IAM statements: SST's
// `link` would grant s3:* and sqs:* on whatever it links.
import fs from "node:fs";
import path from "node:path";
import type { Queues } from "./storage.ts";
import { FUNCTIONS, policyDocument, type DeployOptions, type FunctionId, type Grant, type QueueId } from "./topology.ts";

type Arn = $util.Output<string>;
export type Arns = { bucket: Arn; queue: Record<QueueId, Arn>; dlq: Record<QueueId, Arn> };

/** A grant list as an IAM policy document, once the ARNs are known. */
export function policyFor(grants: readonly Grant[], arns: Arns) {
  return $resolve({ bucket: arns.bucket, queue: $resolve(arns.queue), dlq: $resolve(arns.dlq) }).apply((a) => policyDocument(grants, a));
}

/** Grants as SST function permissions. */
function permissionsFor(grants: readonly Grant[], arns: Arns) {
  return policyFor(grants, arns).apply((doc) => doc.Statement.map((s) => ({ actions: s.Action, resources: s.Resource })));
}

/** Where the probe finds ffmpeg and ffprobe: a layer (in /opt/bin, on PATH) or static binaries bundled with it. */
function ffmpegArgs(source: DeployOptions["ffmpeg"]): { layers?: string[]; copyFiles?: { from: string; to: string }[]; path?: string } {
  if (source.kind === "layer") return { layers: [source.arn] };
  // SST joins copyFiles paths onto the app root, so the folder is given relative to it.
  const root = $cli.paths.root;
  const dir = path.resolve(root, source.path);
  for (const bin of ["ffmpeg", "ffprobe"]) {
    const file = path.join(dir, bin);
    if (!fs.existsSync(file)) throw new Error(`REELPRESS_FFMPEG_DIR: ${file} is missing (expected static Linux x86_64 ffmpeg and ffprobe there).`);
  }
  // Lambda lets a function extend PATH; the bundle is unpacked under /var/task.
  return { copyFiles: [{ from: path.relative(root, dir), to: "ffmpeg" }], path: "/var/task/ffmpeg:/var/lang/bin:/usr/local/bin:/usr/bin:/bin:/opt/bin" };
}

export type Env = $util.Output<Record<string, string>>;

function functionArgs(id: FunctionId, env: Env, arns: Arns, options: DeployOptions): sst.aws.FunctionArgs {
  const spec = FUNCTIONS[id];
  const { layers, copyFiles, path: PATH } = spec.ffmpeg ? ffmpegArgs(options.ffmpeg) : {};
  return {
    handler: spec.handler,
    runtime: "nodejs22.x",
    architecture: "x86_64",
    timeout: `${spec.timeoutSec} seconds`,
    memory: `${spec.memoryMb} MB`,
    environment: env.apply((e) => (PATH ? { ...e, PATH } : e)),
    permissions: permissionsFor(spec.grants, arns),
    layers,
    copyFiles: [...(copyFiles ?? []), ...spec.files.map((from) => ({ from }))],
  };
}

function subscribe(id: "probe" | "strategy", queues: Queues, env: Env, arns: Arns, options: DeployOptions) {
  const trigger = FUNCTIONS[id].trigger;
  if (trigger.kind !== "queue") throw new Error(`${id} is not a queue consumer in topology.ts.`);
  return queues[trigger.queue].queue.subscribe(functionArgs(id, env, arns, options), {
    batch: { size: trigger.batchSize, window: `${trigger.batchWindowSec} seconds`, partialResponses: trigger.partialResponses },
  });
}

export function pipelineFunctions(queues: Queues, env: Env, arns: Arns, options: DeployOptions) {
  const probe = subscribe("probe", queues, env, arns, options);
  const strategy = subscribe("strategy", queues, env, arns, options);
  const dedup = new sst.aws.Function("Dedup", {
    ...functionArgs("dedup", env, arns, options),
    url: { authorization: options.dedupUrlAuth },
  });
  new sst.aws.Cron("DedupSchedule", { schedule: options.dedupSchedule, function: dedup.arn });
  const trigger = FUNCTIONS.dashboard.trigger;
  if (trigger.kind !== "url") throw new Error("dashboard has no function URL in topology.ts.");
  const dashboard = new sst.aws.Function("Dashboard", { ...functionArgs("dashboard", env, arns, options), url: { authorization: trigger.auth } });
  return { probe, strategy, dedup, dashboard };
}
