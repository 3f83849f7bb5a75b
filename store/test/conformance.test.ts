// Where the folder store strayed from S3 (found by Ceph's s3-tests and by review), each pinned by the
// answer S3 gives: driven with the AWS SDK or raw HTTP against a real server over a temp folder.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveFolder } from "../index.ts";
import { rawRequest } from "../../test/kit/raw-http.ts";

const BUCKET = "lib";

describe("folder store: S3 conformance", () => {
  let folder: string;
  let server: Awaited<ReturnType<typeof serveFolder>>;
  let s3: S3Client;
  let url: string;
  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), "reelpress-conform-"));
    server = await serveFolder({ folder, bucket: BUCKET, port: 0 });
    url = `http://127.0.0.1:${server.port}`;
    s3 = new S3Client({ endpoint: url, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "k", secretAccessKey: "s" }, maxAttempts: 1 });
  });
  afterAll(async () => {
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("guards its own area case-blind: on a case-insensitive share .REELPRESS/store/ is the same folder", async () => {
    for (const key of [".REELPRESS/store/owner.json", ".Reelpress/Store/meta/x.json", ".reelpress/STORE"]) {
      expect((await rawRequest(url, "PUT", `/${BUCKET}/${key}`, {}, "x")).status, key).toBe(400);
    }
    // reelpress's other objects under .reelpress/ stay ordinary keys.
    expect((await rawRequest(url, "PUT", `/${BUCKET}/.reelpress/manifest/a.json`, {}, "{}")).status).toBe(200);
  });
});
