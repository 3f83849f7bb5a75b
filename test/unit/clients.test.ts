import { describe, expect, it } from "vitest";
import { makeS3, makeSqs } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";

describe("clients", () => {
  it("uses path-style addressing against a local endpoint and virtual hosts on AWS", async () => {
    const local = makeS3(loadConfig({ AWS_ENDPOINT_URL: "http://localhost:9000" }));
    expect(local.config.forcePathStyle).toBe(true);
    expect((await local.config.endpoint!()).hostname).toBe("localhost");
    const aws = makeS3(loadConfig({ AWS_REGION: "eu-central-1" }));
    expect(aws.config.forcePathStyle).toBe(false);
    expect(await aws.config.region()).toBe("eu-central-1");
  });

  it("sends SQS to its own endpoint when one is set", async () => {
    const sqs = makeSqs(loadConfig({ AWS_ENDPOINT_URL_S3: "http://minio:9000", AWS_ENDPOINT_URL_SQS: "http://localstack:4566" }));
    expect((await sqs.config.endpoint!()).hostname).toBe("localstack");
  });
});
