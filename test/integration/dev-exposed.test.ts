// `reelpress dev --host 0.0.0.0` with the pipeline's credentials: the queues behind the front port take
// only SQS calls signed (service sqs, body hashed) with them, as the store takes S3 calls.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { ListQueuesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDev, freePort } from "../kit/cli.ts";
import { rawRequest } from "../kit/raw-http.ts";
import { sha256Hex, signHeaders } from "../kit/sigv4.ts";

const pipeline = { accessKeyId: "pipeline", secretAccessKey: "pipeline-secret" };

describe("reelpress dev --host 0.0.0.0 with credentials", () => {
  let dataDir: string;
  let dev: Awaited<ReturnType<typeof startDev>>;
  let endpoint: string;
  let host: string;
  const sqs = (keys: typeof pipeline) => new SQSClient({ endpoint, region: "us-east-1", credentials: keys, maxAttempts: 1 });

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "reelpress-exposed-"));
    const port = await freePort();
    dev = await startDev(["--data-dir", dataDir, "--port", String(port), "--host", "0.0.0.0", "--no-runner"], {
      ...process.env,
      AWS_ENDPOINT_URL: "",
      AWS_REGION: "us-east-1",
      AWS_ACCESS_KEY_ID: pipeline.accessKeyId,
      AWS_SECRET_ACCESS_KEY: pipeline.secretAccessKey,
      NO_COLOR: "1",
    });
    endpoint = dev.endpoint;
    host = new URL(endpoint).host;
  });
  afterAll(async () => {
    dev?.child.kill("SIGTERM");
    await dev?.child;
    await rm(dataDir, { recursive: true, force: true });
  });

  it("checks every SQS call's signature, over its body, as it checks S3's", async () => {
    const queues = sqs(pipeline);
    const { QueueUrls } = await queues.send(new ListQueuesCommand({}));
    const encode = QueueUrls!.find((u) => u.endsWith("/reelpress-encode"))!;
    await queues.send(new SendMessageCommand({ QueueUrl: encode, MessageBody: "signed" }));
    const got = await queues.send(new ReceiveMessageCommand({ QueueUrl: encode, WaitTimeSeconds: 1 }));
    expect(got.Messages?.map((m) => m.Body)).toEqual(["signed"]);

    const form = "Action=ListQueues&Version=2012-11-05";
    expect((await rawRequest(endpoint, "POST", "/", { "content-type": "application/x-www-form-urlencoded" }, form)).status).toBe(403);
    const json = (body: string, o: { service?: string } = {}) =>
      signHeaders(host, { method: "POST", path: "/", headers: { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues" }, payload: sha256Hex(body), keys: pipeline, noPayloadHeader: true, service: "sqs", ...o }).headers;
    expect((await rawRequest(endpoint, "POST", "/", { "content-type": "application/x-amz-json-1.0", "x-amz-target": "AmazonSQS.ListQueues" }, "{}")).status).toBe(403);
    const listed = await rawRequest(endpoint, "POST", "/", json("{}"), "{}");
    expect(listed.body).toContain("QueueUrls");
    const swapped = await rawRequest(endpoint, "POST", "/", json("{}"), '{"QueueNamePrefix":"reelpress"}');
    expect(swapped.status).toBe(403);
    expect(swapped.body).toContain("SignatureDoesNotMatch");
    expect((await rawRequest(endpoint, "POST", "/", json("{}", { service: "s3" }), "{}")).body).toContain("AuthorizationHeaderMalformed");
    const big = `{"QueueUrl":"${encode}","MessageBody":"${"x".repeat(1200 * 1024)}"}`;
    expect((await rawRequest(endpoint, "POST", "/", { ...json(big), "x-amz-target": "AmazonSQS.SendMessage" }, big)).status).toBe(413);
  });
});
