// Symbolic links in the library: a key that resolves to the same file as another is that file, never a
// second object. The walk (listings, the folder watcher) lists no link and follows none, so loops end and
// nothing of the store's own area shows; writes and deletes never reach through a linked folder.
import { mkdir, mkdtemp, readFile, readdir, readlink, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { serveFolder, watchFolder } from "../index.ts";

const BUCKET = "lib";

describe("folder store: symbolic links", () => {
  let folder: string;
  let server: Awaited<ReturnType<typeof serveFolder>>;
  let s3: S3Client;
  const at = (key: string) => path.join(folder, ...key.split("/"));
  const listed = async (Prefix = "") => {
    const out: string[] = [];
    let token: string | undefined;
    do {
      const page = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix, ContinuationToken: token }));
      out.push(...(page.Contents ?? []).map((o) => o.Key!));
      token = page.NextContinuationToken;
    } while (token);
    return out;
  };
  const status = async (p: Promise<unknown>) => p.then(() => 200, (err) => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode);

  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), "reelpress-links-"));
    await mkdir(at("dirB"), { recursive: true });
    await writeFile(at("dirB/b-real.mp4"), "the only copy");
    await symlink("b-real.mp4", at("dirB/a-link.mp4"));
    await symlink("dirB", at("dirC"));
    // Two loops and one back up the tree: a walk that followed them would never end.
    await symlink(".", at("loop1"));
    await symlink(".", at("dirB/loop2"));
    await symlink("..", at("dirB/up"));
    server = await serveFolder({ folder, bucket: BUCKET, port: 0 });
    s3 = new S3Client({ endpoint: `http://127.0.0.1:${server.port}`, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "k", secretAccessKey: "s" }, maxAttempts: 1 });
    // A link into the store's own area, made once the area exists.
    await symlink(".reelpress/store", at("peek"));
    await writeFile(at(".reelpress/store/tmp/leftover"), "temp");
  });
  afterAll(async () => {
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("lists a linked file once, under its own key, and no loop keeps the listing or the watcher from ending", async () => {
    const warn = vi.spyOn(console, "warn").mockImplementation(() => undefined);
    try {
      const started = Date.now();
      expect(await listed()).toEqual(["dirB/b-real.mp4"]);
      expect(await listed("dirC/")).toEqual([]);
      const watch = await watchFolder(server.store, { settleMs: 0, scanIntervalMs: 60_000, knownBefore: 0, accept: () => true, onCreated: () => undefined });
      await watch.scan();
      await watch.stop();
      expect(Date.now() - started).toBeLessThan(5000);
      // One log line per skipped link, however often the folder is walked.
      const lines = warn.mock.calls.map((c) => String(c[0]));
      expect(lines.filter((l) => l.includes("dirB/a-link.mp4"))).toEqual(["store: skipped the symbolic link dirB/a-link.mp4: it is another name for dirB/b-real.mp4, listed under that name."]);
      expect(lines.filter((l) => l.includes("loop1"))).toEqual(["store: skipped the symbolic link loop1: it loops back to a folder above it."]);
      expect(lines.filter((l) => l.includes("peek"))).toEqual(["store: skipped the symbolic link peek: it leads into the store's own area."]);
      expect(lines).toHaveLength(6);
    } finally {
      warn.mockRestore();
    }
  });

  it("shows nothing of the store's own area through a link to it", async () => {
    expect(await listed("peek/")).toEqual([]);
    expect(await status(s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "peek/tmp/leftover" })))).toBe(400);
    expect(await status(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "peek/tmp/leftover", Body: "x" })))).toBe(400);
    expect(await readFile(at(".reelpress/store/tmp/leftover"), "utf8")).toBe("temp");
  });

  it("reads through a linked key, but deleting or overwriting it touches only the link, never the file it names", async () => {
    expect(await (await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "dirB/a-link.mp4" }))).Body!.transformToString()).toBe("the only copy");
    // Through a linked folder the key would name the real file itself: refused.
    expect(await status(s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "dirC/b-real.mp4" })))).toBe(400);
    expect(await status(s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "dirC/b-real.mp4", Body: "other bytes" })))).toBe(400);
    expect(await readFile(at("dirB/b-real.mp4"), "utf8")).toBe("the only copy");
    // The link as a key's last segment: the link goes, the file stays.
    await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: "dirB/a-link.mp4" }));
    expect(await readdir(at("dirB"))).not.toContain("a-link.mp4");
    expect(await readFile(at("dirB/b-real.mp4"), "utf8")).toBe("the only copy");
    await symlink("b-real.mp4", at("dirB/a-link.mp4"));
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "dirB/a-link.mp4", Body: "new bytes" }));
    expect(await readFile(at("dirB/a-link.mp4"), "utf8")).toBe("new bytes");
    expect(await readFile(at("dirB/b-real.mp4"), "utf8")).toBe("the only copy");
    await expect(readlink(at("dirB/a-link.mp4"))).rejects.toThrow();
  });
});
