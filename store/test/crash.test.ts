// A store killed between a write's two renames (its sidecar, then its file) must still describe the file
// left at the key: the old version's ETag and metadata survive a crash before the file's rename. The
// crash is simulated by failing that one rename, then opening the folder again as a restart would.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { HeadObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { serveFolder } from "../index.ts";

const crash = vi.hoisted(() => ({ renameTo: undefined as string | undefined }));
vi.mock("node:fs/promises", async (importOriginal) => {
  const fs = await importOriginal<typeof import("node:fs/promises")>();
  const rename: typeof fs.rename = async (from, to) => {
    if (crash.renameTo !== undefined && String(to) === crash.renameTo) throw Object.assign(new Error("killed here"), { code: "EKILLED" });
    return fs.rename(from, to);
  };
  return { ...fs, default: { ...fs, rename }, rename };
});

const BUCKET = "lib";

describe("folder store: a crash between the sidecar and the file", () => {
  let folder: string;
  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), "reelpress-crash-"));
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  it("keeps the old version's ETag and metadata when the new file never reached its key", async () => {
    const client = (port: number) => new S3Client({ endpoint: `http://127.0.0.1:${port}`, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "k", secretAccessKey: "s" }, maxAttempts: 1 });
    let server = await serveFolder({ folder, bucket: BUCKET, port: 0 });
    const v1 = await client(server.port).send(new PutObjectCommand({ Bucket: BUCKET, Key: "film.mp4", Body: "version one", ContentType: "video/mp4", Metadata: { state: "one" } }));
    crash.renameTo = path.join(server.store.root, "film.mp4");
    await expect(client(server.port).send(new PutObjectCommand({ Bucket: BUCKET, Key: "film.mp4", Body: "version two!", Metadata: { state: "two" } }))).rejects.toThrow();
    crash.renameTo = undefined;
    await server.stop();

    server = await serveFolder({ folder, bucket: BUCKET, port: 0 });
    try {
      const s3 = client(server.port);
      const head = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "film.mp4" }));
      expect([head.ETag, head.ContentType, head.Metadata?.state, head.ContentLength]).toEqual([v1.ETag, "video/mp4", "one", 11]);
      // And the next write is described as usual.
      const v3 = await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "film.mp4", Body: "version three", Metadata: { state: "three" } }));
      const after = await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: "film.mp4" }));
      expect([after.ETag, after.Metadata?.state]).toEqual([v3.ETag, "three"]);
    } finally {
      await server.stop();
    }
  });
});
