// `reelpress dev --host 0.0.0.0` with the pipeline's credentials and an uploader's: the queues behind the
// front port take only SQS calls signed (service sqs, body hashed) with the pipeline's key, and the
// uploader's key may add and read videos but never write the pipeline's keys or the backups.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, DeleteObjectsCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { ListQueuesCommand, ReceiveMessageCommand, SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDev, freePort } from "../kit/cli.ts";
import { rawRequest } from "../kit/raw-http.ts";
import { sha256Hex, signHeaders } from "../kit/sigv4.ts";

const pipeline = { accessKeyId: "pipeline", secretAccessKey: "pipeline-secret" };
const uploader = { accessKeyId: "camera", secretAccessKey: "camera-secret" };
const BUCKET = "reelpress";

async function failure(p: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    const e = err as { name: string; $metadata?: { httpStatusCode?: number } };
    return { name: e.name, status: e.$metadata?.httpStatusCode };
  }
  throw new Error("expected the call to fail");
}

describe("reelpress dev --host 0.0.0.0 with credentials", () => {
  let dataDir: string;
  let dev: Awaited<ReturnType<typeof startDev>>;
  let endpoint: string;
  let host: string;
  const s3 = (keys: typeof pipeline) => new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: keys, maxAttempts: 1 });
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
      REELPRESS_UPLOADER_ACCESS_KEY_ID: uploader.accessKeyId,
      REELPRESS_UPLOADER_SECRET_ACCESS_KEY: uploader.secretAccessKey,
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
    // The uploader's key is good for S3 only.
    expect(await failure(sqs(uploader).send(new SendMessageCommand({ QueueUrl: encode, MessageBody: "forged job" })))).toMatchObject({ status: 403 });
  });

  it("lets uploader credentials read and write the library, but not .reelpress/ or the backups", async () => {
    const owner = s3(pipeline);
    const cam = s3(uploader);
    await owner.send(new PutObjectCommand({ Bucket: BUCKET, Key: ".reelpress/notify/marker", Body: "pipeline's" }));
    await cam.send(new PutObjectCommand({ Bucket: BUCKET, Key: "films/a.mp4", Body: "a video" }));
    expect(await (await cam.send(new GetObjectCommand({ Bucket: BUCKET, Key: "films/a.mp4" }))).Body!.transformToString()).toBe("a video");
    expect((await cam.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "films/" }))).KeyCount).toBe(1);

    const denied = { name: "AccessDenied", status: 403 };
    for (const key of [".reelpress/manifest/films/a.mp4.json", "orig_video_to_delete/films/a.mp4", "ORIG_VIDEO_TO_DELETE/films/a.mp4", "orig_video_to_delete"]) {
      expect(await failure(cam.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: "forged" }))), key).toMatchObject(denied);
    }
    expect(await failure(cam.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "orig_video_to_delete/films/a.mp4", CopySource: `${BUCKET}/films/a.mp4` })))).toMatchObject(denied);
    expect(await failure(cam.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: ".reelpress/work/job/chunk.mkv" })))).toMatchObject(denied);
    expect(await failure(cam.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: ".reelpress/notify/marker" })))).toMatchObject(denied);
    const batch = await cam.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: ".reelpress/notify/marker" }, { Key: "films/a.mp4" }] } }));
    expect(batch.Errors?.map((e) => [e.Key, e.Code])).toEqual([[".reelpress/notify/marker", "AccessDenied"]]);
    expect(batch.Deleted?.map((d) => d.Key)).toEqual(["films/a.mp4"]);
    expect(await (await owner.send(new GetObjectCommand({ Bucket: BUCKET, Key: ".reelpress/notify/marker" }))).Body!.transformToString()).toBe("pipeline's");
    expect(await failure(owner.send(new GetObjectCommand({ Bucket: BUCKET, Key: "orig_video_to_delete/films/a.mp4" })))).toMatchObject({ status: 404 });
  });
});
