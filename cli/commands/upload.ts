// `reelpress upload PATH…`: video files and folders into the library, by multipart upload with progress.
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import type { Clients } from "../../shared/io/clients.ts";
import { UsageError, UserError, errorMessage } from "../../shared/errors.ts";
import { VIDEO_EXTENSIONS, extensionOf, isSystemKey, isVideoKey } from "../../shared/rules/naming.ts";
import { uploadFile } from "../../shared/io/objects.ts";
import type { Command } from "../command.ts";
import { clientsFrom } from "../context.ts";
import { bold, dim, formatBytes, logEvent, red, yellow } from "../output.ts";
import { catchInterrupt } from "../interrupt.ts";
import { ProgressBar } from "../progress.ts";
import { explainRemote, requireBucket } from "../remote.ts";
import { mapLimit } from "../../shared/pool.ts";

export type PlannedFile = { path: string; key: string; size: number };
export type SkippedFile = { path: string; reason: string };

/** Files at once; each also sends PART_QUEUE parts at once, so memory stays under 3 × 4 × 8 MiB. */
const FILE_CONCURRENCY = 3;
const PART_QUEUE = 4;
const PART_SIZE = 8 * 1024 ** 2;

const CONTENT_TYPES: Record<string, string> = {
  mp4: "video/mp4", m4v: "video/mp4", mkv: "video/x-matroska", webm: "video/webm", avi: "video/x-msvideo",
  mov: "video/quicktime", wmv: "video/x-ms-wmv", flv: "video/x-flv", mpeg: "video/mpeg", mpg: "video/mpeg",
  ts: "video/mp2t", mts: "video/mp2t", m2ts: "video/mp2t",
};

async function statOrNull(p: string) {
  return stat(p).catch(() => undefined);
}

/**
 * What would be uploaded where: a file goes to `<prefix><name>`, a folder's videos to
 * `<prefix><folder>/<path inside it>` (as `cp -r` does). Unsupported files are listed as skipped.
 */
export async function planUploads(paths: string[], prefix: string, backupPrefix: string): Promise<{ files: PlannedFile[]; skipped: SkippedFile[] }> {
  const files: PlannedFile[] = [];
  const skipped: SkippedFile[] = [];
  const consider = (file: string, relKey: string, size: number) => {
    const key = `${prefix}${relKey}`;
    if (!isVideoKey(key)) skipped.push({ path: file, reason: `not a supported video (.${extensionOf(file) || "no extension"})` });
    else if (isSystemKey(key, backupPrefix)) skipped.push({ path: file, reason: `would land under ${key.startsWith(".reelpress/") ? ".reelpress/" : backupPrefix}, which reelpress keeps for itself` });
    else files.push({ path: file, key, size });
  };
  for (const given of paths) {
    const st = await statOrNull(given);
    if (!st) throw new UserError(`No such file or folder: ${given}.`);
    if (st.isFile()) {
      consider(given, path.basename(given), st.size);
      continue;
    }
    if (!st.isDirectory()) throw new UserError(`${given} is neither a file nor a folder.`);
    const base = path.basename(path.resolve(given));
    const entries = await readdir(given, { recursive: true, withFileTypes: true });
    for (const entry of entries.sort((a, b) => path.join(a.parentPath, a.name).localeCompare(path.join(b.parentPath, b.name)))) {
      if (entry.isDirectory()) continue;
      const full = path.join(entry.parentPath, entry.name);
      // stat follows a symlinked file; readdir never descends into a symlinked folder (no loops).
      const target = await statOrNull(full);
      if (!target?.isFile()) continue;
      consider(full, `${base}/${path.relative(given, full).split(path.sep).join("/")}`, target.size);
    }
  }
  const seen = new Map<string, string>();
  for (const f of files) {
    const other = seen.get(f.key);
    if (other) throw new UsageError(`${other} and ${f.path} would both upload to '${f.key}'; upload them separately with different --prefix values.`);
    seen.set(f.key, f.path);
  }
  return { files, skipped };
}

export type Outcome = { uploaded: Array<PlannedFile & { etag: string }>; failed: Array<PlannedFile & { error: string }>; cancelled: PlannedFile[] };

/** Reports progress as a bar on a terminal, as JSON lines (at most one a second) otherwise. */
function progressReporter(total: number, fileCount: number) {
  const tty = process.stderr.isTTY === true;
  const bar = tty ? new ProgressBar({ total, unit: "bytes" }) : undefined;
  let lastLine = 0;
  return {
    update(loaded: number, filesDone: number) {
      const label = `${filesDone}/${fileCount} files`;
      if (bar) return bar.update(loaded, label);
      const now = Date.now();
      if (now - lastLine < 1000) return;
      lastLine = now;
      logEvent("upload.progress", { loaded, total, files_done: filesDone, files: fileCount });
    },
    note(event: string, fields: Record<string, unknown>, text: string) {
      if (bar) bar.log(text);
      else logEvent(event, fields);
    },
    stop: () => bar?.stop(),
  };
}

export async function uploadAll(clients: Clients, files: PlannedFile[], signal: AbortSignal): Promise<Outcome> {
  const outcome: Outcome = { uploaded: [], failed: [], cancelled: [] };
  const total = files.reduce((n, f) => n + f.size, 0);
  const loaded = new Map<string, number>();
  let finishedBytes = 0;
  const progress = progressReporter(total, files.length);
  const report = () => {
    let inFlight = 0;
    for (const n of loaded.values()) inFlight += n;
    progress.update(finishedBytes + inFlight, outcome.uploaded.length);
  };
  await mapLimit(files, FILE_CONCURRENCY, async (f) => {
    // After a failure or Ctrl+C, files not yet started are left alone.
    if (signal.aborted || outcome.failed.length > 0) {
      outcome.cancelled.push(f);
      return;
    }
    try {
      const r = await uploadFile(clients, f.path, f.key, {
        contentType: CONTENT_TYPES[extensionOf(f.key)],
        partSize: PART_SIZE,
        queueSize: PART_QUEUE,
        signal,
        onProgress: (n) => {
          loaded.set(f.key, n);
          report();
        },
      });
      outcome.uploaded.push({ ...f, etag: r.etag });
      finishedBytes += f.size;
      progress.note("upload.file", { path: f.path, key: f.key, bytes: f.size }, `${dim("uploaded")} ${f.key} ${dim(formatBytes(f.size))}`);
    } catch (err) {
      if (signal.aborted) outcome.cancelled.push(f);
      else {
        const error = explainRemote(err, clients.config) ?? errorMessage(err);
        outcome.failed.push({ ...f, error });
        progress.note("upload.failed", { path: f.path, key: f.key, error }, red(`failed   ${f.key}: ${error}`));
      }
    } finally {
      loaded.delete(f.key);
      report();
    }
  });
  progress.stop();
  return outcome;
}

function summaryText(outcome: Outcome, skipped: SkippedFile[], bucketUri: string, seconds: number): string {
  const bytes = outcome.uploaded.reduce((n, f) => n + f.size, 0);
  const lines = [`${bold("Uploaded")} ${outcome.uploaded.length} file(s), ${formatBytes(bytes)}, to ${bucketUri} in ${seconds.toFixed(1)}s.`];
  if (skipped.length) lines.push(`Skipped ${skipped.length}:`, ...skipped.map((s) => `  ${s.path}  ${dim(s.reason)}`));
  if (outcome.failed.length) lines.push(red(`Failed ${outcome.failed.length}:`), ...outcome.failed.map((f) => `  ${f.path}  ${f.error}`));
  if (outcome.cancelled.length) lines.push(yellow(`Not uploaded ${outcome.cancelled.length} (nothing partial was left behind):`), ...outcome.cancelled.map((f) => `  ${f.path}`));
  return lines.join("\n");
}

const command: Command = {
  summary: "Upload video files and folders into the library (multipart, with a progress bar).",
  usage: "PATH… [--prefix P] [--json]",
  options: {
    prefix: { type: "string" },
    json: { type: "boolean" },
  },
  examples: [
    "reelpress upload holiday.mkv",
    "reelpress upload ~/Videos/2019 --prefix family/   # keys family/2019/…",
    "reelpress upload a.avi b.mov --json | jq .uploaded",
  ],
  async run(values, positionals) {
    if (positionals.length === 0) throw new UsageError("Name at least one file or folder to upload; run 'reelpress upload --help'.");
    const clients = clientsFrom(values);
    const { config } = clients;
    const { files, skipped } = await planUploads(positionals, config.prefix, config.backupPrefix);
    const bucketUri = `s3://${config.bucket}/${config.prefix}`;
    if (!values.json) {
      for (const s of skipped) logEvent("upload.skipped", { path: s.path, reason: s.reason }, `${yellow("skipped")}  ${s.path}  ${dim(s.reason)}`);
    }
    if (files.length === 0) throw new UserError(`No supported videos among ${positionals.join(", ")} (supported: ${VIDEO_EXTENSIONS.map((e) => `.${e}`).join(" ")}).`);
    await requireBucket(clients);
    const started = Date.now();
    const interrupt = catchInterrupt("aborting uploads in flight");
    let outcome: Outcome;
    try {
      outcome = await uploadAll(clients, files, interrupt.signal);
    } finally {
      interrupt.dispose();
    }
    const seconds = (Date.now() - started) / 1000;
    if (values.json) {
      console.log(JSON.stringify({
        bucket: config.bucket,
        uploaded: outcome.uploaded.map(({ path: p, key, size, etag }) => ({ path: p, key, size, etag })),
        skipped,
        failed: outcome.failed.map(({ path: p, key, error }) => ({ path: p, key, error })),
        not_uploaded: outcome.cancelled.map(({ path: p, key }) => ({ path: p, key })),
        bytes: outcome.uploaded.reduce((n, f) => n + f.size, 0),
        seconds,
        interrupted: interrupt.signal.aborted,
      }));
    } else {
      console.log(summaryText(outcome, skipped, bucketUri, seconds));
    }
    if (interrupt.signal.aborted) return 130;
    return outcome.failed.length > 0 ? 1 : 0;
  },
};
export default command;
