// bench group: scale
// Paging one flat folder with ListObjectsV2 (1000 keys a page) through the folder store, at 10⁴ and 10⁵ keys
// side by side: listing must be linear in the keys returned, so 10× the keys may take at most 12× the time
// (issue 20). The folder is written straight to disk and left quiet for a few seconds first, as a library's
// folders are; the first page reads it whole, the others go on from there. BENCH_LISTING_KEYS=10000,100000
// picks the sizes (the ratio is of the last to the first).
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { ListObjectsV2Command, S3Client } from "@aws-sdk/client-s3";
import { mapLimit } from "../shared/pool.ts";
import { serveFolder } from "../store/index.ts";

const SIZES = (process.env.BENCH_LISTING_KEYS ?? "10000,100000").split(",").map(Number);
const ROOT = path.resolve(import.meta.dirname, "..");
/** How long a folder must have been left alone before its listing is kept (store/folder/listings.ts). */
const QUIET_MS = 3500;

type Row = { keys: number; pages: number; sec: number; firstPageSec: number };
const rows: Row[] = [];

for (const keys of SIZES) {
  await mkdir(path.join(ROOT, ".cache"), { recursive: true });
  const work = await mkdtemp(path.join(ROOT, ".cache", "listing-bench-"));
  const flat = path.join(work, "library", "flat");
  await mkdir(flat, { recursive: true });
  const names = Array.from({ length: keys }, (_, i) => `clip-${String(i).padStart(7, "0")}.mp4`);
  await mapLimit(names, 64, (n) => writeFile(path.join(flat, n), ""));
  await new Promise((r) => setTimeout(r, QUIET_MS));
  const server = await serveFolder({ folder: path.join(work, "library"), bucket: "bench", port: 0 });
  try {
    const s3 = new S3Client({ endpoint: `http://127.0.0.1:${server.port}`, region: "us-east-1", forcePathStyle: true, credentials: { accessKeyId: "b", secretAccessKey: "b" } });
    // The client's first request pays for its own start-up: not the folder's.
    await s3.send(new ListObjectsV2Command({ Bucket: "bench", Prefix: "warm-up/" }));
    let token: string | undefined;
    let listed = 0;
    let pages = 0;
    let firstPageSec = 0;
    const start = performance.now();
    do {
      const r = await s3.send(new ListObjectsV2Command({ Bucket: "bench", Prefix: "flat/", MaxKeys: 1000, ContinuationToken: token }));
      listed += r.KeyCount ?? 0;
      pages++;
      if (pages === 1) firstPageSec = (performance.now() - start) / 1000;
      token = r.IsTruncated ? r.NextContinuationToken : undefined;
    } while (token);
    const sec = (performance.now() - start) / 1000;
    if (listed !== keys) throw new Error(`listed ${listed} keys of ${keys}`);
    rows.push({ keys, pages, sec, firstPageSec });
    console.log(`  ${keys} keys: ${pages} pages in ${sec.toFixed(2)} s (first page ${firstPageSec.toFixed(2)} s), ${((sec * 1e6) / keys).toFixed(1)} µs a key`);
  } finally {
    await server.stop();
    await rm(work, { recursive: true, force: true });
  }
}

console.log("\n| keys in one folder | pages | seconds | first page | µs a key |\n|---:|---:|---:|---:|---:|");
for (const r of rows) console.log(`| ${r.keys} | ${r.pages} | ${r.sec.toFixed(2)} | ${r.firstPageSec.toFixed(2)} | ${((r.sec * 1e6) / r.keys).toFixed(1)} |`);
if (rows.length > 1) {
  const [a, b] = [rows[0], rows.at(-1)!];
  const ratio = b.sec / a.sec;
  const allowed = (1.2 * b.keys) / a.keys;
  console.log(`\n${b.keys / a.keys}× the keys took ${ratio.toFixed(1)}× the time (target ≤ ${allowed.toFixed(0)}×): ${ratio <= allowed ? "met" : "MISSED"}`);
}
