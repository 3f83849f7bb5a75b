/// <reference path="../.sst/platform/config.d.ts" />
// What GPU runner hosts may do, as a managed policy; optionally an IAM user (keys created by hand,
// so they never sit in the deploy state) or an EC2 role with an instance profile.
import { policyFor, type Arns } from "./functions.ts";
import { RUNNER_GRANTS, uploaderGrants, type RunnerIdentity } from "./topology.ts";

export function runnerAccess(arns: Arns, identity: RunnerIdentity) {
  const name = `${$app.name}-${$app.stage}-runner`;
  const policy = new aws.iam.Policy("RunnerPolicy", {
    name,
    description: "reelpress GPU runner: encode queue jobs, library objects",
    policy: policyFor(RUNNER_GRANTS, arns).apply((doc) => JSON.stringify(doc)),
  });
  if (identity === "user") {
    const user = new aws.iam.User("RunnerUser", { name });
    new aws.iam.UserPolicyAttachment("RunnerUserPolicy", { user: user.name, policyArn: policy.arn });
    return { policy: policy.arn, user: user.name };
  }
  if (identity === "role") {
    const role = new aws.iam.Role("RunnerRole", {
      name,
      assumeRolePolicy: JSON.stringify({
        Version: "2012-10-17",
        Statement: [{ Effect: "Allow", Principal: { Service: "ec2.amazonaws.com" }, Action: "sts:AssumeRole" }],
      }),
    });
    new aws.iam.RolePolicyAttachment("RunnerRolePolicy", { role: role.name, policyArn: policy.arn });
    const profile = new aws.iam.InstanceProfile("RunnerInstanceProfile", { name, role: role.name });
    return { policy: policy.arn, role: role.arn, instanceProfile: profile.name };
  }
  return { policy: policy.arn };
}

/** A managed policy for uploaders (people, sync tools): library keys only, see uploaderGrants. */
export function uploaderPolicy(arns: Arns, backupPrefix: string) {
  return new aws.iam.Policy("UploaderPolicy", {
    name: `${$app.name}-${$app.stage}-uploader`,
    description: "reelpress uploader: library objects, never .reelpress/ or the backup prefix",
    policy: policyFor(uploaderGrants(backupPrefix), arns).apply((doc) => JSON.stringify(doc)),
  }).arn;
}
