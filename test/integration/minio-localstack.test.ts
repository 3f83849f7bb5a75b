// The MinIO + LocalStack setup: infra/local/init.ts on any S3 + SQS pair (always), and the whole
// pipeline — `reelpress dev` with REELPRESS_EVENTS=minio — against real MinIO and LocalStack
// containers from the images in infra/local/docker-compose.yml, where a Docker engine is present.
import { createReadStream } from "node:fs";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { HeadBucketCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { execa } from "execa";
import { GenericContainer, Wait, getContainerRuntimeClient, type StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { makeClients } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";
import { startEmbedded } from "../../cli/embedded.ts";
import { errorMessage } from "../../shared/errors.ts";
import { readRecord } from "../../shared/io/manifest.ts";
import { EncodeJob, type ManifestRecord } from "../../shared/schemas.ts";
import { startDev } from "../kit/cli.ts";
import { videoFixture } from "../kit/fixtures.ts";
import { until } from "../kit/wait.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const LOCAL = path.join(ROOT, "infra/local");
const NODE = path.join(ROOT, "bin/node22");
const INIT = path.join(LOCAL, "init.ts");

type Service = { image: string; command: string[]; environment: Record<string, string> };
const compose = parse(await readFile(path.join(LOCAL, "docker-compose.yml"), "utf8")) as { services: Record<string, Service> };
const localEnv = Object.fromEntries(
  (await readFile(path.join(LOCAL, "local.env"), "utf8"))
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
);

const noDocker = await getContainerRuntimeClient().then(
  () => undefined,
  (err: unknown) => errorMessage(err),
);
if (noDocker) {
  console.warn(`minio-localstack: SKIPPING the MinIO + LocalStack pipeline test: no Docker engine here (${noDocker}).`);
}

describe("infra/local/init.ts", () => {
  it("creates the bucket and the queues on separate S3 and SQS endpoints, twice without harm", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "reelpress-init-"));
    const store = await startEmbedded({ dataDir, port: 0, bucket: "library" });
    try {
      const env = { PATH: process.env.PATH, AWS_ENDPOINT_URL_S3: store.endpoint, AWS_ENDPOINT_URL_SQS: store.endpoint, REELPRESS_BUCKET: "library" };
      for (let run = 0; run < 2; run++) {
        const r = await execa(NODE, [INIT], { env, extendEnv: false, reject: false });
        expect(r.exitCode, r.stderr).toBe(0);
        expect(r.stdout).toContain("init: bucket library");
      }
      const clients = makeClients(loadConfig(env));
      await clients.s3.send(new HeadBucketCommand({ Bucket: "library" }));
      const encode = await clients.sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: await clients.queueUrl("reelpress-encode"), AttributeNames: ["RedrivePolicy"] }),
      );
      expect(JSON.parse(encode.Attributes!.RedrivePolicy!).deadLetterTargetArn).toMatch(/reelpress-encode-dlq$/);
    } finally {
      await store.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });

  it("refuses to run without local endpoints, so it never touches AWS", async () => {
    const r = await execa(NODE, [INIT], { env: { PATH: process.env.PATH }, extendEnv: false, reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain("AWS_ENDPOINT_URL_S3");
  });
});

describe.skipIf(noDocker !== undefined)("reelpress dev on MinIO + LocalStack (Testcontainers)", () => {
  let minio: StartedTestContainer | undefined;
  let localstack: StartedTestContainer | undefined;

  beforeAll(async () => {
    const m = compose.services.minio;
    const l = compose.services.localstack;
    [minio, localstack] = await Promise.all([
      new GenericContainer(m.image)
        .withCommand(m.command)
        .withEnvironment(m.environment)
        .withExposedPorts(9000)
        .withWaitStrategy(Wait.forHttp("/minio/health/ready", 9000))
        .start(),
      new GenericContainer(l.image)
        .withEnvironment(l.environment)
        .withExposedPorts(4566)
        .withWaitStrategy(Wait.forHttp("/_localstack/health", 4566).forResponsePredicate((body) => /"sqs": "(available|running)"/.test(body)))
        .start(),
    ]);
  });
  afterAll(async () => {
    await Promise.all([minio?.stop(), localstack?.stop()]);
  });

  it("plans a video uploaded straight to MinIO: manifest record and encode job", async () => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...localEnv,
      AWS_ENDPOINT_URL: "",
      AWS_ENDPOINT_URL_S3: `http://${minio!.getHost()}:${minio!.getMappedPort(9000)}`,
      AWS_ENDPOINT_URL_SQS: `http://${localstack!.getHost()}:${localstack!.getMappedPort(4566)}`,
      NO_COLOR: "1",
    };
    const init = await execa(NODE, [INIT], { env, reject: false });
    expect(init.exitCode, init.stderr).toBe(0);

    const dev = await startDev(["--no-runner"], env);
    try {
      const clients = makeClients(loadConfig(env));
      const file = await videoFixture("mkv_h264");
      const key = "shows/clip one.mkv";
      await clients.s3.send(
        new PutObjectCommand({ Bucket: clients.config.bucket, Key: key, Body: createReadStream(file), ContentLength: (await stat(file)).size }),
      );

      const record = await until<ManifestRecord>(
        `the manifest record of ${key} to say planned\n${dev.output()}`,
        async () => {
          const found = await readRecord(clients, key);
          return found?.record.state === "planned" ? found.record : undefined;
        },
        60_000,
        500,
      );
      expect(record.key).toBe(key);

      const received = await clients.sqs.send(
        new ReceiveMessageCommand({ QueueUrl: await clients.queueUrl(clients.config.queues.encode), WaitTimeSeconds: 5, MaxNumberOfMessages: 10 }),
      );
      const jobs = (received.Messages ?? []).map((m) => EncodeJob.parse(JSON.parse(m.Body!)));
      expect(jobs.map((j) => [j.key, j.outputKey])).toContainEqual([key, "shows/clip one.mp4"]);
    } finally {
      dev.child.kill("SIGINT");
      await dev.child;
    }
  });
});
