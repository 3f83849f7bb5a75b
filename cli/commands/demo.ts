// `reelpress demo`: the whole product in one command, on the embedded store, with generated clips.
import { access, copyFile, mkdir, readdir, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { execa } from "execa";
import { makeClients, type Clients } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";
import { startEmbedded } from "../embedded.ts";
import { UsageError, UserError } from "../../shared/errors.ts";
import { gatherStatus } from "../../shared/io/library.ts";
import { ensureResources } from "../../shared/io/resources.ts";
import { DedupReport, type StatusSummary } from "../../shared/schemas.ts";
import type { Command } from "../command.ts";
import { catchInterrupt } from "../interrupt.ts";
import { bold, dim, formatBytes, green, logEvent, red, yellow } from "../output.ts";
import { startPipeline } from "../pipeline.ts";
import { ProgressBar } from "../progress.ts";
import { renderStatus } from "./status.ts";
import { planUploads, uploadAll } from "./upload.ts";
import { mapLimit } from "../../shared/pool.ts";

type Recipe = { input: string; seconds: number; codec: string[] } | { copyOf: string } | { text: string };
export type Clip = { key: string; shows: string; recipe: Recipe };

const x264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p"];
const cbr = (rate: string) => ["-b:v", rate, "-minrate", rate, "-maxrate", rate, "-bufsize", rate, "-x264-params", "nal-hrd=cbr:force-cfr=1"];

/** One clip per row of the decision table, two duplicates and one non-video; distinct lavfi sources so only the duplicates match. */
export const CLIPS: Clip[] = [
  { key: "trip/4k-camera.mkv", shows: "not MP4, 4K: H.264, downscaled to 1080p", recipe: { input: "testsrc2=size=3840x2160:rate=10", seconds: 2, codec: x264 } },
  { key: "trip/camcorder.avi", shows: "not MP4, below 4K: H.264 MP4", recipe: { input: "mandelbrot=size=320x240:rate=25", seconds: 4, codec: ["-c:v", "mpeg4", "-q:v", "5"] } },
  { key: "trip/drone-4k.mp4", shows: "MP4, 4K: H.264, downscaled", recipe: { input: "testsrc=size=3840x2160:rate=10", seconds: 2, codec: x264 } },
  {
    key: "phone/clip-hevc.mp4",
    shows: "MP4 HEVC: H.264 for compatibility",
    recipe: { input: "sierpinski=size=320x240:rate=25:type=carpet", seconds: 4, codec: ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p", "-tag:v", "hvc1"] },
  },
  { key: "web/low-bitrate.mp4", shows: "MP4 H.264 below 0.5 Mbit/s: skipped (renamed _skip)", recipe: { input: "gradients=size=640x360:rate=25:speed=0.05", seconds: 4, codec: [...x264, ...cbr("300k")] } },
  { key: "web/high-bitrate.mp4", shows: "MP4 H.264 at 3 Mbit/s: H.264 if it saves 5 % or more", recipe: { input: "sierpinski=size=640x360:rate=25:type=triangle", seconds: 4, codec: [...x264, ...cbr("3M")] } },
  { key: "web/vp9.mp4", shows: "MP4 VP9: H.264 if it saves 5 % or more", recipe: { input: "mptestsrc=rate=25", seconds: 4, codec: ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "1M"] } },
  { key: "archive/low-bitrate (copy).mp4", shows: "byte-identical copy of web/low-bitrate.mp4: exact duplicate", recipe: { copyOf: "web/low-bitrate.mp4" } },
  { key: "archive/camcorder-hq.mp4", shows: "trip/camcorder.avi's scene at 640×480: visual duplicate", recipe: { input: "mandelbrot=size=640x480:rate=25", seconds: 4, codec: x264 } },
  { key: "trip/notes.mkv", shows: "a text file named .mkv: failed with its reason, never touched", recipe: { text: "Packing list, not a video.\n" } },
];

/** The reduced set `--quick` uses (and the tests): every state and an exact duplicate, in seconds. */
export const QUICK_CLIPS = ["trip/camcorder.avi", "web/low-bitrate.mp4", "archive/low-bitrate (copy).mp4", "trip/notes.mkv"];

const MARKER = ".reelpress-demo";
const REELPRESS = new URL("../../bin/reelpress", import.meta.url).pathname;

/** The demo's folder is its own: wiped at start, but only if an earlier demo made it. */
async function prepareFolder(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => undefined);
  if (entries?.length && !entries.includes(MARKER)) throw new UserError(`${dir} is not empty and not a demo folder; pick a new one with --data-dir.`);
  await rm(dir, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await writeFile(path.join(dir, MARKER), "made by reelpress demo; removed and remade by the next one\n");
}

async function makeClip(clip: Clip, root: string): Promise<void> {
  const out = path.join(root, clip.key);
  await mkdir(path.dirname(out), { recursive: true });
  const r = clip.recipe;
  if ("text" in r) return writeFile(out, r.text);
  if ("copyOf" in r) return copyFile(path.join(root, r.copyOf), out);
  await execa("ffmpeg", ["-hide_banner", "-nostdin", "-loglevel", "error", "-y", "-f", "lavfi", "-i", r.input, "-t", String(r.seconds), ...r.codec, out]);
}

/** Copies come after their originals; the rest two at a time. */
async function makeClips(clips: Clip[], root: string): Promise<void> {
  const bar = process.stderr.isTTY ? new ProgressBar({ total: clips.length, unit: "items", label: "ffmpeg" }) : undefined;
  let done = 0;
  const step = (batch: Clip[]) =>
    mapLimit(batch, 2, async (c) => {
      await makeClip(c, root);
      bar?.update(++done);
      if (!bar) logEvent("demo.clip", { key: c.key });
    });
  await step(clips.filter((c) => !("copyOf" in c.recipe)));
  await step(clips.filter((c) => "copyOf" in c.recipe));
  bar?.stop();
}

const finished = (s: StatusSummary) => s.compressed.count + s.skipped.count + s.failed.count;
const inFlight = (s: StatusSummary) => Object.values(s.queues).reduce((n, q) => n + q.in_flight, 0);

/** Why nothing moves any more, from what the queues hold; said plainly rather than waited out. */
export function stallReason(s: StatusSummary): string {
  const q = s.queues;
  if ((q.encode?.visible ?? 0) > 0) return `${q.encode.visible} encode job(s) wait in the encode queue and no runner takes them (is the runner part of 'reelpress dev' in this build?)`;
  if ((q.plan?.visible ?? 0) > 0) return `${q.plan.visible} message(s) wait in the plan queue and the strategy function does not take them`;
  if ((q.ingest?.visible ?? 0) > 0) return `${q.ingest.visible} message(s) wait in the ingest queue and the probe function does not take them`;
  return `${s.remaining.count} video(s) were never picked up: no ingest event, or no record for the result`;
}

type WaitResult = { summary: StatusSummary; failures: Awaited<ReturnType<typeof gatherStatus>>["failures"]; outcome: "done" | "stalled" | "timeout" | "interrupted" };

/** Polls `status` until every upload reached a final state, the pipeline stalls, or time runs out. */
async function waitForPipeline(clients: Clients, expected: number, opts: { timeoutSec: number; stallSec: number; signal: AbortSignal }): Promise<WaitResult> {
  const started = Date.now();
  let last = "";
  let lastLine = "";
  let lastChange = Date.now();
  let doneBefore = false;
  for (;;) {
    const { summary, failures } = await gatherStatus(clients);
    const n = finished(summary);
    const snapshot = JSON.stringify(summary);
    if (snapshot !== last) {
      last = snapshot;
      lastChange = Date.now();
    }
    const counts = { compressed: summary.compressed.count, skipped: summary.skipped.count, failed: summary.failed.count, in_progress: summary.in_progress.count, remaining: summary.remaining.count };
    const line = `  ▸ ${n}/${expected} processed: ${counts.compressed} compressed, ${counts.skipped} skipped, ${counts.failed} failed, ${counts.in_progress} encoding, ${counts.remaining} waiting`;
    if (line !== lastLine) {
      lastLine = line;
      // A line per change, not a bar: the pipeline's own log lines (probe, strategy, runner) interleave here.
      logEvent("demo.progress", { processed: n, expected, ...counts }, bold(line));
    }
    const idle = inFlight(summary) === 0;
    const done = n >= expected && summary.remaining.count === 0 && summary.in_progress.count === 0 && idle;
    // Done twice in a row: the outputs' own ingest events (which only confirm them) have settled too.
    if (done && doneBefore) return { summary, failures, outcome: "done" };
    doneBefore = done;
    // Work in flight (a long encode) is progress even when no count changes.
    if (idle && Date.now() - lastChange > opts.stallSec * 1000) return { summary, failures, outcome: "stalled" };
    if (Date.now() - started > opts.timeoutSec * 1000) return { summary, failures, outcome: "timeout" };
    if (opts.signal.aborted) return { summary, failures, outcome: "interrupted" };
    await sleep(1000, undefined, { signal: opts.signal }).catch(() => undefined);
  }
}

/** `reelpress report` as its users run it; absent from a build that has no dedup yet, which is said plainly. */
async function runReport(env: NodeJS.ProcessEnv, dir: string): Promise<{ lines: string[]; ok: boolean }> {
  const hasReport = await access(new URL("./report.ts", import.meta.url)).then(() => true, () => false);
  if (!hasReport) return { ok: false, lines: [yellow("This build has no 'reelpress report' command yet, so there is no duplicate report to show.")] };
  const html = path.join(dir, "report.html");
  const out = path.join(dir, "report.json");
  const r = await execa(REELPRESS, ["report", "--json", "--out", out, "--html", html], { env, reject: false, timeout: 300_000 });
  if (r.exitCode !== 0) return { ok: false, lines: [red(`'reelpress report' failed: ${String(r.stderr).trim().split("\n").at(-1) ?? `exit ${r.exitCode}`}`)] };
  const report = DedupReport.parse(JSON.parse(String(r.stdout)));
  const s = report.summary;
  const lines = [`${s.total_groups} group(s) of duplicates, ${s.total_losers} copy(ies) that could go, ${formatBytes(s.bytes_reclaimable)} reclaimable.`];
  for (const g of report.groups) {
    lines.push(`  ${g.type.padEnd(7)} keep ${g.winner.key} ${dim(`(${g.winner.reason})`)}`);
    for (const l of g.losers) lines.push(`          drop ${l.key} ${dim(`(${l.reason})`)}`);
  }
  const htmlThere = await access(html).then(() => true, () => false);
  lines.push(htmlThere ? `HTML report: ${bold(html)}` : yellow("'reelpress report' wrote no HTML page."), `JSON report: ${out}`);
  return { ok: htmlThere, lines };
}

const command: Command = {
  summary: "See it all work: generate clips for every rule, upload them, process them, show status and duplicates.",
  usage: "[--data-dir DIR] [--quick] [--timeout SEC]",
  options: {
    "data-dir": { type: "string", default: ".cache/demo" },
    quick: { type: "boolean" },
    timeout: { type: "string", default: "900" },
  },
  examples: [
    "reelpress demo                           # the same as: npm run demo",
    "reelpress demo --quick                   # four clips, done in well under a minute",
    "reelpress demo --data-dir /tmp/rp-demo   # then: reelpress dev --data-dir /tmp/rp-demo/store",
  ],
  async run(values, positionals) {
    if (positionals.length) throw new UsageError(`demo takes no arguments (got '${positionals[0]}').`);
    const timeoutSec = Number(values.timeout);
    if (!Number.isFinite(timeoutSec) || timeoutSec <= 0) throw new UsageError(`--timeout must be a positive number of seconds, not '${values.timeout}'.`);
    const dir = path.resolve(String(values["data-dir"]));
    const clips = values.quick ? CLIPS.filter((c) => QUICK_CLIPS.includes(c.key)) : CLIPS;
    const say = (line: string) => console.log(line);
    await prepareFolder(dir);

    say(bold(`1/5 Starting the embedded store and the pipeline`) + dim(`  (data in ${dir})`));
    const embedded = await startEmbedded({ dataDir: path.join(dir, "store"), port: 0 });
    // The demo's own store, whatever endpoints or bucket this shell points at.
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      AWS_ENDPOINT_URL: embedded.endpoint, AWS_ENDPOINT_URL_S3: "", AWS_ENDPOINT_URL_SQS: "",
      AWS_ACCESS_KEY_ID: "test", AWS_SECRET_ACCESS_KEY: "test", AWS_REGION: "us-east-1",
      REELPRESS_BUCKET: "reelpress", REELPRESS_PREFIX: "", REELPRESS_EVENTS: "",
      REELPRESS_X264_PRESET: process.env.REELPRESS_X264_PRESET || "veryfast",
    };
    const clients = makeClients(loadConfig(env));
    const interrupt = catchInterrupt("stopping the demo");
    let pipeline: Awaited<ReturnType<typeof startPipeline>> | undefined;
    try {
      await ensureResources(clients);
      pipeline = await startPipeline(clients, { embedded, runner: true, env });
      say(`    endpoint ${embedded.endpoint}, bucket ${clients.config.bucket}`);

      say(bold(`2/5 Making ${clips.length} clips with ffmpeg`) + dim("  (lavfi test sources)"));
      const clipRoot = path.join(dir, "clips", "demo");
      await makeClips(clips, clipRoot);
      for (const c of clips) say(`    ${c.key.padEnd(32)} ${dim(c.shows)}`);

      say(bold("3/5 Uploading"));
      const { files } = await planUploads([clipRoot], "", clients.config.backupPrefix);
      const up = await uploadAll(clients, files, interrupt.signal);
      if (up.failed.length || up.cancelled.length) throw new UserError(`Upload did not finish: ${up.failed[0]?.error ?? "interrupted"}.`);
      say(`    ${up.uploaded.length} file(s), ${formatBytes(up.uploaded.reduce((n, f) => n + f.size, 0))}, to s3://${clients.config.bucket}/demo/`);

      say(bold("4/5 Waiting for probe → strategy → runner"));
      const waited = await waitForPipeline(clients, files.length, { timeoutSec, stallSec: 60, signal: interrupt.signal });
      // The demo's fresh bucket has nothing under a free name.
      say(renderStatus(waited.summary, waited.failures, `s3://${clients.config.bucket}/`, []).replace(/^/gm, "    "));
      if (waited.outcome === "interrupted") return 130;
      if (waited.outcome !== "done") {
        const why = waited.outcome === "timeout" ? `not done after ${timeoutSec}s (--timeout)` : stallReason(waited.summary);
        say(red(`The pipeline did not finish: ${why}.`));
        say(dim(`Everything is kept in ${dir}; 'reelpress dev --data-dir ${path.join(dir, "store")}' serves it again.`));
        return 1;
      }
      say(green(`    All ${files.length} processed: ${formatBytes(waited.summary.saved_bytes)} saved.`));

      say(bold("5/5 Duplicate report"));
      const report = await runReport(env, dir);
      for (const line of report.lines) say(`    ${line}`);
      say(dim(`Everything is kept in ${dir}; 'reelpress dev --data-dir ${path.join(dir, "store")}' serves the demo library again.`));
      return report.ok ? 0 : 1;
    } catch (err) {
      if (interrupt.signal.aborted) return 130;
      throw err;
    } finally {
      interrupt.dispose();
      await pipeline?.stop();
      await embedded.stop();
    }
  },
};
export default command;
