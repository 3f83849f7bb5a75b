// Paging through a large folder while it changes: the store keeps each folder's sorted listing between
// pages (folder/listings.ts) and must still list every key once, in S3's byte order, with what was written
// or deleted between pages seen as S3 would see it, whoever wrote it (a client, or someone on the share).
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { CopyObjectCommand, DeleteObjectCommand, HeadObjectCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveFolder } from "../index.ts";

const BUCKET = "lib";
const byteOrder = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

describe("folder store: paging a large folder while it changes", () => {
  let folder: string;
  let server: Awaited<ReturnType<typeof serveFolder>>;
  let s3: S3Client;
  const flat = () => path.join(folder, "flat");
  /** Makes the folder look long untouched, as a library's folders are, so its listing may be kept. */
  const age = (dir: string) => utimes(dir, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));

  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), "reelpress-listing-"));
    server = await serveFolder({ folder, bucket: BUCKET, port: 0 });
    s3 = new S3Client({ endpoint: `http://127.0.0.1:${server.port}`, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "k", secretAccessKey: "s" }, maxAttempts: 1 });
  });
  afterAll(async () => {
    await server.stop();
    await rm(folder, { recursive: true, force: true });
  });

  it("lists every key once and in byte order, with writes and deletes between pages", async () => {
    await mkdir(path.join(flat(), "sub"), { recursive: true });
    // Names whose byte order differs from JavaScript's string order, and a folder among the files.
    const names = [...Array.from({ length: 1000 }, (_, i) => `k${String(i * 2).padStart(5, "0")}`), "Zz", "a b", "a-b", "é", "\u{1F600}", "\uFF5E"];
    await Promise.all(names.map((n) => writeFile(path.join(flat(), n), n)));
    await writeFile(path.join(flat(), "sub", "inner"), "x");
    await age(flat());
    const initial = [...names.map((n) => `flat/${n}`), "flat/sub/inner"].sort(byteOrder);

    const listed: string[] = [];
    let token: string | undefined;
    const added: string[] = [];
    const removed: string[] = [];
    for (let page = 0; ; page++) {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "flat/", MaxKeys: 100, ContinuationToken: token }));
      listed.push(...(r.Contents ?? []).map((c) => c.Key!));
      if (!r.IsTruncated) break;
      token = r.NextContinuationToken;
      const at = listed.at(-1)!;
      const ahead = initial.filter((k) => byteOrder(k, at) > 0 && !removed.includes(k));
      if (page === 2) {
        // Through the store: a key ahead is listed, one behind is not (its place was passed), one deleted ahead is not.
        const later = `flat/k${at.slice(6, 11)}x`;
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: later, Body: "new" }));
        await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "flat/k00000a", Body: "behind" }));
        await s3.send(new DeleteObjectCommand({ Bucket: BUCKET, Key: ahead[3] }));
        added.push(later);
        removed.push(ahead[3]);
      }
      // Quiet again, the folder's listing is kept from the next page on.
      if (page === 4) await age(flat());
      if (page === 5) {
        // Behind the store's back, on a folder whose listing is kept: the folder's change is seen.
        const later = `flat/k${at.slice(6, 11)}y`;
        await writeFile(path.join(folder, later), "external");
        await rm(path.join(folder, ahead[5]));
        added.push(later);
        removed.push(ahead[5]);
      }
    }
    expect([...listed].sort(byteOrder)).toEqual(listed);
    expect(new Set(listed).size).toBe(listed.length);
    expect(listed).toEqual([...initial.filter((k) => !removed.includes(k)), ...added].sort(byteOrder));
    expect(listed).not.toContain("flat/k00000a");
  });

  it("pages alike with ListObjects' markers, a prefix inside the folder, and a delimiter", async () => {
    await age(flat());
    const all: string[] = [];
    for (let marker = ""; ; ) {
      const r = await s3.send(new ListObjectsCommand({ Bucket: BUCKET, Prefix: "flat/k015", MaxKeys: 7, Marker: marker || undefined }));
      all.push(...(r.Contents ?? []).map((c) => c.Key!));
      if (!r.IsTruncated) break;
      marker = all.at(-1)!;
    }
    expect(all).toHaveLength(50);
    expect(all.every((k) => k.startsWith("flat/k015"))).toBe(true);
    expect([...all].sort(byteOrder)).toEqual(all);

    const tree = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "flat/", Delimiter: "/", StartAfter: "flat/k01998" }));
    expect(tree.CommonPrefixes?.map((p) => p.Prefix)).toEqual(["flat/sub/"]);
    expect(tree.Contents?.map((c) => c.Key)).toEqual(["flat/é", "flat/\uFF5E", "flat/\u{1F600}"]);
  });

  it("lists the ETag HEAD gives, while it keeps listed ETags between listings (folder/listed-etags.ts)", async () => {
    const keys = ["etags/a.json", "etags/b.json", "etags/c.json", "etags/d.json"];
    for (const key of keys) await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: key, Body: `first ${key}` }));
    const listedEtags = async () => {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: BUCKET, Prefix: "etags/" }));
      return Object.fromEntries((r.Contents ?? []).map((c) => [c.Key!, c.ETag!]));
    };
    const headEtags = async () => Object.fromEntries(await Promise.all(keys.map(async (key) => [key, (await s3.send(new HeadObjectCommand({ Bucket: BUCKET, Key: key }))).ETag!])));
    expect(await listedEtags()).toEqual(await headEtags());
    const kept = await listedEtags();
    // Through the store: a new body of the same size, a copy onto itself with new metadata.
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: keys[0], Body: `FIRST ${keys[0]}` }));
    await s3.send(new CopyObjectCommand({ Bucket: BUCKET, Key: keys[1], CopySource: `${BUCKET}/${keys[1]}`, MetadataDirective: "REPLACE", Metadata: { x: "1" } }));
    // Behind its back: the same size rewritten in place (same inode, new mtime), and a file replaced by another.
    const file = (key: string) => path.join(folder, ...key.split("/"));
    await writeFile(file(keys[2]), `FIRST ${keys[2]}`);
    await rm(file(keys[3]));
    await writeFile(file(keys[3]), `other ${keys[3]}`);
    const after = await listedEtags();
    expect(after).toEqual(await headEtags());
    expect(after[keys[0]]).not.toBe(kept[keys[0]]);
    expect(after[keys[2]]).not.toBe(kept[keys[2]]);
    expect(after[keys[3]]).not.toBe(kept[keys[3]]);
  });
});
