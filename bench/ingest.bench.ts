// Ingest bench: bytes the probe step reads per object (counted by an HTTP proxy in front of the
// folder store, and by ffmpeg's own statistics) against object size, a moov-at-end film's header read, and
// objects ingested per second end to end.
import { createReadStream } from "node:fs";
import { chmod, mkdir, mkdtemp, open, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { execa } from "execa";
import { startEmbeddedEvents } from "../cli/events/embedded.ts";
import { startFunctionHost } from "../cli/host.ts";
import { makeProbeHandler } from "../functions/probe/handler.ts";
import { makeStrategyHandler } from "../functions/strategy/handler.ts";
import { makeClients, type Clients } from "../shared/io/clients.ts";
import { loadConfig } from "../shared/config.ts";
import { probeMedia, safeInputArgs } from "../shared/media/ffprobe.ts";
import { SINGLE_READ_BYTES, probeObject } from "../shared/steps/probe.ts";
import { listRecords } from "../shared/io/manifest.ts";
import { presignedGetUrl, uploadFile } from "../shared/io/objects.ts";
import { FIXTURE_DIR, makeVideo, videoFixture, type VideoFixture } from "../test/kit/fixtures.ts";
import { startTestStack } from "../test/kit/stack.ts";

const MiB = 1024 ** 2;
const FINGERPRINTS = 16;

/** A reverse proxy that counts the body bytes it hands to clients; ffmpeg reads through it. */
async function countingProxy(target: string): Promise<{ url: string; take(): number; close(): void }> {
  const upstream = new URL(target);
  let bytes = 0;
  const server = http.createServer((req, res) => {
    const up = http.request({ host: upstream.hostname, port: upstream.port, path: req.url, method: req.method, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode ?? 502, ur.headers);
      ur.on("data", (c: Buffer) => void (bytes += c.length));
      ur.pipe(res);
    });
    // ffmpeg drops a connection once it has what it needs: stop reading upstream too.
    res.on("close", () => !res.writableFinished && up.destroy());
    up.on("error", () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    take: () => {
      const b = bytes;
      bytes = 0;
      return b;
    },
    close: () => server.close(),
  };
}

type LargeSpec = { name: string; file: string; bitrate: string; gop: number; loops: number };

/**
 * About 500 MB of 1080p25 H.264, moov at the front, made once and cached. Encoding minutes of 1080p
 * would take minutes here: encode 10 s, then loop it without re-encoding (well under a minute).
 */
async function large1080p(spec: LargeSpec): Promise<string> {
  const file = path.join(FIXTURE_DIR, spec.file);
  if (await stat(file).then(() => true, () => false)) return file;
  const clip = await makeVideo({ ext: "mp4", vcodec: "libx264", width: 1920, height: 1080, durationSec: 10, fps: 25, bitrate: spec.bitrate, cbr: true, audio: true, extra: ["-g", String(spec.gop)] });
  await mkdir(FIXTURE_DIR, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp.mp4`;
  await execa("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-stream_loop", String(spec.loops - 1), ...safeInputArgs(clip), "-c", "copy", "-movflags", "+faststart", tmp]);
  await rename(tmp, file);
  return file;
}

const LARGE: LargeSpec[] = [
  // Phone-like: 1 s keyframe interval.
  { name: "1080p 16 Mbit/s, 1 s GOP", file: "bench-1080p-16m-gop25.mp4", bitrate: "16M", gop: 25, loops: 25 },
  // x264's default keyframe interval (250 frames): every sample decodes up to 10 s of video.
  { name: "1080p 40 Mbit/s, 10 s GOP", file: "bench-1080p-40m-gop250.mp4", bitrate: "40M", gop: 250, loops: 10 },
];

/**
 * What ffmpeg itself read: `ffmpeg`/`ffprobe` shims first on PATH give each process its own FFREPORT
 * log, whose AVIOContext "Statistics: N bytes read" line is the demuxer's consumption. The probe's
 * code and arguments are untouched.
 */
async function ffmpegReadCounter(): Promise<{ take(): Promise<number> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-bench-ffreport-"));
  const logs = path.join(dir, "logs");
  await mkdir(logs);
  for (const tool of ["ffmpeg", "ffprobe"]) {
    const real = (await execa("sh", ["-c", `command -v ${tool}`])).stdout.trim();
    const shim = path.join(dir, tool);
    await writeFile(shim, `#!/bin/sh\nFFREPORT="file=${logs}/$$.log:level=40" exec ${real} "$@"\n`);
    await chmod(shim, 0o755);
  }
  process.env.PATH = `${dir}:${process.env.PATH}`;
  return {
    async take() {
      let bytes = 0;
      for (const f of await readdir(logs)) {
        const text = await readFile(path.join(logs, f), "utf8");
        for (const m of text.matchAll(/Statistics: (\d+) bytes read/g)) bytes += Number(m[1]);
        await rm(path.join(logs, f));
      }
      return bytes;
    },
  };
}

type Counters = { sent: { take(): number }; read: { take(): Promise<number> } };
type Phase = { sent: number; read: number };
type Row = { name: string; size: number; all: Phase; ms: number; target: number };

async function phase(c: Counters, work: () => Promise<unknown>): Promise<Phase> {
  c.sent.take();
  await c.read.take();
  await work();
  return { sent: c.sent.take(), read: await c.read.take() };
}

/** An object's key in the bench bucket. */
const benchKey = (name: string, file: string) => `bench/${name.replace(/[^\w.-]+/g, "_")}.${path.extname(file).slice(1)}`;

/** The whole probe step, as ingest runs it: head, one read or range reads, ffprobe, sampling, still, record. */
async function measure(direct: Clients, clients: Clients, c: Counters, name: string, file: string, target: number): Promise<Row> {
  const key = benchKey(name, file);
  // 8 MiB parts, as uploadFile uses by default.
  await uploadFile(direct, file, key, { partSize: 8 * MiB });
  const { size } = await stat(file);
  const t0 = performance.now();
  const all = await phase(c, async () => {
    const outcome = await probeObject(clients, key);
    if (outcome.status !== "probed") throw new Error(`${name}: ${outcome.status}`);
  });
  return { name, size, all, ms: performance.now() - t0, target };
}

/** Top-level MP4 boxes: where the moov is and how big. */
async function moovOf(file: string): Promise<{ at: number; size: number }> {
  const fh = await open(file);
  try {
    const head = Buffer.alloc(16);
    for (let at = 0, { size: end } = await fh.stat(); at < end; ) {
      await fh.read(head, 0, 16, at);
      const small = head.readUInt32BE(0);
      const size = small === 1 ? Number(head.readBigUInt64BE(8)) : small;
      if (head.toString("latin1", 4, 8) === "moov") return { at, size };
      at += size;
    }
  } finally {
    await fh.close();
  }
  throw new Error(`${file} has no moov`);
}

/**
 * A two-hour film with its moov at the end (no faststart), as cameras and many exports leave it:
 * 10 s encoded, looped by stream copy. Its moov indexes 180,000 frames.
 */
async function twoHourFilm(): Promise<string> {
  const file = path.join(FIXTURE_DIR, "bench-film-2h-moov-at-end.mp4");
  if (await stat(file).then(() => true, () => false)) return file;
  const clip = await makeVideo({ ext: "mp4", vcodec: "libx264", width: 320, height: 240, durationSec: 10, fps: 25, bitrate: "120k", cbr: true, extra: ["-g", "50"] });
  await mkdir(FIXTURE_DIR, { recursive: true });
  const tmp = `${file}.${process.pid}.tmp.mp4`;
  await execa("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", "-stream_loop", "719", ...safeInputArgs(clip), "-c", "copy", tmp]);
  await rename(tmp, file);
  return file;
}

/** What HeadObject and the manifest record's read add to an object's bytes: not the object read again. */
const REQUEST_OVERHEAD = 16 * 1024;

const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(part / whole < 0.01 ? 2 : 1)} %`;
const mib = (n: number) => (n / MiB).toFixed(2);

/** What the store sent for the probe step before this change (commit 54a8dfd, same machine and bench). */
const BEFORE: Record<string, string> = {
  mp4_h264_3m: "4226.8 %",
  mp4_h264_noaudio: "3236.0 %",
  mkv_h264: "6349.2 %",
  webm_vp9: "6437.8 %",
  mp4_4k: "4334.2 %",
  "1080p 16 Mbit/s, 1 s GOP": "21.7 %",
  "1080p 40 Mbit/s, 10 s GOP": "100.6 %",
};

async function bytesRead(): Promise<void> {
  const stack = await startTestStack();
  const proxy = await countingProxy(stack.endpoint);
  const counters = { sent: proxy, read: await ffmpegReadCounter() };
  // Uploads go straight to the folder store; the probe's requests and presigned URLs go through the proxy.
  const clients = makeClients(loadConfig({ ...stack.env, AWS_ENDPOINT_URL: proxy.url }));
  const objects: Array<[string, string, number]> = [];
  for (const name of ["mp4_h264_3m", "mp4_h264_noaudio", "mkv_h264", "webm_vp9", "mp4_4k"] as VideoFixture[]) objects.push([name, await videoFixture(name), 1]);
  const t = performance.now();
  for (const spec of LARGE) objects.push([spec.name, await large1080p(spec), spec.gop > 25 ? 0.25 : 0.1]);
  const film = await twoHourFilm();
  const made = ((performance.now() - t) / 1000).toFixed(1);
  const rows: Row[] = [];
  for (const [name, file, target] of objects) rows.push(await measure(stack, clients, counters, name, file, target));

  // The film's header: what ffprobe reads of it, against the moov's size.
  const moov = await moovOf(film);
  const filmKey = benchKey("film", film);
  await uploadFile(stack, film, filmKey, { partSize: 8 * MiB });
  const filmSize = (await stat(film)).size;
  const url = await presignedGetUrl(clients, filmKey);
  const header = await phase(counters, () => probeMedia(url, { timeoutSec: 120, sizeBytes: filmSize }));
  const filmRow = await measure(stack, clients, counters, "2 h film, moov at end", film, 0.25);
  proxy.close();
  await stack.stop();

  console.log(`Bytes per object for the whole probe step (probeObject: head, ffprobe, ${FINGERPRINTS} sampled frames, still, record).`);
  console.log(`sent = what the store sent (counting proxy; open-ended range requests overshoot by the socket buffers);`);
  console.log(`ffmpeg read = what ffmpeg/ffprobe consumed (AVIO statistics): from the local copy for objects read once,`);
  console.log(`over HTTP for the others. Objects up to ${SINGLE_READ_BYTES / MiB} MiB are read once. Targets allow ${REQUEST_OVERHEAD / 1024} KiB for
HeadObject and the manifest record. Large objects: ${made} s to make or find in the cache.\n`);
  console.log("| object | size MiB | path | sent before | sent now | ffmpeg read now | target (sent) | | time s |");
  console.log("|---|---:|---|---:|---:|---:|---:|---|---:|");
  for (const r of [...rows, filmRow]) {
    const ok = r.all.sent <= r.target * r.size + REQUEST_OVERHEAD;
    console.log(
      `| ${r.name} | ${mib(r.size)} | ${r.size <= SINGLE_READ_BYTES ? "one read" : "range reads"} | ${BEFORE[r.name] ?? "–"} | ${pct(r.all.sent, r.size)} | ${pct(r.all.read, r.size)} | ≤ ${r.target * 100} % | ${ok ? "met" : "MISSED"} | ${(r.ms / 1000).toFixed(2)} |`,
    );
  }
  console.log(`\nThe film's probe: ffprobe read ${mib(header.read)} MiB for a ${mib(moov.size)} MiB moov at ${pct(moov.at, filmSize)} of the file (${(header.read / moov.size).toFixed(2)}× the moov; the store sent ${mib(header.sent)} MiB).`);
}

async function throughput(count: number): Promise<void> {
  const stack = await startTestStack();
  // What `reelpress dev` runs, with the handlers' logs left out of the table.
  const quiet = () => undefined;
  const events = await startEmbeddedEvents(stack, stack.embedded);
  const host = startFunctionHost(stack, [
    { queue: stack.config.queues.ingest, handler: makeProbeHandler(() => stack, quiet) },
    { queue: stack.config.queues.plan, handler: makeStrategyHandler(() => stack, quiet) },
  ]);
  const names: VideoFixture[] = ["mkv_h264", "avi_mpeg4", "mp4_h264_3m", "webm_vp9", "mp4_hevc8", "mov_h264"];
  const files = await Promise.all(names.map((n) => videoFixture(n)));
  const t0 = performance.now();
  for (let i = 0; i < count; i++) {
    const file = files[i % files.length];
    const { size } = await stat(file);
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: `through/${i}${path.extname(file)}`, Body: createReadStream(file), ContentLength: size }));
  }
  let done = 0;
  while (done < count) {
    await new Promise((r) => setTimeout(r, 500));
    done = 0;
    for await (const r of listRecords(stack, "through/")) if (r.state === "planned" || r.state === "skipped") done++;
  }
  const sec = (performance.now() - t0) / 1000;
  await events.stop();
  await host.stop();
  await stack.stop();
  console.log(`\nIngest throughput (embedded events → probe → strategy, ${FINGERPRINTS} fingerprints, 320×240 4 s clips)\n`);
  console.log("| objects | seconds | objects/s | before (54a8dfd) | target |");
  console.log("|---:|---:|---:|---:|---:|");
  console.log(`| ${count} | ${sec.toFixed(1)} | ${(count / sec).toFixed(2)} | 0.59 | ≥ 5 |`);
}

process.env.REELPRESS_FINGERPRINTS = String(FINGERPRINTS);
await bytesRead();
await throughput(24);
