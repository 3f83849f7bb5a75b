// The folder store's S3 protocol, driven with the AWS SDK against a real server over a temp folder:
// conditional writes (also under concurrency), copies, multipart rules, listing order, errors, paths, auth.
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectsCommand, GetObjectCommand,
  HeadObjectCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client, UploadPartCommand,
} from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveFolder } from "../index.ts";
import { rawRequest } from "../../test/kit/raw-http.ts";
import { until } from "../../test/kit/wait.ts";

const BUCKET = "lib";
const MiB = 1024 * 1024;
const md5 = (b: Buffer) => createHash("md5").update(b).digest("hex");

function client(port: number, creds = { accessKeyId: "k", secretAccessKey: "s" }) {
  return new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", forcePathStyle: true, credentials: creds, maxAttempts: 1 });
}

const status = (err: unknown) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
async function failure(p: Promise<unknown>): Promise<{ name: string; status?: number }> {
  try {
    await p;
  } catch (err) {
    return { name: (err as Error).name, status: status(err) };
  }
  throw new Error("expected the request to fail");
}

describe("folder store protocol", () => {
  let folder: string;
  let server: Awaited<ReturnType<typeof serveFolder>>;
  let s3: S3Client;
  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), "reelpress-store-"));
    server = await serveFolder({ folder, bucket: BUCKET, port: 0 });
    s3 = client(server.port);
  });
  afterAll(async () => {
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("writes with If-None-Match: * exactly once, even when ten writers race for the key", async () => {
    const bodies = Array.from({ length: 10 }, (_, i) => Buffer.from(`writer ${i}`));
    const results = await Promise.allSettled(bodies.map((Body) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "race/one.txt", Body, IfNoneMatch: "*" }))));
    const won = results.flatMap((r, i) => (r.status === "fulfilled" ? [i] : []));
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(status(r.reason)).toBe(412);
    expect(await readFile(path.join(folder, "race/one.txt"))).toEqual(bodies[won[0]]);
  });

  it("If-Match replaces only the version it names; a lost update gets 412, a missing key 404", async () => {
    const first = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cas.json", Body: "1" }));
    expect(first.ETag).toBe(`"${md5(Buffer.from("1"))}"`);
    const racers = await Promise.allSettled(["2a", "2b", "2c"].map((Body) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cas.json", Body, IfMatch: first.ETag }))));
    expect(racers.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "cas.json", Body: "3", IfMatch: first.ETag })))).toMatchObject({ status: 412 });
    expect(await failure(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "absent.json", Body: "3", IfMatch: first.ETag })))).toMatchObject({ status: 404 });
    // Reads honour conditions too.
    const cur = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "cas.json" }));
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "cas.json", IfMatch: first.ETag })))).toMatchObject({ status: 412 });
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "cas.json", IfNoneMatch: cur.ETag })))).toMatchObject({ status: 304 });
  });

  it("copies with x-amz-copy-source-if-match, refuses to overwrite with If-None-Match, and computes asked-for checksums on both sides", async () => {
    const data = randomBytes(2 * MiB);
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "src.mp4", Body: data, Metadata: { who: "me" } }));
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "dst.mp4", CopySource: `${BUCKET}/src.mp4`, CopySourceIfMatch: '"0000"' })))).toMatchObject({ status: 412 });
    const copy = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "dst.mp4", CopySource: `${BUCKET}/src.mp4`, CopySourceIfMatch: put.ETag, ChecksumAlgorithm: "CRC64NVME", IfNoneMatch: "*" }));
    expect(copy.CopyObjectResult?.ETag).toBe(put.ETag);
    const [src, dst] = await Promise.all(["src.mp4", "dst.mp4"].map((Key) => s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key, ChecksumMode: "ENABLED" }))));
    expect(dst.ChecksumCRC64NVME).toBeTypeOf("string");
    expect(dst.ChecksumCRC64NVME).toBe(src.ChecksumCRC64NVME);
    expect(dst.Metadata).toEqual({ who: "me" });
    expect((await readFile(path.join(folder, "dst.mp4"))).equals(data)).toBe(true);
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "dst.mp4", CopySource: `${BUCKET}/src.mp4`, IfNoneMatch: "*" })))).toMatchObject({ status: 412 });
    // A copy onto itself changes metadata only, and only when asked to.
    expect(await failure(s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "src.mp4", CopySource: `${BUCKET}/src.mp4` })))).toMatchObject({ status: 400 });
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "src.mp4", CopySource: `${BUCKET}/src.mp4`, MetadataDirective: "REPLACE", Metadata: { who: "you" } }));
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "src.mp4" }))).Metadata).toEqual({ who: "you" });
  });

  it("keeps a checksum the client sends, and refuses a body that does not match it", async () => {
    const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "sum.bin", Body: randomBytes(1000), ChecksumAlgorithm: "CRC64NVME" }));
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "sum.bin", ChecksumMode: "ENABLED" }));
    expect(head.ChecksumCRC64NVME).toBe(put.ChecksumCRC64NVME);
    const bad = await rawRequest(`http://127.0.0.1:${server.port}`, "PUT", `/${BUCKET}/bad.bin`, { "x-amz-checksum-crc32": "AAAAAA==" }, "not zero");
    expect(bad.status).toBe(400);
    expect(bad.body).toContain("<Code>BadDigest</Code>");
    expect((await rawRequest(`http://127.0.0.1:${server.port}`, "HEAD", `/${BUCKET}/bad.bin`)).status).toBe(404);
  });

  it("joins multipart uploads with S3's ETag, and enforces part rules and conditions at completion", async () => {
    const parts = [randomBytes(5 * MiB), randomBytes(5 * MiB), randomBytes(1234)];
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mp/joined.mkv" }));
    const etags = [];
    for (const [i, Body] of parts.entries()) etags.push((await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "mp/joined.mkv", UploadId, PartNumber: i + 1, Body }))).ETag!);
    expect(
      await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "mp/joined.mkv", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: '"bad"' }] } }))),
    ).toMatchObject({ name: "InvalidPart", status: 400 });
    const done = await s3.send(
      new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "mp/joined.mkv", UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) } }),
    );
    const expected = createHash("md5").update(Buffer.concat(parts.map((p) => Buffer.from(md5(p), "hex")))).digest("hex");
    expect(done.ETag).toBe(`"${expected}-3"`);
    expect((await readFile(path.join(folder, "mp/joined.mkv"))).equals(Buffer.concat(parts))).toBe(true);

    const small = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mp/small.mkv" }));
    const tags = [];
    for (const n of [1, 2]) tags.push((await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "mp/small.mkv", UploadId: small.UploadId, PartNumber: n, Body: "tiny" }))).ETag!);
    expect(
      await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "mp/small.mkv", UploadId: small.UploadId, MultipartUpload: { Parts: tags.map((ETag, i) => ({ PartNumber: i + 1, ETag })) } }))),
    ).toMatchObject({ name: "EntityTooSmall" });
    // Completion onto a taken key with If-None-Match: * leaves the key as it was.
    const again = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "mp/joined.mkv" }));
    const e1 = (await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key: "mp/joined.mkv", UploadId: again.UploadId, PartNumber: 1, Body: "other" }))).ETag!;
    expect(
      await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "mp/joined.mkv", UploadId: again.UploadId, IfNoneMatch: "*", MultipartUpload: { Parts: [{ PartNumber: 1, ETag: e1 }] } }))),
    ).toMatchObject({ status: 412 });
    expect((await readFile(path.join(folder, "mp/joined.mkv"))).length).toBe(10 * MiB + 1234);
  });

  it("lists in UTF-8 byte order with prefixes, delimiters, pages and start-after, v2 and v1", async () => {
    const keys = ["l/a-b.txt", "l/a/b.txt", "l/a/c/d.txt", "l/z.txt", "l/é.txt", "l/ä.txt", "l/A.txt"];
    for (const Key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key }));
    const sorted = [...keys].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    const all: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "l/", MaxKeys: 2, ContinuationToken: token }));
      all.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    expect(all).toEqual(sorted);
    const byFolder = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "l/", Delimiter: "/" }));
    expect(byFolder.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["l/a/"]);
    expect(byFolder.Contents?.map((o) => o.Key)).toEqual(sorted.filter((k) => !k.startsWith("l/a/")));
    const after = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "l/", StartAfter: "l/a/b.txt" }));
    expect(after.Contents?.map((o) => o.Key)).toEqual(sorted.slice(sorted.indexOf("l/a/b.txt") + 1));
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: "l/a", Marker: "l/a-b.txt" }));
    expect(v1.Contents?.map((o) => o.Key)).toEqual(["l/a/b.txt", "l/a/c/d.txt"]);
    // The store's own area is never listed.
    const root = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: ".reelpress/" }));
    expect(root.Contents ?? []).toEqual([]);
  });

  it("deletes in batches and answers S3's error codes", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "del/a", Body: "a" }));
    const r = await s3.send(new DeleteObjectsCommand({ Bucket: BUCKET, Delete: { Objects: [{ Key: "del/a" }, { Key: "del/never" }] } }));
    expect(r.Deleted?.map((d) => d.Key).sort()).toEqual(["del/a", "del/never"]);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "del/a" })))).toMatchObject({ name: "NoSuchKey", status: 404 });
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "cas.json", Range: "bytes=900-" })))).toMatchObject({ status: 416 });
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: "other", Key: "x" })))).toMatchObject({ name: "NoSuchBucket" });
  });

  it("never follows a symlink out of the folder, and leaves no partial object when a client hangs up", async () => {
    const outside = await mkdtemp(path.join(os.tmpdir(), "reelpress-outside-"));
    try {
      await writeFile(path.join(outside, "secret.txt"), "secret");
      await symlink(outside, path.join(folder, "escape"));
      expect((await rawRequest(`http://127.0.0.1:${server.port}`, "GET", `/${BUCKET}/escape/secret.txt`)).status).toBe(400);
      expect((await rawRequest(`http://127.0.0.1:${server.port}`, "PUT", `/${BUCKET}/escape/new.txt`, {}, "x")).status).toBe(400);
      expect(await readdir(outside)).toEqual(["secret.txt"]);
      const listed = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "escape" }));
      expect(listed.Contents ?? []).toEqual([]);
    } finally {
      await rm(path.join(folder, "escape"));
      await rm(outside, { recursive: true, force: true });
    }
    await hangUpMidUpload(server.port, `/${BUCKET}/partial.mkv`);
    expect((await rawRequest(`http://127.0.0.1:${server.port}`, "HEAD", `/${BUCKET}/partial.mkv`)).status).toBe(404);
    // The store notices the hang-up and removes its temp file.
    await until("the temp file removed", async () => (await readdir(path.join(folder, ".reelpress/store/tmp"))).length === 0, 5000);
  });

  it("with credentials, takes only requests signed with them (headers or presigned query)", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-auth-"));
    const creds = { accessKeyId: "owner", secretAccessKey: "s3cr3t" };
    const guarded = await serveFolder({ folder: dir, bucket: BUCKET, port: 0, credentials: [creds] });
    try {
      const good = client(guarded.port, creds);
      await good.send(new PutObjectCommand({ Bucket: BUCKET, Key: "a b+é.txt", Body: "ok" }));
      expect(await failure(client(guarded.port, { accessKeyId: "owner", secretAccessKey: "wrong" }).send(new GetObjectCommand({ Bucket: BUCKET, Key: "a b+é.txt" })))).toMatchObject({ status: 403 });
      expect(await failure(client(guarded.port, { accessKeyId: "other", secretAccessKey: "s3cr3t" }).send(new GetObjectCommand({ Bucket: BUCKET, Key: "a b+é.txt" })))).toMatchObject({ status: 403 });
      expect((await rawRequest(`http://127.0.0.1:${guarded.port}`, "GET", `/${BUCKET}/a%20b%2B%C3%A9.txt`)).status).toBe(403);
      const url = await getSignedUrl(good, new GetObjectCommand({ Bucket: BUCKET, Key: "a b+é.txt" }), { expiresIn: 60 });
      expect(await (await fetch(url)).text()).toBe("ok");
      expect((await fetch(url.replace(/X-Amz-Signature=[0-9a-f]+/, `X-Amz-Signature=${"0".repeat(64)}`))).status).toBe(403);
    } finally {
      await guarded.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Sends half of a declared body, then drops the connection. */
async function hangUpMidUpload(port: number, p: string): Promise<void> {
  await new Promise<void>((resolve) => {
    const req = http.request({ host: "127.0.0.1", port, method: "PUT", path: p, headers: { "content-length": 4 * MiB } });
    req.on("error", () => resolve());
    req.write(randomBytes(2 * MiB), () => setTimeout(() => (req.destroy(), resolve()), 200));
  });
}


