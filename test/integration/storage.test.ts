import { randomBytes } from "node:crypto";
import { mkdtemp, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { copyToFreeName, headObject, presignedGetUrl, renameVerified, uploadFile } from "../../shared/io/objects.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

describe("storage (against the folder store)", () => {
  let stack: TestStack;
  beforeAll(async () => void (stack = await startTestStack()));
  afterAll(() => stack.stop());
  const put = (key: string, body: string | Buffer, meta?: Record<string, string>) =>
    stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: body, Metadata: meta }));
  const body = async (key: string) => (await stack.s3.send(new GetObjectCommand({ Bucket: "reelpress", Key: key }))).Body!.transformToString();

  it("copies with metadata and proves the copy, empty objects too", async () => {
    await put("a dir/ü+#.mkv", "x".repeat(3000), { who: "me" });
    const copy = await copyToFreeName(stack, "a dir/ü+#.mkv", "bk/a dir/ü+#.mkv");
    expect(copy).toMatchObject({ key: "bk/a dir/ü+#.mkv", size: 3000, metadata: { who: "me" } });
    expect(await body("bk/a dir/ü+#.mkv")).toBe("x".repeat(3000));
    await put("empty.mkv", Buffer.alloc(0));
    expect((await copyToFreeName(stack, "empty.mkv", "bk/empty.mkv")).size).toBe(0);
  });

  it("renames safely and can finish a rename that was interrupted after the copy", async () => {
    await put("r/a.mp4", "data");
    await renameVerified(stack, "r/a.mp4", "r/a_skip.mp4");
    expect(await headObject(stack, "r/a.mp4")).toBeUndefined();
    expect(await body("r/a_skip.mp4")).toBe("data");
    // Crash between copy and delete: the retry sees both and deletes the old one.
    await put("r/b.mp4", "data2");
    await copyToFreeName(stack, "r/b.mp4", "r/b_skip.mp4");
    await renameVerified(stack, "r/b.mp4", "r/b_skip.mp4");
    expect(await headObject(stack, "r/b.mp4")).toBeUndefined();
    // Crash after the delete: the retry finds the job done.
    expect((await renameVerified(stack, "r/b.mp4", "r/b_skip.mp4")).size).toBe(5);
    await expect(renameVerified(stack, "r/none.mp4", "r/none_skip.mp4")).rejects.toThrow(/neither/);
  });

  it("never overwrites a derived key, nor takes what is there for a copy: even equal bytes are a taken name", async () => {
    await put("n/a_skip.mp4", "first file");
    await put("n/a_skip (2).mp4", "second file");
    await put("n/a.mp4", "third file");
    const moved = await renameVerified(stack, "n/a.mp4", "n/a_skip.mp4");
    expect(moved.key).toBe("n/a_skip (3).mp4");
    expect([await body("n/a_skip.mp4"), await body("n/a_skip (2).mp4"), await body("n/a_skip (3).mp4")]).toEqual(["first file", "second file", "third file"]);
    await put("n/b.mp4", "second file");
    // "n/a_skip (2).mp4" holds these very bytes, but anyone could have put them there.
    expect((await copyToFreeName(stack, "n/b.mp4", "n/a_skip.mp4")).key).toBe("n/a_skip (4).mp4");
    await expect(copyToFreeName(stack, "n/b.mp4", "n/a_skip.mp4", { expectEtag: '"other"' })).rejects.toThrow(/changed since/);
  });

  it("uploads a file by multipart and serves ranges through a presigned URL", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "rp-up-"));
    const file = path.join(dir, "big.bin");
    const data = randomBytes(12 * 1024 * 1024);
    await writeFile(file, data);
    let seen = 0;
    const r = await uploadFile(stack, file, "up/big.mp4", { partSize: 5 * 1024 * 1024, metadata: { "reelpress-state": "x" }, onProgress: (l) => (seen = l) });
    expect(r.size).toBe(data.length);
    expect(seen).toBe(data.length);
    const head = await headObject(stack, "up/big.mp4");
    expect(head).toMatchObject({ size: data.length, metadata: { "reelpress-state": "x" } });
    const res = await fetch(await presignedGetUrl(stack, "up/big.mp4"), { headers: { Range: "bytes=10-19" } });
    expect(res.status).toBe(206);
    expect(Buffer.from(await res.arrayBuffer())).toEqual(data.subarray(10, 20));
  });
});
