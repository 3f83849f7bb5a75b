// Paging through a large folder while it changes: the store keeps each folder's sorted listing between
// pages (folder/listings.ts) and must still list every key once, in S3's byte order, with what was written
// or deleted between pages seen as S3 would see it, whoever wrote it (a client, or someone on the share).
import { mkdir, mkdtemp, rm, utimes, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { DeleteObjectCommand, ListObjectsCommand, ListObjectsV2Command, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
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
});
