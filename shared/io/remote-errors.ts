// One sentence for the S3/SQS failures an operator can fix (unreachable endpoint, no credentials,
// missing bucket or queue, access denied), shared by the CLI and the dashboard wherever it runs.
import { type Config, s3EndpointOf, sqsEndpointOf } from "../config.ts";

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
