// A store that requires signatures, as `reelpress dev --host 0.0.0.0` starts it, takes only what the
// signature binds: every x-amz-* header, the body (by its hash, its chunk signatures or a digest the
// signature covers), a scope naming this store's region and service on the signing day, and presigned
// URLs within S3's time limits. Each case is a raw request, so nothing but the store decides.
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { crc32 } from "node:zlib";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { getSignedUrl } from "@aws-sdk/s3-request-presigner";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveFolder } from "../index.ts";
import { rawRequest } from "../../test/kit/raw-http.ts";
import { chunkedBody, presignPath, sha256Hex, signHeaders } from "../../test/kit/sigv4.ts";

const BUCKET = "library";
const keys = { accessKeyId: "owner", secretAccessKey: "s3cr3t" };
const md5 = (b: string | Buffer) => createHash("md5").update(b).digest("base64");
const crc = (b: Buffer) => {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(crc32(b) >>> 0);
  return out.toString("base64");
};

describe("a store that requires signatures", () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof serveFolder>>;
  let endpoint: string;
  let host: string;
  let s3: S3Client;

  const exists = async (key: string) => (await rawRequest(endpoint, "HEAD", `/${BUCKET}/${key}`, signHeaders(host, { method: "HEAD", path: `/${BUCKET}/${key}`, headers: {}, payload: sha256Hex(""), keys }).headers)).status === 200;
  const put = (key: string, body: string) => s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: body }));
  const tempFiles = () => readdir(path.join(dir, ".reelpress/store/tmp"));
  const send = (method: string, p: string, headers: Record<string, string>, body?: string | Buffer) => rawRequest(endpoint, method, p, headers, body);

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-auth-"));
    server = await serveFolder({ folder: dir, bucket: BUCKET, port: 0, host: "0.0.0.0", credentials: [keys] });
    endpoint = `http://127.0.0.1:${server.port}`;
    host = `127.0.0.1:${server.port}`;
    s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: keys, maxAttempts: 1 });
  });
  afterAll(async () => {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses x-amz-* headers the signature does not cover, in signed and presigned requests", async () => {
    const body = "not really a video";
    const signed = signHeaders(host, { method: "PUT", path: `/${BUCKET}/forged.mp4`, headers: {}, payload: sha256Hex(body), keys });
    const forged = await send("PUT", `/${BUCKET}/forged.mp4`, { ...signed.headers, "x-amz-meta-reelpress-state": "compressed_h264_v4" }, body);
    expect(forged.status).toBe(403);
    expect(forged.body).toContain("There were headers present in the request which were not signed: x-amz-meta-reelpress-state");
    expect(await exists("forged.mp4")).toBe(false);

    await put("private/secret.mp4", "private bytes");
    // WHEN_REQUIRED: by default the SDK would presign a CRC32 of the empty body.
    const presigner = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: keys, requestChecksumCalculation: "WHEN_REQUIRED" });
    const url = new URL(await getSignedUrl(presigner, new PutObjectCommand({ Bucket: BUCKET, Key: "public/upload.mp4" }), { expiresIn: 60 }));
    const copied = await send("PUT", url.pathname + url.search, { "x-amz-copy-source": `/${BUCKET}/private/secret.mp4` }, "");
    expect(copied.status).toBe(403);
    expect(copied.body).toContain("x-amz-copy-source");
    expect(await exists("public/upload.mp4")).toBe(false);
    // The same URL, used as meant, works.
    expect((await send("PUT", url.pathname + url.search, {}, "mine")).status).toBe(200);
  });

  it("checks the payload hash of object and XML bodies before acting on them", async () => {
    const signed = signHeaders(host, { method: "PUT", path: `/${BUCKET}/swapped.mp4`, headers: {}, payload: sha256Hex("signed bytes"), keys });
    const r = await send("PUT", `/${BUCKET}/swapped.mp4`, signed.headers, "other bytes!");
    expect(r.body).toContain("XAmzContentSHA256Mismatch");
    expect(r.status).toBe(400);
    expect(await exists("swapped.mp4")).toBe(false);
    expect(await tempFiles()).toEqual([]);

    for (const k of ["keep/a.mp4", "keep/b.mp4", "gone.mp4"]) await put(k, k);
    const meant = `<Delete><Object><Key>gone.mp4</Key></Object></Delete>`;
    const swapped = `<Delete><Object><Key>keep/a.mp4</Key></Object><Object><Key>keep/b.mp4</Key></Object></Delete>`;
    const del = signHeaders(host, { method: "POST", path: `/${BUCKET}?delete=`, headers: { "content-md5": md5(meant) }, payload: sha256Hex(meant), keys });
    const swap = await send("POST", `/${BUCKET}?delete=`, { ...del.headers, "content-md5": md5(swapped) }, swapped);
    expect(swap.status).toBe(403);
    const swapKeepingMd5 = signHeaders(host, { method: "POST", path: `/${BUCKET}?delete=`, headers: {}, payload: sha256Hex(meant), keys });
    const r2 = await send("POST", `/${BUCKET}?delete=`, { ...swapKeepingMd5.headers, "content-md5": md5(swapped) }, swapped);
    expect(r2.body).toContain("XAmzContentSHA256Mismatch");
    expect(await exists("keep/a.mp4")).toBe(true);
    expect(await exists("keep/b.mp4")).toBe(true);
    const ok = await send("POST", `/${BUCKET}?delete=`, del.headers, meant);
    expect(ok.status).toBe(200);
    expect(await exists("gone.mp4")).toBe(false);
  });

  it("takes an unsigned DeleteObjects body only with a signed digest that a swapped body cannot match", async () => {
    for (const k of ["u/a.mp4", "u/b.mp4"]) await put(k, k);
    const body = `<Delete><Object><Key>u/a.mp4</Key></Object></Delete>`;
    const p = `/${BUCKET}?delete=`;
    const none = signHeaders(host, { method: "POST", path: p, headers: {}, payload: "UNSIGNED-PAYLOAD", keys });
    expect((await send("POST", p, none.headers, body)).body).toContain("InvalidRequest");
    // A CRC is signed here, but a body with the same CRC is easily made: not enough.
    const withCrc = signHeaders(host, { method: "POST", path: p, headers: { "x-amz-checksum-crc32": crc(Buffer.from(body)) }, payload: "UNSIGNED-PAYLOAD", keys });
    expect((await send("POST", p, withCrc.headers, body)).body).toContain("InvalidRequest");
    const swapped = `<Delete><Object><Key>u/b.mp4</Key></Object></Delete>`;
    const withMd5 = signHeaders(host, { method: "POST", path: p, headers: { "content-md5": md5(body) }, payload: "UNSIGNED-PAYLOAD", keys });
    expect((await send("POST", p, withMd5.headers, swapped)).body).toContain("BadDigest");
    expect(await exists("u/b.mp4")).toBe(true);
    expect((await send("POST", p, withMd5.headers, body)).status).toBe(200);
    expect(await exists("u/a.mp4")).toBe(false);
  });

  it("checks chained chunk signatures and trailers of aws-chunked bodies; a bad one leaves no object", async () => {
    const data = randomBytes(200 * 1024);
    const chunked = (key: string, mode: string, extra: Record<string, string> = {}) =>
      signHeaders(host, { method: "PUT", path: `/${BUCKET}/${key}`, headers: { "content-encoding": "aws-chunked", "x-amz-decoded-content-length": String(data.length), ...extra }, payload: mode, keys });

    const good = chunked("chunked/good.bin", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    expect((await send("PUT", `/${BUCKET}/chunked/good.bin`, good.headers, chunkedBody(data, { chunkSize: 64 * 1024, signing: { ...good, seed: good.signature } }))).status).toBe(200);
    expect(await exists("chunked/good.bin")).toBe(true);

    const zero = chunked("chunked/zero.bin", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
    const r = await send("PUT", `/${BUCKET}/chunked/zero.bin`, zero.headers, chunkedBody(data, { chunkSize: 64 * 1024, signing: { ...zero, seed: zero.signature }, forge: "0".repeat(64) }));
    expect(r.status).toBe(403);
    expect(r.body).toContain("SignatureDoesNotMatch");
    expect(await exists("chunked/zero.bin")).toBe(false);

    const trailer: [string, string] = ["x-amz-checksum-crc32", crc(data)];
    const t = chunked("chunked/trailer.bin", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER", { "x-amz-trailer": "x-amz-checksum-crc32" });
    const badTrailer = await send("PUT", `/${BUCKET}/chunked/trailer.bin`, t.headers, chunkedBody(data, { chunkSize: 64 * 1024, signing: { ...t, seed: t.signature }, trailer, forgeTrailer: true }));
    expect(badTrailer.status).toBe(403);
    expect(await exists("chunked/trailer.bin")).toBe(false);
    expect((await send("PUT", `/${BUCKET}/chunked/trailer.bin`, t.headers, chunkedBody(data, { chunkSize: 64 * 1024, signing: { ...t, seed: t.signature }, trailer }))).status).toBe(200);

    const declared = chunked("chunked/no-trailer.bin", "STREAMING-UNSIGNED-PAYLOAD-TRAILER", { "x-amz-trailer": "x-amz-checksum-crc32" });
    const missing = await send("PUT", `/${BUCKET}/chunked/no-trailer.bin`, declared.headers, chunkedBody(data, { chunkSize: 64 * 1024 }));
    expect(missing.body).toContain("MalformedTrailerError");
    expect(await exists("chunked/no-trailer.bin")).toBe(false);
    const wrong = await send("PUT", `/${BUCKET}/chunked/no-trailer.bin`, declared.headers, chunkedBody(data, { chunkSize: 64 * 1024, trailer: ["x-amz-checksum-crc32", crc(Buffer.from("other"))] }));
    expect(wrong.body).toContain("BadDigest");
    expect(await exists("chunked/no-trailer.bin")).toBe(false);
    expect(await tempFiles()).toEqual([]);
  });

  it("takes only a scope naming this store's region and service on the day of X-Amz-Date", async () => {
    const get = (o: { region?: string; service?: string; scopeDay?: string }) => {
      const s = signHeaders(host, { method: "GET", path: `/${BUCKET}?list-type=2`, headers: {}, payload: sha256Hex(""), keys, ...o });
      return send("GET", `/${BUCKET}?list-type=2`, s.headers);
    };
    expect((await get({})).status).toBe(200);
    expect((await get({ region: "eu-west-1" })).body).toMatch(/AuthorizationHeaderMalformed.*eu-west-1.* is wrong; expecting .*us-east-1/);
    expect((await get({ service: "sqs" })).body).toContain("AuthorizationHeaderMalformed");
    expect((await get({ scopeDay: "20200101" })).body).toContain("AuthorizationHeaderMalformed");
  });

  it("refuses presigned URLs that live longer than a week or start in the future", async () => {
    await put("p.mp4", "presigned");
    const week = presignPath(host, { method: "GET", path: `/${BUCKET}/p.mp4`, keys, expiresSec: 604800 });
    expect((await send("GET", week, {})).body).toBe("presigned");
    const longer = await send("GET", presignPath(host, { method: "GET", path: `/${BUCKET}/p.mp4`, keys, expiresSec: 604801 }), {});
    expect(longer.status).toBe(400);
    expect(longer.body).toContain("AuthorizationQueryParametersError");
    const future = await send("GET", presignPath(host, { method: "GET", path: `/${BUCKET}/p.mp4`, keys, expiresSec: 60, date: new Date(Date.now() + 3600_000) }), {});
    expect(future.status).toBe(403);
    expect(future.body).toContain("Request is not valid yet");
    // A CORS preflight of such a URL carries no signature of its own (OPTIONS was not what was signed): it
    // gets S3's answer for a bucket without CORS, not a signature error, and reads nothing.
    const preflight = await send("OPTIONS", week, {});
    expect([preflight.status, preflight.body]).toEqual([400, expect.stringContaining("Origin request header needed")]);
  });

  it("takes a signed plain body whose Content-Encoding lists aws-chunked, checked against its payload hash", async () => {
    const body = "plain bytes";
    const signed = signHeaders(host, { method: "PUT", path: `/${BUCKET}/gz.txt`, headers: { "content-encoding": "gzip, aws-chunked" }, payload: sha256Hex(body), keys });
    expect((await send("PUT", `/${BUCKET}/gz.txt`, signed.headers, "other bytes")).body).toContain("XAmzContentSHA256Mismatch");
    expect((await send("PUT", `/${BUCKET}/gz.txt`, signed.headers, body)).status).toBe(200);
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "gz.txt" }));
    expect([got.ContentEncoding, await got.Body!.transformToString()]).toEqual(["gzip", body]);
  });

  it("still takes the SDK's own signing: aws-chunked uploads with a CRC32 trailer, and downloads", async () => {
    const data = randomBytes(3 * 1024 * 1024);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "sdk.bin", Body: data }));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "sdk.bin", ChecksumMode: "ENABLED" }));
    expect(Buffer.from(await got.Body!.transformToByteArray()).equals(data)).toBe(true);
    expect(got.ChecksumCRC32).toBe(crc(data));
  });
});
