// Dedup bench. (1) Report time and peak RSS for 10k and 100k synthetic manifest records, each size in
// its own process, going through the same decode (JSON → zod → compact entry) as records read from the
// bucket; 40 % of them carry a full-object checksum. REELPRESS_BENCH_DEDUP_RECORDS picks the sizes
// (comma-separated, e.g. 10000,100000,1000000; 10⁶ takes minutes and a few GB). (2) Bytes read per stage against vdedup's approach
// (partial hash of every file, SHA-256 where partial hashes collide), on the synthetic libraries and on
// the real accuracy corpus in the folder store.
import path from "node:path";
import { execa } from "execa";
import { FrameStore, entryFrom, type Entry } from "../shared/dedup/entry.ts";
import { dedupOptions } from "../shared/dedup/options.ts";
import { findDuplicates, type CountingHasher, type StageStat } from "../shared/dedup/pipeline.ts";
import { buildReport } from "../shared/dedup/report.ts";
import { buildAndStoreReport, partialRanges } from "../shared/dedup/run.ts";
import { listRecords } from "../shared/io/manifest.ts";
import { ManifestRecord, type FrameFingerprint } from "../shared/schemas.ts";
import { sampleTimes } from "../shared/media/fingerprint.ts";
import { makeCorpus, uploadCorpus } from "../test/kit/dedup-corpus.ts";
import { seededRandom } from "../test/kit/random.ts";
import { startTestStack } from "../test/kit/stack.ts";

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const fmt = (n: number) => (n >= GiB ? `${(n / GiB).toFixed(2)} GiB` : `${(n / MiB).toFixed(1)} MiB`);

/** What vdedup reads: every file's partial hash, then whole files whose partial hash is shared. */
function vdedupBytes(files: Array<{ size: number; partial: string }>): { partial: number; full: number } {
  const count = new Map<string, number>();
  for (const f of files) count.set(f.partial, (count.get(f.partial) ?? 0) + 1);
  let partial = 0;
  let full = 0;
  for (const f of files) {
    partial += partialRanges(f.size).reduce((n, [a, b]) => n + b - a + 1, 0);
    if (count.get(f.partial)! > 1) full += f.size;
  }
  return { partial, full };
}

// ---- synthetic library --------------------------------------------------------------------------

/** A 64-bit frame hash for (content, scene, mirrored), as hex: cheap, deterministic, well mixed. */
function sceneHash(content: number, scene: number, mirror: number, noise: number, r: () => number): string {
  let h1 = Math.imul(content ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(scene + 1, 0xc2b2ae35) ^ mirror;
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x7feb352d);
  h1 = Math.imul(h1 ^ (h1 >>> 15), 0x846ca68b) ^ (h1 >>> 16);
  let h2 = Math.imul(h1 ^ 0x27d4eb2f, 0x165667b1);
  h2 = Math.imul(h2 ^ (h2 >>> 13), 0x5bd1e995) ^ (h2 >>> 15);
  for (let i = 0; i < noise; i++) {
    const bit = Math.floor(r() * 64);
    if (bit < 32) h1 ^= 1 << bit;
    else h2 ^= 1 << (bit - 32);
  }
  return (h1 >>> 0).toString(16).padStart(8, "0") + (h2 >>> 0).toString(16).padStart(8, "0");
}

type Source = { content: number; duration: number; size: number };

/** Copies of earlier sources in the proportions of a messy library; the key carries the content id. */
export function* syntheticRecords(n: number): Generator<ManifestRecord> {
  const r = seededRandom(7);
  const sources: Source[] = [];
  for (let i = 0; i < n; i++) {
    const roll = r();
    const base = sources.length > 0 ? sources[Math.floor(r() * sources.length)] : undefined;
    let content = i;
    let duration = Math.round(20 * Math.pow(360, r()));
    let start = 0;
    let noise = 0;
    let mirror = 0;
    let size = Math.round((duration * (1e6 + r() * 7e6)) / 8);
    let dark = r() < 0.02 ? 0.6 : 0;
    if (base && roll < 0.1) ({ content, duration, size } = base); // byte-identical copy
    else if (base && roll < 0.2) ({ content, duration, noise } = { content: base.content, duration: base.duration, noise: 3 }); // re-encode
    else if (base && roll < 0.23) ({ content, duration, start, noise } = { content: base.content, duration: Math.max(10, base.duration - 1), start: 1, noise: 2 });
    else if (base && roll < 0.25) ({ content, duration, start, noise } = { content: base.content, duration: Math.round(base.duration * 0.4), start: Math.round(base.duration * 0.3), noise: 2 });
    else if (base && roll < 0.27) ({ content, duration, mirror, noise } = { content: base.content, duration: base.duration, mirror: 1, noise: 2 });
    else if (base && roll < 0.3) size = base.size; // same size, other content
    if (roll >= 0.3 || !base) sources.push({ content, duration, size });
    else if (roll >= 0.1 && roll < 0.27) size = Math.round((duration * (1e6 + r() * 7e6)) / 8);
    const fingerprints: FrameFingerprint[] = sampleTimes(duration, 16).map((t) => {
      const scene = Math.floor((t + start) / 10);
      const isDark = t < dark * duration;
      return { t, hash: sceneHash(content, scene, mirror, noise, r), flip: sceneHash(content, scene, 1 - mirror, noise, r), dark: isDark };
    });
    yield {
      key: `lib/c${content}/v${i}.mp4`,
      size,
      etag: `"${i.toString(16)}"`,
      // Newer uploads carry S3's full-object CRC64NVME (the default since 2025): equal bytes, equal value.
      checksum: r() < 0.4 ? { algorithm: "CRC64NVME", type: "FULL_OBJECT", value: `${content}:${size}` } : undefined,
      lastModified: new Date(1.6e12 + i * 1000).toISOString(),
      state: "probed",
      media: {
        formatName: "mov,mp4,m4a,3gp,3g2,mj2",
        durationSec: duration,
        bitrate: Math.round((size * 8) / duration),
        video: { codec: r() < 0.2 ? "hevc" : "h264", width: r() < 0.5 ? 1920 : 1280, height: r() < 0.5 ? 1080 : 720, pixFmt: "yuv420p", fps: 30 },
        audio: [{ codec: "aac", channels: 2 }],
        subtitles: [],
        tags: {},
      },
      fingerprints,
      updatedAt: new Date(1.6e12 + i * 1000).toISOString(),
    };
  }
}

/** Hashes of synthetic objects: the content id from the key stands for the bytes; reads are counted. */
function syntheticHasher(): CountingHasher {
  const bytesRead = { partial: 0, full: 0 };
  const content = (e: Entry) => e.key.split("/")[1];
  return {
    bytesRead,
    async partial(e) {
      bytesRead.partial += partialRanges(e.size).reduce((n, [a, b]) => n + b - a + 1, 0);
      return `p:${content(e)}`;
    },
    async full(e) {
      bytesRead.full += e.size;
      return `f:${content(e)}`;
    },
  };
}

async function child(n: number): Promise<void> {
  const entries: Entry[] = [];
  const store = new FrameStore();
  const vdedupFiles: Array<{ size: number; partial: string }> = [];
  // Only the decode is timed: making up the records and their JSON text is the bench's own work.
  let decodeMs = 0;
  let decodeCpu = 0;
  for (const record of syntheticRecords(n)) {
    const text = JSON.stringify(record);
    const t = performance.now();
    const c = process.cpuUsage();
    const parsed = ManifestRecord.parse(JSON.parse(text));
    entries.push(entryFrom(parsed, entries.length, store));
    decodeCpu += process.cpuUsage(c).user / 1000;
    decodeMs += performance.now() - t;
    vdedupFiles.push({ size: parsed.size, partial: `${parsed.key.split("/")[1]}:${parsed.size}` });
  }
  const t1 = performance.now();
  const c1 = process.cpuUsage();
  const options = dedupOptions({ quality: 5 });
  const hasher = syntheticHasher();
  const { groups, stages } = await findDuplicates(entries, options, hasher);
  const report = buildReport(groups, { bucket: "bench", options, stages, records: n, startedAt: new Date(), elapsedMs: 0 });
  const dedupMs = performance.now() - t1;
  const dedupCpu = process.cpuUsage(c1).user / 1000;
  const out = {
    n,
    decodeMs: Math.round(decodeMs),
    decodeCpu: Math.round(decodeCpu),
    dedupMs: Math.round(dedupMs),
    dedupCpu: Math.round(dedupCpu),
    peakRssMB: Math.round(process.resourceUsage().maxRSS / 1024),
    groups: report.summary.total_groups,
    losers: report.summary.total_losers,
    stages,
    ours: hasher.bytesRead,
    vdedup: vdedupBytes(vdedupFiles),
  };
  console.log(JSON.stringify(out));
}

// ---- parent -------------------------------------------------------------------------------------

function stageTable(stages: StageStat[]): string {
  return stages.map((s) => `    ${s.stage.padEnd(16)} in ${String(s.input).padStart(7)}  out ${String(s.output).padStart(7)}  read ${fmt(s.bytes_read).padStart(11)}  ${String(s.time_ms).padStart(6)} ms`).join("\n");
}

async function parent(): Promise<void> {
  const self = path.join(import.meta.dirname, "dedup.bench.ts");
  console.log("Report over synthetic manifests (quality 5; decode = JSON + zod + compact entry, as from the bucket):");
  const sizes = (process.env.REELPRESS_BENCH_DEDUP_RECORDS || "10000,100000").split(",").map(Number);
  if (!sizes.every((n) => Number.isInteger(n) && n > 0)) throw new Error("REELPRESS_BENCH_DEDUP_RECORDS: record counts, comma-separated (10000,100000).");
  for (const n of sizes) {
    // Entries stay on the heap through the run: 10⁶ of them outgrow V8's default limit.
    const r = await execa(process.execPath, ["--disable-warning=ExperimentalWarning", "--max-old-space-size=8192", self, "--records", String(n)]);
    const res = JSON.parse(String(r.stdout)) as { n: number; decodeMs: number; decodeCpu: number; dedupMs: number; dedupCpu: number; peakRssMB: number; groups: number; losers: number; stages: StageStat[]; ours: { partial: number; full: number }; vdedup: { partial: number; full: number } };
    console.log(`  ${n} records: ${((res.decodeMs + res.dedupMs) / 1000).toFixed(2)} s wall, ${((res.decodeCpu + res.dedupCpu) / 1000).toFixed(2)} s CPU (decode ${res.decodeMs} ms / ${res.decodeCpu} ms CPU, dedup ${res.dedupMs} ms / ${res.dedupCpu} ms CPU), peak RSS ${res.peakRssMB} MB, ${res.groups} groups, ${res.losers} losers`);
    console.log(stageTable(res.stages));
    console.log(`    bytes read: reelpress ${fmt(res.ours.partial + res.ours.full)} (partial ${fmt(res.ours.partial)}, full ${fmt(res.ours.full)}) vs vdedup ${fmt(res.vdedup.partial + res.vdedup.full)} (partial ${fmt(res.vdedup.partial)}, full ${fmt(res.vdedup.full)})`);
  }

  console.log("\nBytes read on the accuracy corpus (real files in the folder store):");
  const stack = await startTestStack();
  try {
    const corpus = await makeCorpus();
    await uploadCorpus(stack, corpus);
    const { report } = await buildAndStoreReport(stack, dedupOptions({ quality: 5 }));
    const stages = report.summary.stages as StageStat[];
    console.log(stageTable(stages));
    const files: Array<{ size: number; partial: string }> = [];
    // vdedup's partial collisions are the byte-identical files: same corpus file, same bytes.
    const fileOf = new Map(corpus.map((c) => [c.key, c.file]));
    for await (const rec of listRecords(stack)) files.push({ size: rec.size, partial: fileOf.get(rec.key)! });
    const v = vdedupBytes(files);
    const ours = report.summary.bytes_read as number;
    console.log(`  ${files.length} files, ${fmt(files.reduce((n, f) => n + f.size, 0))} in all`);
    console.log(`  reelpress: ${fmt(ours)} (partial ${fmt(stages.find((s) => s.stage === "partial_hash")!.bytes_read)}, sha256 ${fmt(stages.find((s) => s.stage === "sha256")!.bytes_read)})`);
    console.log(`  vdedup:    ${fmt(v.partial + v.full)} (partial ${fmt(v.partial)}, sha256 ${fmt(v.full)})`);
    const again = await buildAndStoreReport(stack, dedupOptions({ quality: 5 }));
    console.log(`  reelpress again (hashes written back to the manifest): ${fmt(again.report.summary.bytes_read as number)}`);
  } finally {
    await stack.stop();
  }
}

if (import.meta.main) {
  const i = process.argv.indexOf("--records");
  if (i > 0) await child(Number(process.argv[i + 1]));
  else await parent();
}
