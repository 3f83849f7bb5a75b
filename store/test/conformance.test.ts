// Where the folder store strayed from S3 (found by Ceph's s3-tests and by review), each pinned by the
// answer S3 gives: driven with the AWS SDK or raw HTTP against a real server over a temp folder.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import {
  CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, DeleteObjectCommand, GetObjectCommand, HeadObjectCommand, ListObjectVersionsCommand, ListObjectsCommand, ListObjectsV2Command, ListPartsCommand, PutObjectCommand, S3Client,
  UploadPartCommand, UploadPartCopyCommand,
} from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveFolder } from "../index.ts";
import { rawRequest } from "../../test/kit/raw-http.ts";

const BUCKET = "lib";
const MiB = 1024 * 1024;
const md5Hex = (b: string | Buffer) => createHash("md5").update(b).digest("hex");

const failure = (p: Promise<unknown>) =>
  p.then(
    () => Promise.reject(new Error("expected the request to fail")),
    (err) => ({ name: (err as Error).name, status: (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode }),
  );

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

  /** A completed multipart upload of `sizes` random bytes each; returns the whole object. */
  const multipartObject = async (Key: string, sizes: number[]) => {
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
    const bodies = sizes.map((n) => randomBytes(n));
    const Parts = [];
    for (const [i, Body] of bodies.entries()) {
      const { ETag } = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: i + 1, Body }));
      Parts.push({ ETag, PartNumber: i + 1 });
    }
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts } }));
    return { bodies, whole: Buffer.concat(bodies) };
  };

  it("GET ?partNumber=N answers that part's range; part 1 of a single-part object is all of it", async () => {
    const { bodies } = await multipartObject("parts.bin", [5 * MiB, 5 * MiB, 1000]);
    const second = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "parts.bin", PartNumber: 2 }));
    expect(second.$metadata.httpStatusCode).toBe(206);
    expect(second.PartsCount).toBe(3);
    expect(second.ContentRange).toBe(`bytes ${5 * MiB}-${10 * MiB - 1}/${10 * MiB + 1000}`);
    expect(Buffer.from(await second.Body!.transformToByteArray()).equals(bodies[1])).toBe(true);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "parts.bin", PartNumber: 3 }));
    expect([head.ContentLength, head.PartsCount]).toEqual([1000, 3]);
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "parts.bin", PartNumber: 4 })))).toEqual({ name: "InvalidPartNumber", status: 416 });

    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "single.txt", Body: "body" }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "single.txt", PartNumber: 1 }))).Body!.transformToString()).toBe("body");
    expect(await failure(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "single.txt", PartNumber: 2 })))).toMatchObject({ status: 416 });
  });

  it("UploadPartCopy refuses a malformed copy range (400) and one past the source's end (416), copying nothing", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "five.bin", Body: "12345" }));
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key: "copied.bin" }));
    const copy = (CopySourceRange: string) => s3.send(new UploadPartCopyCommand({ Bucket: BUCKET, Key: "copied.bin", UploadId, PartNumber: 1, CopySource: `${BUCKET}/five.bin`, CopySourceRange }));
    for (const bad of ["0-2", "bytes=0", "bytes=hello-world", "bytes=0-bar", "bytes=hello-", "bytes=0-2,3-5", "bytes=-2", "bytes=1-"]) {
      expect(await failure(copy(bad)), bad).toEqual({ name: "InvalidArgument", status: 400 });
    }
    for (const outside of ["bytes=0-5", "bytes=0-21", "bytes=3-2"]) expect(await failure(copy(outside)), outside).toEqual({ name: "InvalidRange", status: 416 });
    const ok = await copy("bytes=1-3");
    expect(ok.CopyPartResult?.ETag).toBe(`"${createHash("md5").update("234").digest("hex")}"`);
  });

  it("ListObjectVersions lists each object once, as an unversioned bucket: VersionId null, IsLatest", async () => {
    for (const Key of ["v/a.txt", "v/b.txt", "v/sub/c.txt"]) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: Key }));
    const page1 = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: "v/", MaxKeys: 2 }));
    expect(page1.Versions?.map((v) => [v.Key, v.VersionId, v.IsLatest, v.Size])).toEqual([["v/a.txt", "null", true, 7], ["v/b.txt", "null", true, 7]]);
    expect([page1.IsTruncated, page1.NextKeyMarker]).toEqual([true, "v/b.txt"]);
    const page2 = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: "v/", KeyMarker: page1.NextKeyMarker }));
    expect(page2.Versions?.map((v) => v.Key)).toEqual(["v/sub/c.txt"]);
    expect(page2.IsTruncated).toBe(false);
    const folders = await s3.send(new ListObjectVersionsCommand({ Bucket: BUCKET, Prefix: "v/", Delimiter: "/" }));
    expect(folders.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["v/sub/"]);
    expect(folders.DeleteMarkers ?? []).toEqual([]);
  });

  it("max-keys=0 lists nothing and is not truncated (a truncated page with no token would loop)", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "mk/a.txt", Body: "a" }));
    const v2 = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "mk/", MaxKeys: 0 }));
    expect([v2.IsTruncated, v2.KeyCount, v2.NextContinuationToken, v2.Contents]).toEqual([false, 0, undefined, undefined]);
    const v1 = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: "mk/", MaxKeys: 0 }));
    expect([v1.IsTruncated, v1.Contents]).toEqual([false, undefined]);
  });

  it("checks each part's checksum, and gives it back in ListParts and (composite) in CompleteMultipartUpload", async () => {
    const Key = "sums.bin";
    const sha = (b: Buffer) => createHash("sha256").update(b).digest();
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key, ChecksumAlgorithm: "SHA256" }));
    const bodies = [randomBytes(5 * MiB), randomBytes(100)];
    const wrong = sha(Buffer.from("other bytes")).toString("base64");
    expect(await failure(s3.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: 1, Body: bodies[0], ChecksumSHA256: wrong })))).toEqual({ name: "BadDigest", status: 400 });
    const parts = [];
    for (const [i, Body] of bodies.entries()) {
      const sent = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: i + 1, Body, ChecksumSHA256: sha(Body).toString("base64") }));
      expect(sent.ChecksumSHA256).toBe(sha(Body).toString("base64"));
      parts.push({ PartNumber: i + 1, ETag: sent.ETag, ChecksumSHA256: sent.ChecksumSHA256 });
    }
    const listed = await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key, UploadId }));
    expect(listed.Parts?.map((p) => p.ChecksumSHA256)).toEqual(parts.map((p) => p.ChecksumSHA256));
    // A Complete naming a part's checksum wrongly is refused, as S3 does.
    expect(await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts: [parts[0], { ...parts[1], ChecksumSHA256: wrong }] } })))).toMatchObject({ name: "InvalidPart", status: 400 });
    const done = await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts: parts } }));
    expect(done.ChecksumSHA256).toBe(`${sha(Buffer.concat(bodies.map(sha))).toString("base64")}-2`);
  });

  it("removes the folders a delete leaves empty, so a key with the folder's name can be written", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "d1/d2/x", Body: "x" }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "d1/keep", Body: "k" }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "d1/d2/x" }));
    expect(await readdir(path.join(folder, "d1"))).toEqual(["keep"]);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "d1/d2", Body: "now a file" }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "d1/d2" }));
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "d1/keep" }));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "d1", Body: "a file named d1" }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "d1" }))).Body!.transformToString()).toBe("a file named d1");
    // The library folder itself stays, however empty.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "d1" }));
    expect(await readdir(folder)).toContain(".reelpress");
  });

  it("a write racing deletes that empty its folder still lands", async () => {
    for (let round = 0; round < 5; round++) {
      await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `race-dir/old${round}`, Body: "o" }));
      await Promise.all([s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `race-dir/old${round}` })), s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: `race-dir/new${round}`, Body: "n" }))]);
      expect(await readdir(path.join(folder, "race-dir"))).toEqual([`new${round}`]);
      await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: `race-dir/new${round}` }));
    }
  });

  it("refuses with 501 what it cannot honour (encryption, tags, storage classes, object lock) instead of ignoring it", async () => {
    const sseC = { "x-amz-server-side-encryption-customer-algorithm": "AES256", "x-amz-server-side-encryption-customer-key": "pO3upElrwuEXSoFwCfnZPdSsmt/xWeFa0N9KgDijwVs=", "x-amz-server-side-encryption-customer-key-md5": "DWygnHRtgiJ77HCm+1rvHw==" };
    const refused: Array<[string, string, Record<string, string>, string?]> = [
      ["PUT", "/nope/ssec", sseC, "secret"],
      ["PUT", "/nope/kms", { "x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-aws-kms-key-id": "k" }, "x"],
      ["PUT", "/nope/sse-s3", { "x-amz-server-side-encryption": "AES256" }, "x"],
      ["PUT", "/nope/tagged", { "x-amz-tagging": "a=b" }, "x"],
      ["PUT", "/nope/glacier", { "x-amz-storage-class": "GLACIER" }, "x"],
      ["PUT", "/nope/locked", { "x-amz-object-lock-mode": "COMPLIANCE", "x-amz-object-lock-retain-until-date": "2099-01-01T00:00:00Z" }, "x"],
      ["PUT", "/nope/held", { "x-amz-object-lock-legal-hold": "ON" }, "x"],
      ["POST", "/nope/mpu?uploads", { "x-amz-server-side-encryption": "aws:kms" }],
      ["PUT", "/copy-dst", { "x-amz-copy-source": `/${BUCKET}/single.txt`, "x-amz-tagging-directive": "REPLACE", "x-amz-tagging": "a=b" }],
      ["GET", "/single.txt", sseC],
      ["PUT", "/single.txt?tagging", {}, "<Tagging><TagSet/></Tagging>"],
      ["PUT", "/single.txt?retention", {}, "<Retention/>"],
      ["PUT", "/single.txt?legal-hold", {}, "<LegalHold/>"],
      ["PUT", "?object-lock", {}, "<ObjectLockConfiguration/>"],
      ["PUT", "?encryption", {}, "<ServerSideEncryptionConfiguration/>"],
      ["GET", "?object-lock", {}],
    ];
    for (const [method, p, headers, body] of refused) {
      const r = await rawRequest(url, method, `/${BUCKET}${p}`, headers, body);
      expect([r.status, /<Code>(\w+)<\/Code>/.exec(r.body)?.[1]], `${method} ${p}`).toEqual([501, "NotImplemented"]);
    }
    expect(await readdir(folder)).not.toContain("nope");
    // What clients send by default still works: STANDARD (s3cmd sends it), and reading an empty tag set.
    expect((await rawRequest(url, "PUT", `/${BUCKET}/std`, { "x-amz-storage-class": "STANDARD" }, "x")).status).toBe(200);
    expect((await rawRequest(url, "GET", `/${BUCKET}/std?tagging`)).status).toBe(200);
  });

  it("answers a retried CompleteMultipartUpload of a just-completed upload with 200 and the same result", async () => {
    const Key = "retried.bin";
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
    const { ETag } = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: 1, Body: "only part" }));
    const complete = (Parts: Array<{ PartNumber: number; ETag?: string }>) => s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts } }));
    const first = await complete([{ PartNumber: 1, ETag }]);
    const again = await complete([{ PartNumber: 1, ETag }]);
    expect(again.ETag).toBe(first.ETag);
    expect(again.$metadata.httpStatusCode).toBe(200);
    // Other parts than those completed, or another key, are still no such upload.
    expect(await failure(complete([{ PartNumber: 2, ETag }]))).toMatchObject({ name: "NoSuchUpload", status: 404 });
    expect(await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key: "other.bin", UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag }] } })))).toMatchObject({ status: 404 });
  });

  it("takes keys whose last segment is 251-255 bytes, uploaded or copied into the folder, and leaks no temp file", async () => {
    const long = (n: number) => `long/${"é".repeat(Math.floor((n - 4) / 2))}${"x".repeat((n - 4) % 2)}.mp4`;
    for (const n of [251, 255]) {
      const Key = long(n);
      expect(Buffer.byteLength(Key.split("/")[1])).toBe(n);
      const put = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key, Body: "put", Metadata: { n: String(n) } }));
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key }));
      expect([head.ETag, head.Metadata?.n]).toEqual([put.ETag, String(n)]);
    }
    // A file copied in behind the store's back: its sidecar is first written when a checksum is asked for.
    const copiedIn = long(254).replace("long/", "copied/");
    await mkdir(path.join(folder, "copied"));
    await writeFile(path.join(folder, copiedIn), "copied in");
    const copy = await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: "copied/short.mp4", CopySource: encodeURI(`${BUCKET}/${copiedIn}`), ChecksumAlgorithm: "SHA256" }));
    expect(copy.CopyObjectResult?.ChecksumSHA256).toBe(createHash("sha256").update("copied in").digest("base64"));
    expect((await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: copiedIn, ChecksumMode: "ENABLED" }))).ChecksumSHA256).toBe(copy.CopyObjectResult?.ChecksumSHA256);
    expect(await readdir(path.join(folder, ".reelpress/store/tmp"))).toEqual([]);
  });

  it("completes a part resent while its first upload was still arriving with the version that finished last", async () => {
    // s3-tests' multipart_resend_first_finishes_last: upload A of part 1 is held mid-body while upload B of
    // part 1 is sent whole; then A finishes. The client lists both answers; the last one, A's, counts.
    const Key = "resend.bin";
    const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
    const [a, b] = ["AAAAAAAA", "BBBBBBBB"];
    let answered!: (etag: string) => void;
    const aEtag = new Promise<string>((resolve) => (answered = resolve));
    const slow = http.request({ host: "127.0.0.1", port: server.port, method: "PUT", path: `/${BUCKET}/${Key}?partNumber=1&uploadId=${UploadId}`, headers: { "content-length": a.length } }, (res) => {
      res.resume();
      res.on("end", () => answered(String(res.headers.etag)));
    });
    slow.write(a.slice(0, 4));
    const bPart = await s3.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: 1, Body: b }));
    slow.end(a.slice(4));
    const Parts = [{ PartNumber: 1, ETag: bPart.ETag }, { PartNumber: 1, ETag: await aEtag }];
    expect(Parts.map((p) => p.ETag)).toEqual([`"${md5Hex(b)}"`, `"${md5Hex(a)}"`]);
    // Listed the other way round, the older answer does not name what part 1 now is.
    expect(await failure(s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts: [...Parts].reverse() } })))).toMatchObject({ name: "InvalidPart" });
    await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts } }));
    expect(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }))).Body!.transformToString()).toBe(a);
  });

  it("keeps a part's bytes and its ETag from the same upload when uploads of one part race", async () => {
    const Key = "racing-part.bin";
    for (let round = 0; round < 4; round++) {
      const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: BUCKET, Key }));
      const bodies = Array.from({ length: 16 }, () => randomBytes(1024));
      await Promise.all(bodies.map((Body) => s3.send(new UploadPartCommand({ Bucket: BUCKET, Key, UploadId, PartNumber: 1, Body }))));
      const [part] = (await s3.send(new ListPartsCommand({ Bucket: BUCKET, Key, UploadId }))).Parts!;
      // Only the version listed is kept: the replaced ones leave no bytes behind.
      expect((await readdir(path.join(folder, ".reelpress/store/uploads", UploadId!))).filter((n) => n.endsWith(".part"))).toHaveLength(1);
      await s3.send(new CompleteMultipartUploadCommand({ Bucket: BUCKET, Key, UploadId, MultipartUpload: { Parts: [{ PartNumber: 1, ETag: part.ETag }] } }));
      const got = Buffer.from(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key }))).Body!.transformToByteArray());
      expect(`"${md5Hex(got)}"`, `round ${round}`).toBe(part.ETag);
    }
  });

  it("takes a plain body whose Content-Encoding lists aws-chunked (the payload hash says how it is framed)", async () => {
    const body = "plain, not chunked";
    const sha = createHash("sha256").update(body).digest("hex");
    for (const [encoding, payload] of [["gzip, aws-chunked", sha], ["aws-chunked, gzip", "UNSIGNED-PAYLOAD"]]) {
      const r = await rawRequest(url, "PUT", `/${BUCKET}/encoded.txt`, { "content-encoding": encoding, "x-amz-content-sha256": payload }, body);
      expect(r.status, `${encoding} ${r.body}`).toBe(200);
      const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "encoded.txt" }));
      expect([got.ContentEncoding, await got.Body!.transformToString()]).toEqual(["gzip", body]);
    }
  });

  it("answers non-ASCII user metadata RFC 2047-encoded, as S3 does, and ASCII as sent", async () => {
    // The UTF-8 bytes of "Hello Worldé" raw in the header, as boto3 sends them (Node writes a latin1 string's
    // chars as bytes when the body is a Buffer).
    const sent = Buffer.from("Hello Worldé").toString("latin1");
    expect((await rawRequest(url, "PUT", `/${BUCKET}/meta.txt`, { "x-amz-meta-greeting": sent, "x-amz-meta-plain": "just ascii" }, Buffer.from("m"))).status).toBe(200);
    const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "meta.txt" }));
    expect(head.Metadata).toEqual({ greeting: `=?UTF-8?B?${Buffer.from("Hello Worldé").toString("base64")}?=`, plain: "just ascii" });
  });

  it("lists with encoding-type=url as S3 does: keys encoded, ListObjects' Prefix echoed as sent, V2's encoded", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "enc/a b+c.txt", Body: "x" }));
    const v1 = await rawRequest(url, "GET", `/${BUCKET}?prefix=${encodeURIComponent("enc/a b")}&encoding-type=url`);
    expect(/<Prefix>([^<]*)<\/Prefix>/.exec(v1.body)?.[1]).toBe("enc/a b");
    expect(/<Key>([^<]*)<\/Key>/.exec(v1.body)?.[1]).toBe("enc/a%20b%2Bc.txt");
    const v2 = await rawRequest(url, "GET", `/${BUCKET}?list-type=2&prefix=${encodeURIComponent("enc/a b")}&encoding-type=url`);
    expect(/<Prefix>([^<]*)<\/Prefix>/.exec(v2.body)?.[1]).toBe("enc/a%20b");
    // s3-tests' bucket_list_prefix_unreadable: boto3 asks for url encoding and decodes all but v1's Prefix.
    const nl = await rawRequest(url, "GET", `/${BUCKET}?prefix=%0A&encoding-type=url`);
    expect(/<Prefix>([^<]*)<\/Prefix>/.exec(nl.body)?.[1]).toBe("\n");
  });

  it("echoes an empty ContinuationToken and lists from the start", async () => {
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "tok/a", Body: "a" }));
    const r = await rawRequest(url, "GET", `/${BUCKET}?list-type=2&prefix=tok/&continuation-token=`);
    expect(r.body).toMatch(/<ContinuationToken><\/ContinuationToken>|<ContinuationToken\/>/);
    expect(r.body).toContain("<Key>tok/a</Key>");
  });

  it("refuses a CORS preflight as S3 does on a bucket without CORS: 400 without Origin, else 403", async () => {
    const bare = await rawRequest(url, "OPTIONS", `/${BUCKET}/single.txt`);
    expect([bare.status, /<Code>(\w+)<\/Code>/.exec(bare.body)?.[1]]).toEqual([400, "BadRequest"]);
    const preflight = await rawRequest(url, "OPTIONS", `/${BUCKET}/single.txt`, { origin: "https://example.com", "access-control-request-method": "GET" });
    expect([preflight.status, /<Code>(\w+)<\/Code>/.exec(preflight.body)?.[1]]).toEqual([403, "AccessForbidden"]);
  });
});
