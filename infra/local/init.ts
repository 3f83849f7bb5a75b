// Creates the bucket and queues on MinIO + LocalStack: the same resources, with the same attributes,
// as `reelpress dev` (shared/io/resources.ts), so either may run first. Waits for both services.
// MinIO needs no notification target: `reelpress dev` subscribes through MinIO's listen API.
import { makeClients } from "../../shared/io/clients.ts";
import { loadConfig, s3EndpointOf, sqsEndpointOf } from "../../shared/config.ts";
import { errorMessage } from "../../shared/errors.ts";
import { ensureResources } from "../../shared/io/resources.ts";

const ATTEMPTS = 30;
const PAUSE_MS = 2000;

const config = loadConfig(process.env);
if (!s3EndpointOf(config) || !sqsEndpointOf(config)) {
  console.error("init: set AWS_ENDPOINT_URL_S3 and AWS_ENDPOINT_URL_SQS (see infra/local/local.env); refusing to touch AWS itself.");
  process.exit(2);
}
const clients = makeClients(config);
for (let attempt = 1; ; attempt++) {
  try {
    await ensureResources(clients);
    break;
  } catch (err) {
    if (attempt === ATTEMPTS) {
      console.error(`init: MinIO or LocalStack did not answer after ${attempt} tries: ${errorMessage(err)}`);
      process.exit(1);
    }
    await new Promise((r) => setTimeout(r, PAUSE_MS));
  }
}
console.log(`init: bucket ${config.bucket} on ${s3EndpointOf(config)}`);
for (const name of Object.values(config.queues)) console.log(`init: queue ${await clients.queueUrl(name)}`);
