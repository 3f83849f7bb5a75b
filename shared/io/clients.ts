// S3 and SQS clients for AWS, MinIO, LocalStack and the embedded emulator.
import { S3Client } from "@aws-sdk/client-s3";
import { SQSClient } from "@aws-sdk/client-sqs";
import { type Config, s3EndpointOf, sqsEndpointOf } from "../config.ts";
import { lookupQueueUrl } from "./queues.ts";

/** The folder store, MinIO and LocalStack accept any key; AWS itself uses the SDK's own credential chain. */
function localCredentials(endpoint: string | undefined) {
  if (!endpoint || process.env.AWS_ACCESS_KEY_ID || process.env.AWS_PROFILE) return undefined;
  return { accessKeyId: "test", secretAccessKey: "test" };
}

export function makeS3(config: Config): S3Client {
  const endpoint = s3EndpointOf(config);
  return new S3Client({
    region: config.region,
    endpoint,
    // MinIO, LocalStack and the emulator serve buckets by path, not by host name.
    forcePathStyle: endpoint !== undefined,
    credentials: localCredentials(endpoint),
    // Ask for checksums only where an operation needs them: MinIO and the folder store reject some defaults.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
  });
}

export function makeSqs(config: Config): SQSClient {
  const endpoint = sqsEndpointOf(config);
  return new SQSClient({ region: config.region, endpoint, credentials: localCredentials(endpoint) });
}

export type Clients = { config: Config; s3: S3Client; sqs: SQSClient; queueUrl(name: string): Promise<string> };

export function makeClients(config: Config): Clients {
  const s3 = makeS3(config);
  const sqs = makeSqs(config);
  const urls = new Map<string, Promise<string>>();
  const queueUrl = (name: string) => {
    let url = urls.get(name);
    if (!url) {
      url = lookupQueueUrl(sqs, name);
      url.catch(() => urls.delete(name));
      urls.set(name, url);
    }
    return url;
  };
  return { config, s3, sqs, queueUrl };
}
