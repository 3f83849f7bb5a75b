// The store as the operator commands see it: clear one-sentence errors, the bucket check, the library
// listing and the queue depths.
import { HeadBucketCommand } from "@aws-sdk/client-s3";
import type { Clients } from "../shared/clients.ts";
import { type Config, s3EndpointOf, sqsEndpointOf } from "../shared/config.ts";
import { UserError } from "../shared/errors.ts";

// Commands list the library and read queue depths through here, beside the error handling.
export { listLibrary, queueDepths, queueRoles } from "../shared/library.ts";

type AwsError = { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number } };

const NETWORK_CODES = new Set(["ECONNREFUSED", "ENOTFOUND", "EAI_AGAIN", "ETIMEDOUT", "ECONNRESET", "EHOSTUNREACH"]);

function where(config: Config): string {
  const s3 = s3EndpointOf(config);
  const sqs = sqsEndpointOf(config);
  if (!s3 && !sqs) return `AWS (${config.region})`;
  return s3 === sqs ? String(s3) : `${s3 ?? "AWS S3"} / ${sqs ?? "AWS SQS"}`;
}

/** The sentence for an error we recognise, else undefined. */
export function explainRemote(err: unknown, config: Config): string | undefined {
  const e = (err ?? {}) as AwsError;
  const status = e.$metadata?.httpStatusCode;
  if (e.code && NETWORK_CODES.has(e.code)) {
    return `Cannot reach ${where(config)} (${e.message}); start 'reelpress dev' or set AWS_ENDPOINT_URL to a running store.`;
  }
  if (e.name === "CredentialsProviderError") {
    return "No AWS credentials found; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE.";
  }
  if (e.name === "NoSuchBucket") {
    return `Bucket '${config.bucket}' does not exist at ${where(config)}; 'reelpress dev' creates it, or set REELPRESS_BUCKET / --bucket.`;
  }
  if (e.name === "QueueDoesNotExist" || e.name === "AWS.SimpleQueueService.NonExistentQueue") {
    return `A reelpress queue (${Object.values(config.queues).join(", ")}) does not exist at ${where(config)}; 'reelpress dev' or 'sst deploy' creates them.`;
  }
  if (status === 403 || e.name === "AccessDenied" || e.name === "InvalidAccessKeyId" || e.name === "SignatureDoesNotMatch") {
    return `Access denied by ${where(config)} (${e.name}); check the credentials and their permissions on bucket '${config.bucket}'.`;
  }
  return undefined;
}

/** Runs `fn`, turning a recognised S3/SQS failure into a one-sentence UserError. */
export async function remote<T>(config: Config, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const sentence = explainRemote(err, config);
    throw sentence ? new UserError(sentence) : err;
  }
}

/** Fails early, with a clear sentence, when the bucket is not there or not ours to use. */
export async function requireBucket({ s3, config }: Clients): Promise<void> {
  await remote(config, async () => {
    try {
      await s3.send(new HeadBucketCommand({ Bucket: config.bucket }));
    } catch (err) {
      // HeadBucket has no body, so a missing bucket comes back as a bare 404.
      if ((err as AwsError).$metadata?.httpStatusCode === 404) throw Object.assign(err as object, { name: "NoSuchBucket" });
      throw err;
    }
  });
}
