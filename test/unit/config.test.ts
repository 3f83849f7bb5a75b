import { describe, expect, it } from "vitest";
import { loadConfig, s3EndpointOf, sqsEndpointOf } from "../../shared/config.ts";
import { UserError } from "../../shared/errors.ts";

describe("config", () => {
  it("has working defaults", () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ bucket: "reelpress", prefix: "", backupPrefix: "orig_video_to_delete/", region: "us-east-1" });
    expect(c.queues).toEqual({ ingest: "reelpress-ingest", plan: "reelpress-plan", encode: "reelpress-encode", encodeDlq: "reelpress-encode-dlq" });
    expect(s3EndpointOf(c)).toBeUndefined();
  });

  it("reads the environment, and flags win over it", () => {
    const env = { REELPRESS_BUCKET: "lib-one", AWS_REGION: "eu-west-1", REELPRESS_PREFIX: "videos", AWS_ENDPOINT_URL: "http://localhost:4566" };
    expect(loadConfig(env)).toMatchObject({ bucket: "lib-one", region: "eu-west-1", prefix: "videos/" });
    expect(loadConfig(env, { bucket: "lib-two", prefix: "" })).toMatchObject({ bucket: "lib-two", prefix: "" });
  });

  it("renames skips _skip on a bucket and keeps names on a folder library, unless REELPRESS_SKIP_RENAME says", () => {
    expect(loadConfig({}).skipRename).toBe(true);
    expect(loadConfig({}, { folderLibrary: true }).skipRename).toBe(false);
    expect(loadConfig({ REELPRESS_SKIP_RENAME: "true" }, { folderLibrary: true }).skipRename).toBe(true);
    expect(loadConfig({ REELPRESS_SKIP_RENAME: "false" }).skipRename).toBe(false);
  });

  it("uses the SDK's per-service endpoint variables over the general one", () => {
    const c = loadConfig({ AWS_ENDPOINT_URL: "http://a:1", AWS_ENDPOINT_URL_S3: "http://minio:9000" });
    expect(s3EndpointOf(c)).toBe("http://minio:9000");
    expect(sqsEndpointOf(c)).toBe("http://a:1");
  });

  it.each([
    [{ REELPRESS_BUCKET: "Bad_Bucket" }, /REELPRESS_BUCKET.*"Bad_Bucket".*bucket name/],
    [{ AWS_ENDPOINT_URL: "localhost:4566" }, /AWS_ENDPOINT_URL.*http/],
    [{ AWS_ENDPOINT_URL_SQS: "ftp://x" }, /AWS_ENDPOINT_URL_SQS/],
    [{ AWS_REGION: "mars" }, /AWS_REGION.*region/],
    [{ REELPRESS_BACKUP_PREFIX: "/" }, /REELPRESS_BACKUP_PREFIX/],
    [{ REELPRESS_BACKUP_PREFIX: ".reelpress/bk" }, /REELPRESS_BACKUP_PREFIX/],
    [{ REELPRESS_ENCODE_QUEUE: "has space" }, /REELPRESS_ENCODE_QUEUE/],
    [{ REELPRESS_FINGERPRINTS: "2" }, /REELPRESS_FINGERPRINTS.*at least 4/],
    [{ REELPRESS_PROBE_TIMEOUT: "-1" }, /REELPRESS_PROBE_TIMEOUT/],
    [{ REELPRESS_SKIP_RENAME: "maybe" }, /REELPRESS_SKIP_RENAME = "maybe": must be true or false/],
  ])("rejects %j with one clear line", (env, pattern) => {
    let err: unknown;
    try {
      loadConfig(env);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UserError);
    expect((err as Error).message).toMatch(pattern);
    expect((err as Error).message).not.toContain("\n");
  });
});
