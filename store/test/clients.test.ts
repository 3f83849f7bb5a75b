// The folder store against S3 clients nobody here wrote, each uploading and downloading a file above 32 MiB
// byte for byte: the AWS SDK v3 with its defaults (aws-chunked bodies with CRC32 trailers), the AWS CLI,
// s3cmd (15 MiB multipart parts), rclone (single PUT, and multipart past a lowered cutoff), the minio
// package and curl with presigned URLs. The store requires signatures, as `reelpress dev --host 0.0.0.0`
// does, so each client's signing (headers, aws-chunked trailers, presigned URLs) is checked in full. A
// client that is not installed skips with a visible line.
import { randomBytes } from "node:crypto";
import { readFile, writeFile, mkdtemp, mkdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { Upload } from "@aws-sdk/lib-storage";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { execa } from "execa";
import * as Minio from "minio";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveFolder } from "../index.ts";

const SIZE = 33 * 1024 * 1024 + 12345;

/** Runs, not just found: a pyenv shim named `aws` can exist without any awscli behind it. */
async function has(cmd: string): Promise<boolean> {
  return (await execa(cmd, ["--version"], { reject: false })).exitCode === 0;
}

describe("folder store with third-party S3 clients", () => {
  let server: Awaited<ReturnType<typeof serveFolder>>;
  let library: string;
  let endpoint: string;
  let dir: string;
  let original: Buffer;
  let file: string;
  let port: string;
  const clientEnv = () => {
    const { AWS_CA_BUNDLE: _, AWS_ENDPOINT_URL: __, ...rest } = process.env;
    return { ...rest, AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_DEFAULT_REGION: "us-east-1", AWS_REGION: "us-east-1", AWS_CONFIG_FILE: "/dev/null", AWS_SHARED_CREDENTIALS_FILE: "/dev/null" };
  };
  const inLibrary = (key: string) => readFile(path.join(library, ...key.split("/")));
  const expectSame = (got: Buffer, what: string) => {
    expect(got.length, what).toBe(original.length);
    expect(got.equals(original), what).toBe(true);
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-clients-"));
    library = path.join(dir, "library");
    server = await serveFolder({ folder: library, bucket: "reelpress", port: 0, credentials: [{ accessKeyId: "test", secretAccessKey: "test" }] });
    port = String(server.port);
    endpoint = `http://127.0.0.1:${port}`;
    original = randomBytes(SIZE);
    file = path.join(dir, "source.bin");
    await writeFile(file, original);
  });
  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("AWS SDK v3 with default settings: PutObject (aws-chunked, CRC32 trailer), multipart Upload, GetObject with checksum mode", async () => {
    const s3 = new S3Client({ endpoint: endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "test", secretAccessKey: "test" } });
    await s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: "sdk/put.bin", Body: await readFile(file) }));
    expectSame(await inLibrary("sdk/put.bin"), "sdk put on disk");
    await new Upload({ client: s3, params: { Bucket: "reelpress", Key: "sdk/multipart.bin", Body: (await import("node:fs")).createReadStream(file) }, partSize: 8 * 1024 * 1024 }).done();
    expectSame(await inLibrary("sdk/multipart.bin"), "sdk multipart on disk");
    const got = await s3.send(new GetObjectCommand({ Bucket: "reelpress", Key: "sdk/put.bin", ChecksumMode: "ENABLED" }));
    expect(got.ChecksumCRC32).toBeTypeOf("string");
    expectSame(Buffer.from(await got.Body!.transformToByteArray()), "sdk get");
  });

  it("AWS CLI: s3 cp both ways and s3 sync", async (ctx) => {
    if (!(await has("aws"))) return ctx.skip("aws (Debian's awscli) is not installed");
    const aws = (...args: string[]) => execa("aws", ["--endpoint-url", endpoint, ...args], { env: clientEnv(), extendEnv: false });
    await aws("s3", "cp", file, "s3://reelpress/cli/copy.bin");
    expectSame(await inLibrary("cli/copy.bin"), "aws s3 cp up");
    await aws("s3", "cp", "s3://reelpress/cli/copy.bin", path.join(dir, "cli-down.bin"));
    expectSame(await readFile(path.join(dir, "cli-down.bin")), "aws s3 cp down");
    const syncDir = path.join(dir, "sync");
    await mkdir(path.join(syncDir, "sub"), { recursive: true });
    await writeFile(path.join(syncDir, "sub", "b.bin"), original);
    await writeFile(path.join(syncDir, "a é+.txt"), "small");
    await aws("s3", "sync", syncDir, "s3://reelpress/synced");
    expectSame(await inLibrary("synced/sub/b.bin"), "aws s3 sync up");
    expect((await inLibrary("synced/a é+.txt")).toString()).toBe("small");
    const back = path.join(dir, "sync-back");
    await aws("s3", "sync", "s3://reelpress/synced", back);
    expectSame(await readFile(path.join(back, "sub", "b.bin")), "aws s3 sync down");
    // A second sync finds nothing to do.
    expect((await aws("s3", "sync", syncDir, "s3://reelpress/synced")).stdout).toBe("");
  });

  it("s3cmd with its default 15 MiB multipart parts", async (ctx) => {
    if (!(await has("s3cmd"))) return ctx.skip("s3cmd is not installed");
    const cfg = path.join(dir, "s3cfg");
    await writeFile(cfg, `[default]\naccess_key = test\nsecret_key = test\nhost_base = 127.0.0.1:${port}\nhost_bucket = 127.0.0.1:${port}\nuse_https = False\nbucket_location = us-east-1\nsignature_v2 = False\n`);
    const s3cmd = (...args: string[]) => execa("s3cmd", ["-c", cfg, ...args], { env: clientEnv(), extendEnv: false });
    await s3cmd("put", file, "s3://reelpress/s3cmd/put.bin");
    expectSame(await inLibrary("s3cmd/put.bin"), "s3cmd put");
    await s3cmd("get", "s3://reelpress/s3cmd/put.bin", path.join(dir, "s3cmd-down.bin"));
    expectSame(await readFile(path.join(dir, "s3cmd-down.bin")), "s3cmd get");
    expect((await s3cmd("ls", "s3://reelpress/s3cmd/")).stdout).toContain("s3://reelpress/s3cmd/put.bin");
  });

  it("rclone: a single PUT below its cutoff, multipart above it", async (ctx) => {
    if (!(await has("rclone"))) return ctx.skip("rclone is not installed");
    const env = {
      ...clientEnv(),
      RCLONE_CONFIG: "/dev/null",
      RCLONE_S3_PROVIDER: "Other",
      RCLONE_S3_ENDPOINT: endpoint,
      RCLONE_S3_ACCESS_KEY_ID: "test",
      RCLONE_S3_SECRET_ACCESS_KEY: "test",
      RCLONE_S3_FORCE_PATH_STYLE: "true",
    };
    const rclone = (...args: string[]) => execa("rclone", args, { env, extendEnv: false });
    await rclone("copyto", file, ":s3:reelpress/rclone/single.bin");
    expectSame(await inLibrary("rclone/single.bin"), "rclone single put");
    await rclone("copyto", "--s3-upload-cutoff", "8M", "--s3-chunk-size", "5M", file, ":s3:reelpress/rclone/multi.bin");
    expectSame(await inLibrary("rclone/multi.bin"), "rclone multipart");
    await rclone("copyto", ":s3:reelpress/rclone/multi.bin", path.join(dir, "rclone-down.bin"));
    expectSame(await readFile(path.join(dir, "rclone-down.bin")), "rclone download");
    expect((await rclone("lsf", ":s3:reelpress/rclone")).stdout.split("\n").sort()).toEqual(["multi.bin", "single.bin"]);
  });

  it("the minio package: fPutObject and fGetObject", async () => {
    const mc = new Minio.Client({ endPoint: "127.0.0.1", port: Number(port), useSSL: false, accessKey: "test", secretKey: "test", pathStyle: true, region: "us-east-1" });
    await mc.fPutObject("reelpress", "minio/put.bin", file, {});
    expectSame(await inLibrary("minio/put.bin"), "minio put");
    await mc.fGetObject("reelpress", "minio/put.bin", path.join(dir, "minio-down.bin"));
    expectSame(await readFile(path.join(dir, "minio-down.bin")), "minio get");
  });

  it("curl with presigned PUT and GET URLs", async (ctx) => {
    if (!(await has("curl"))) return ctx.skip("curl is not installed");
    // With default settings the SDK presigns a CRC32 of the empty body, which S3 (and this store) refuse for any other body.
    const s3 = new S3Client({ endpoint: endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "test", secretAccessKey: "test" }, requestChecksumCalculation: "WHEN_REQUIRED" });
    const put = await getSignedUrl(s3, new PutObjectCommand({ Bucket: "reelpress", Key: "curl/put.bin" }), { expiresIn: 600 });
    await execa("curl", ["-sSf", "-T", file, put]);
    expectSame(await inLibrary("curl/put.bin"), "curl put");
    const get = await getSignedUrl(s3, new GetObjectCommand({ Bucket: "reelpress", Key: "curl/put.bin" }), { expiresIn: 600 });
    await execa("curl", ["-sSf", "-o", path.join(dir, "curl-down.bin"), get]);
    expectSame(await readFile(path.join(dir, "curl-down.bin")), "curl get");
  });
});
