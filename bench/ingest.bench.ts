// Ingest bench: bytes the probe reads per object (header probe and fingerprints, counted by an HTTP
// proxy in front of the emulator) against object size, and objects ingested per second end to end.
import { createReadStream } from "node:fs";
import { chmod, mkdir, mkdtemp, readFile, readdir, rename, rm, stat, writeFile } from "node:fs/promises";
import http from "node:http";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { execa } from "execa";
import { startEmbeddedEvents } from "../cli/events/embedded.ts";
import { startFunctionHost } from "../cli/host.ts";
import { makeProbeHandler } from "../functions/probe/handler.ts";
import { makeStrategyHandler } from "../functions/strategy/handler.ts";
import { makeClients, type Clients } from "../shared/clients.ts";
import { loadConfig } from "../shared/config.ts";
import { probeMedia, safeInputArgs } from "../shared/ffprobe.ts";
import { fingerprintVideo } from "../shared/fingerprint.ts";
import { listRecords } from "../shared/manifest.ts";
import { presignedGetUrl, uploadFile } from "../shared/storage.ts";
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
type Row = { name: string; size: number; probe: Phase; prints: Phase; ms: number };

async function phase(c: Counters, work: () => Promise<unknown>): Promise<Phase> {
  c.sent.take();
  await c.read.take();
  await work();
  return { sent: c.sent.take(), read: await c.read.take() };
}

async function measure(direct: Clients, clients: Clients, c: Counters, name: string, file: string): Promise<Row> {
  const key = `bench/${name.replace(/[^\w.-]+/g, "_")}.${path.extname(file).slice(1)}`;
  // 8 MiB parts: the emulator takes at most 11 MiB per request.
  await uploadFile(direct, file, key, { partSize: 8 * MiB });
  const { size } = await stat(file);
  const url = await presignedGetUrl(clients, key);
  const t0 = performance.now();
  let durationSec = 0;
  const probe = await phase(c, async () => (durationSec = (await probeMedia(url, { timeoutSec: 120, sizeBytes: size })).durationSec));
  const prints = await phase(c, () => fingerprintVideo(url, { durationSec, count: FINGERPRINTS, timeoutSec: 120 }));
  return { name, size, probe, prints, ms: performance.now() - t0 };
}

const pct = (part: number, whole: number) => `${((100 * part) / whole).toFixed(part / whole < 0.01 ? 2 : 1)} %`;
const mib = (n: number) => (n / MiB).toFixed(2);

async function bytesRead(): Promise<void> {
  const stack = await startTestStack();
  const proxy = await countingProxy(stack.endpoint);
  const counters = { sent: proxy, read: await ffmpegReadCounter() };
  // Uploads go straight to the emulator; the presigned URLs the probe reads point at the proxy.
  const clients = makeClients(loadConfig({ ...stack.env, AWS_ENDPOINT_URL: proxy.url }));
  const objects: Array<[string, string]> = [];
  for (const name of ["mp4_h264_3m", "mp4_h264_noaudio", "mkv_h264", "webm_vp9", "mp4_4k"] as VideoFixture[]) objects.push([name, await videoFixture(name)]);
  const t = performance.now();
  for (const spec of LARGE) objects.push([spec.name, await large1080p(spec)]);
  const made = ((performance.now() - t) / 1000).toFixed(1);
  const rows: Row[] = [];
  for (const [name, file] of objects) rows.push(await measure(stack, clients, counters, name, file));
  proxy.close();
  await stack.stop();

  console.log(`Bytes per object: read = what ffmpeg/ffprobe consumed (AVIO statistics), sent = what the store sent (counting proxy;`);
  console.log(`open-ended range requests overshoot by the socket buffers). ${FINGERPRINTS} fingerprints. Large objects: ${made} s to make or find in the cache.\n`);
  console.log("| object | size MiB | header read | header sent | prints read | prints sent | total read | total sent | header ≤ max(2 MiB, 1 %) | time s |");
  console.log("|---|---:|---:|---:|---:|---:|---:|---:|---|---:|");
  for (const r of rows) {
    const target = Math.max(2 * MiB, 0.01 * r.size);
    console.log(
      `| ${r.name} | ${mib(r.size)} | ${mib(r.probe.read)} | ${mib(r.probe.sent)} | ${mib(r.prints.read)} | ${mib(r.prints.sent)} | ${pct(r.probe.read + r.prints.read, r.size)} | ${pct(r.probe.sent + r.prints.sent, r.size)} | ${r.probe.read <= target ? "met" : "MISSED"} | ${(r.ms / 1000).toFixed(2)} |`,
    );
  }
  console.log("");
  for (const r of rows.slice(-LARGE.length)) {
    console.log(`Whole ingest of ${r.name}: ${pct(r.probe.read + r.prints.read, r.size)} read, ${pct(r.probe.sent + r.prints.sent, r.size)} sent (target ≤ 10 %).`);
  }
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
  console.log("| objects | seconds | objects/s |");
  console.log("|---:|---:|---:|");
  console.log(`| ${count} | ${sec.toFixed(1)} | ${(count / sec).toFixed(2)} |`);
}

process.env.REELPRESS_FINGERPRINTS = String(FINGERPRINTS);
await bytesRead();
await throughput(24);
