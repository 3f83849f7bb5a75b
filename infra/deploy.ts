/// <reference path="../.sst/platform/config.d.ts" />
// The whole stack for one stage; sst.config.ts calls this and returns its outputs.
import { pipelineFunctions } from "./functions.ts";
import { runnerAccess, uploaderPolicy } from "./runner.ts";
import { flowQueues, libraryBucket, libraryNotifications } from "./storage.ts";
import { deployOptions, reelpressEnv } from "./topology.ts";

export function deploy() {
  const options = deployOptions(process.env);
  const bucket = libraryBucket();
  const queues = flowQueues();
  libraryNotifications(bucket, queues);
  const arns = {
    bucket: bucket.arn,
    queue: { ingest: queues.ingest.queue.arn, plan: queues.plan.queue.arn, encode: queues.encode.queue.arn },
    dlq: { ingest: queues.ingest.dlq.arn, plan: queues.plan.dlq.arn, encode: queues.encode.dlq.arn },
  };
  const env = bucket.name.apply((name) => reelpressEnv($app.name, $app.stage, name, options));
  const { dedup, dashboard } = pipelineFunctions(queues, env, arns, options);
  const runner = runnerAccess(arns, options.runnerIdentity);
  return {
    bucket: bucket.name,
    ingestQueue: queues.ingest.queue.url,
    planQueue: queues.plan.queue.url,
    encodeQueue: queues.encode.queue.url,
    encodeDlq: queues.encode.dlq.url,
    reportUrl: dedup.url,
    // Signed requests only (IAM): see README, AWS with SST.
    dashboardUrl: dashboard.url,
    runnerPolicy: runner.policy,
    // Attach to whoever uploads: they may write library keys, never .reelpress/ or the backups.
    uploaderPolicy: uploaderPolicy(arns, options.backupPrefix),
    ...("user" in runner ? { runnerUser: runner.user } : {}),
    ...("instanceProfile" in runner ? { runnerInstanceProfile: runner.instanceProfile, runnerRole: runner.role } : {}),
    // Paste into /etc/reelpress/runner.env on each runner host (with AWS_REGION).
    runnerEnv: env,
  };
}
