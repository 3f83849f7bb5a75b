// The first scan's progress, counted where the work happens: the reconcile says which videos it found
// recorded and which wait in the queue, and the pipeline's own log says when each of those is probed,
// planned and encoded, so counting costs no reads. Written to .reelpress/scan.json every few seconds
// (for `status` and the dashboard) and logged now and then. The scan is done when every video found has
// been probed; its planned and encoded counts are kept current while those videos are on their way.
import type { Clients } from "../../shared/io/clients.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { Log } from "../../shared/log.ts";
import { writeScanProgress } from "../../shared/io/scan-progress.ts";
import { addSample, scanLine, scanReport, type Sample } from "../../shared/rules/scan-progress.ts";
import type { ManifestState, ScanProgress } from "../../shared/schemas.ts";
import type { ReconcileTally } from "./reconcile.ts";

export type FirstScan = ReconcileTally & {
  /** Sees each event the pipeline logs. */
  observe(event: string, fields: Record<string, unknown>): void;
  stop(): Promise<void>;
};

export type FirstScanTiming = { writeEveryMs: number; logEveryMs: number };

/** Where a video found unprobed, or probed and not yet finished, stands. */
type Stage = "queued" | "probed" | "planned";

/** Under `status`'s limit for a live scan (60 s). */
const REWRITE_MS = 20_000;

const DECIDED: ReadonlySet<ManifestState> = new Set(["planned", "encoding", "compressed", "skipped", "ignored"]);

export function startFirstScan(clients: Clients, log: Log, timing: FirstScanTiming = { writeEveryMs: 2000, logEveryMs: 30_000 }): FirstScan {
  const startedAt = new Date().toISOString();
  const seen = new Set<string>();
  const stages = new Map<string, Stage>();
  const counts = { queued: 0, probed: 0, planned: 0, encoded: 0 };
  /** Probed by the pipeline during this scan (records found are not work done): the rate's measure. */
  let probedNow = 0;
  let samples: Sample[] = [];
  let listed = false;
  let finishedAt: string | undefined;
  let stopped = false;
  let lastLog = 0;
  let writing: Promise<void> = Promise.resolve();

  const progress = (): ScanProgress => ({ startedAt, updatedAt: new Date().toISOString(), finishedAt, listed, found: seen.size, ...counts, samples });

  let written = "";
  let writtenAt = 0;
  const tick = () => {
    const now = Date.now();
    samples = addSample(samples, [now, probedNow]);
    const p = progress();
    const report = scanReport(p);
    if (!finishedAt && listed && report.left === 0) finishedAt = p.finishedAt = p.updatedAt;
    // Once finished, the planned and encoded counts still move while videos are on their way.
    if (finishedAt && stages.size === 0) clearInterval(timer);
    const state = JSON.stringify({ ...p, updatedAt: undefined, samples: undefined });
    // Unchanged counts are written again now and then while the scan runs: `status` tells a live scan by its time.
    if (state !== written || (!finishedAt && now - writtenAt >= REWRITE_MS)) {
      written = state;
      writtenAt = now;
      writing = writing.then(() => writeScanProgress(clients, p)).catch((err) => log("scan.write-error", { error: errorMessage(err) }));
    }
    if (finishedAt ? p.finishedAt === p.updatedAt : now - lastLog >= timing.logEveryMs) {
      lastLog = now;
      const fields = { found: report.found, probed: report.probed, planned: report.planned, encoded: report.encoded, left: report.left, rate_per_sec: report.rate_per_sec, eta_sec: report.eta_sec };
      log(finishedAt ? "scan.done" : "scan.progress", fields, `first scan ${scanLine(scanReport(p))}`);
    }
  };
  const timer = setInterval(tick, timing.writeEveryMs);
  timer.unref();

  const probed = (key: string, status: string) => {
    if (stages.get(key) !== "queued") return;
    counts.probed++;
    probedNow++;
    if (status === "probed") return void stages.set(key, "probed");
    stages.delete(key);
    if (status === "compressed") {
      counts.planned++;
      counts.encoded++;
    }
  };
  const decided = (key: string, status: string) => {
    if (stages.get(key) !== "probed") return;
    counts.planned++;
    if (status === "planned") stages.set(key, "planned");
    else stages.delete(key);
  };
  const encoded = (key: string, kind: string) => {
    if (stages.get(key) !== "planned") return;
    if (kind === "compressed") counts.encoded++;
    stages.delete(key);
  };

  return {
    recorded(key, state) {
      if (stopped || seen.has(key)) return;
      seen.add(key);
      counts.probed++;
      if (DECIDED.has(state)) counts.planned++;
      if (state === "compressed") counts.encoded++;
      // Still on its way: its plan or its encode is counted when the pipeline logs it.
      if (state === "probed") stages.set(key, "probed");
      else if (state === "planned" || state === "encoding") stages.set(key, "planned");
    },
    waiting(key, sent) {
      if (stopped || seen.has(key)) return;
      seen.add(key);
      stages.set(key, "queued");
      if (sent) counts.queued++;
    },
    listed() {
      listed = true;
    },
    observe(event, fields) {
      const key = fields.key;
      if (stopped || typeof key !== "string") return;
      const [step, status] = event.split(".");
      if (step === "probe" && ["probed", "compressed", "failed", "ignored"].includes(status)) probed(key, status);
      else if (step === "strategy" && ["planned", "skipped", "ignored"].includes(status)) decided(key, status);
      else if (["job_compressed", "job_skipped", "job_dropped"].includes(event)) encoded(key, event.slice("job_".length));
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      clearInterval(timer);
      tick();
      await writing;
    },
  };
}
