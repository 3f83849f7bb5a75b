import { createHash, randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { presignedGetUrl } from "../../shared/io/objects.ts";
import { rawRequest } from "../kit/raw-http.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

describe("embedded store over a folder", () => {
  let stack: TestStack;
  const data = randomBytes(3 * 1024 * 1024 + 17);
  const key = "dir/ü +#%?.mp4";
  beforeAll(async () => {
    stack = await startTestStack();
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: data, ContentType: "video/mp4", Metadata: { "reelpress-state": "x" } }));
  });
  afterAll(() => stack.stop());

  it("streams whole objects and byte ranges from disk with S3's headers", async () => {
    const url = await presignedGetUrl(stack, key);
    const whole = await fetch(url);
    expect(whole.status).toBe(200);
    expect(whole.headers.get("x-amz-meta-reelpress-state")).toBe("x");
    expect(whole.headers.get("content-type")).toBe("video/mp4");
    expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);
    for (const [range, from, to] of [["bytes=100-199", 100, 200], ["bytes=-10", data.length - 10, data.length], [`bytes=${data.length - 5}-`, data.length - 5, data.length]] as const) {
      const r = await fetch(url, { headers: { Range: range } });
      expect(r.status).toBe(206);
      expect(r.headers.get("content-range")).toBe(`bytes ${from}-${to - 1}/${data.length}`);
      expect(Buffer.from(await r.arrayBuffer()).equals(data.subarray(from, to))).toBe(true);
    }
    // The object is the file itself, at its key's path in the library folder.
    expect((await readFile(path.join(stack.embedded.library, ...key.split("/")))).equals(data)).toBe(true);
  });

  it("answers conditional, unsatisfiable and missing reads as S3 does", async () => {
    const url = await presignedGetUrl(stack, key);
    expect((await fetch(url, { headers: { Range: `bytes=${data.length + 10}-` } })).status).toBe(416);
    expect((await fetch(url, { headers: { "If-Match": '"nope"' } })).status).toBe(412);
    expect((await fetch(await presignedGetUrl(stack, "missing.mp4"))).status).toBe(404);
    const sdk = await stack.s3.send(new GetObjectCommand({ Bucket: "reelpress", Key: key, Range: "bytes=0-3" }));
    expect(Buffer.from(await sdk.Body!.transformToByteArray()).equals(data.subarray(0, 4))).toBe(true);
  });

  it("sends a batch delete posted as a form to the store, not to the queues (it once answered 200 and deleted nothing)", async () => {
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: "form/a.mp4", Body: "a" }));
    const body = "<Delete><Object><Key>form/a.mp4</Key></Object></Delete>";
    const headers = { "content-type": "application/x-www-form-urlencoded", "content-md5": createHash("md5").update(body).digest("base64") };
    const r = await rawRequest(stack.endpoint, "POST", "/reelpress?delete", headers, body);
    expect(r.status).toBe(200);
    expect(r.body).toContain("<Deleted><Key>form/a.mp4</Key></Deleted>");
    expect(await stack.s3.send(new HeadObjectCommand({ Bucket: "reelpress", Key: "form/a.mp4" })).then(() => "there", () => "gone")).toBe("gone");
  });
});
