// The folder store against the disk it serves: GET and CopyObject of a large object against `cp` of the
// same file on the same disk, PUT and multipart upload against `md5sum` of it (the ETag's MD5 bounds them),
// and the store process's peak RSS as objects grow from 64 MiB to 2 GiB. Each size runs in a fresh store.
import { createReadStream } from "node:fs";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import http from "node:http";
import { CompleteMultipartUploadCommand, CopyObjectCommand, CreateMultipartUploadCommand, S3Client } from "@aws-sdk/client-s3";
import { execa } from "execa";
import { mapLimit } from "../shared/pool.ts";

const MiB = 1024 * 1024;
const SIZES = (process.env.BENCH_STORE_SIZES ?? "64,2048").split(",").map(Number);
const ROOT = path.resolve(import.meta.dirname, "..");
const NODE = path.join(ROOT, "bin/node22");

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const t = performance.now();
  await fn();
  return (performance.now() - t) / 1000;
}

/** A file of incompressible bytes, written in 16 MiB blocks. */
async function makeFile(file: string, bytes: number): Promise<void> {
  const { randomFillSync } = await import("node:crypto");
  const block = randomFillSync(Buffer.alloc(16 * MiB));
  const h = await open(file, "w");
  for (let done = 0; done < bytes; done += block.length) await h.write(block, 0, Math.min(block.length, bytes - done));
  await h.close();
}

/** Streams each part straight from the file (the SDK's Upload would buffer parts and measure itself). */
async function multipartUpload(s3: S3Client, endpoint: string, file: string, bytes: number, key: string): Promise<void> {
  const { UploadId } = await s3.send(new CreateMultipartUploadCommand({ Bucket: "bench", Key: key }));
  const part = 64 * MiB;
  const starts = Array.from({ length: Math.ceil(bytes / part) }, (_, i) => i * part);
  const etags: string[] = [];
  const sendPart = (i: number) =>
    new Promise<void>((resolve, reject) => {
      const start = starts[i];
      const end = Math.min(bytes, start + part) - 1;
      const req = http.request(`${endpoint}/bench/${key}?partNumber=${i + 1}&uploadId=${UploadId}`, { method: "PUT", headers: { "content-length": end - start + 1 } }, (res) => {
        res.resume();
        res.on("end", () => (res.statusCode === 200 ? ((etags[i] = String(res.headers.etag)), resolve()) : reject(new Error(`part ${i + 1}: ${res.statusCode}`))));
      });
      req.on("error", reject);
      createReadStream(file, { start, end, highWaterMark: MiB }).pipe(req);
    });
  await mapLimit(starts, 2, (_, i) => sendPart(i));
  await s3.send(new CompleteMultipartUploadCommand({ Bucket: "bench", Key: key, UploadId, MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) } }));
}

const dropCaches = () => execa("sh", ["-c", "sync; echo 1 > /proc/sys/vm/drop_caches"], { reject: false });

type Row = { op: string; sizeMiB: number; sec: number; base: string; baseSec: number };
const rows: Row[] = [];
const rss: Array<{ sizeMiB: number; maxRssMiB: number }> = [];

for (const sizeMiB of SIZES) {
  const work = await mkdtemp(path.join(ROOT, ".cache", "store-bench-"));
  const folder = path.join(work, "library");
  const child = execa(NODE, ["--disable-warning=ExperimentalWarning", path.join(ROOT, "bench/store-server.ts"), folder], { reject: false });
  try {
    const port = await new Promise<number>((resolve) => child.stdout!.once("data", (d: Buffer) => resolve(JSON.parse(d.toString()).port)));
    const endpoint = `http://127.0.0.1:${port}`;
    const s3 = new S3Client({ endpoint, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "b", secretAccessKey: "b" }, requestChecksumCalculation: "WHEN_REQUIRED" });
    const src = path.join(work, "source.bin");
    await makeFile(src, sizeMiB * MiB);
    const bytes = (await stat(src)).size;
    // Baselines and operations alternate, caches dropped before each, so both see the same disk.
    await dropCaches();
    const md5sum = await timed(() => execa("md5sum", [src]));
    await dropCaches();
    const put = await timed(() => execa("curl", ["-sSf", "-T", src, `${endpoint}/bench/put.bin`]));
    await dropCaches();
    const md5sum2 = await timed(() => execa("md5sum", [src]));
    await dropCaches();
    const multipart = await timed(() => multipartUpload(s3, endpoint, src, bytes, "multipart.bin"));
    await dropCaches();
    const cp = await timed(() => execa("cp", [src, path.join(work, "cp.bin")]));
    await dropCaches();
    const get = await timed(() => execa("curl", ["-sSf", "-o", path.join(work, "got.bin"), `${endpoint}/bench/put.bin`]));
    await dropCaches();
    const cp2 = await timed(() => execa("cp", [src, path.join(work, "cp2.bin")]));
    await dropCaches();
    const copy = await timed(() => s3.send(new CopyObjectCommand({ Bucket: "bench", Key: "copied.bin", CopySource: "bench/put.bin" })));
    await dropCaches();
    // The store fsyncs every object before it exists (a backup must survive a power cut); cp does not.
    const cpSync = await timed(() => execa("sh", ["-c", 'cp "$1" "$2" && sync "$2"', "sh", src, path.join(work, "cp3.bin")]));
    const sizes = await Promise.all(["put.bin", "multipart.bin", "copied.bin"].map((f) => stat(path.join(folder, f)).then((s) => s.size)));
    if (sizes.some((s) => s !== bytes) || (await stat(path.join(work, "got.bin"))).size !== bytes) throw new Error("a transfer came out the wrong size");
    rows.push(
      { op: "PUT (curl -T)", sizeMiB, sec: put, base: "md5sum", baseSec: md5sum },
      { op: "multipart upload (64 MiB parts, 2 at once)", sizeMiB, sec: multipart, base: "md5sum", baseSec: md5sum2 },
      { op: "GET (curl -o)", sizeMiB, sec: get, base: "cp", baseSec: cp },
      { op: "CopyObject", sizeMiB, sec: copy, base: "cp", baseSec: cp2 },
      { op: "CopyObject", sizeMiB, sec: copy, base: "cp + fsync", baseSec: cpSync },
      { op: "PUT (curl -T)", sizeMiB, sec: put, base: "cp + fsync", baseSec: cpSync },
    );
  } finally {
    child.kill("SIGTERM");
    const out = await child;
    const last = String(out.stdout).trim().split("\n").at(-1) ?? "{}";
    rss.push({ sizeMiB, maxRssMiB: JSON.parse(last).maxRssMiB ?? Number.NaN });
    await rm(work, { recursive: true, force: true });
  }
}

console.log("Folder store throughput against the same disk (page cache dropped before each run when allowed)\n");
console.log("| operation | size | store | baseline | throughput vs baseline | target |");
console.log("|---|---:|---:|---:|---:|---|");
for (const r of rows) {
  const mbps = (s: number) => `${((r.sizeMiB * MiB) / s / 1e6).toFixed(0)} MB/s`;
  const ratio = r.baseSec / r.sec;
  const target = r.base.includes("fsync") ? "(durable baseline, for reference)" : `≥ 0.70× ${ratio >= 0.7 ? "met" : "MISSED"}`;
  console.log(`| ${r.op} | ${r.sizeMiB} MiB | ${r.sec.toFixed(2)} s (${mbps(r.sec)}) | ${r.base} ${r.baseSec.toFixed(2)} s (${mbps(r.baseSec)}) | ${ratio.toFixed(2)}× | ${target} |`);
}
console.log("\n| object size | store peak RSS | target |");
console.log("|---:|---:|---|");
for (const r of rss) console.log(`| ${r.sizeMiB} MiB | ${r.maxRssMiB} MiB | < 300 MiB ${r.maxRssMiB < 300 ? "met" : "MISSED"} |`);
