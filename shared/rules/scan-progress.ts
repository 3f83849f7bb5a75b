// The first scan's progress as people read it: counts, the probe rate over the last minute, and an ETA.
// Pure: the tracker (cli/events/first-scan.ts) keeps the samples, `status` and the dashboard read the report.
import type { ScanProgress } from "../schemas.ts";

/** The rate is measured over this much of the recent past: long enough to smooth batches, short enough to follow changes. */
export const RATE_WINDOW_MS = 60_000;
/** At most this many samples are kept (one every few seconds covers the window). */
export const MAX_SAMPLES = 32;

export type Sample = ScanProgress["samples"][number];

/** `scan` in `status --json` and on the dashboard. */
export type ScanReport = {
  started_at: string;
  updated_at: string;
  finished_at?: string;
  /** False while the library is still being listed: `found` grows and there is no ETA yet. */
  listed: boolean;
  found: number;
  queued: number;
  probed: number;
  planned: number;
  encoded: number;
  /** Found and not probed yet. */
  left: number;
  /** Videos probed per second over the last minute; null until two samples a second apart. */
  rate_per_sec: number | null;
  /** Seconds until `left` is 0 at that rate; null while listing, or with no rate. */
  eta_sec: number | null;
};

/** The samples with a new one added, keeping only those of the window before it (and one older, to span it). */
export function addSample(samples: readonly Sample[], sample: Sample): Sample[] {
  const all = [...samples.filter(([at]) => at < sample[0]), sample];
  const from = all.findIndex(([at]) => sample[0] - at <= RATE_WINDOW_MS);
  return all.slice(Math.max(0, from - 1)).slice(-MAX_SAMPLES);
}

/** Probed per second between the oldest sample of the window and the newest; undefined when they are under a second apart. */
export function rateOf(samples: readonly Sample[]): number | undefined {
  if (samples.length < 2) return undefined;
  const [firstAt, firstDone] = samples[0];
  const [lastAt, lastDone] = samples[samples.length - 1];
  if (lastAt - firstAt < 1000) return undefined;
  return Math.max(0, lastDone - firstDone) / ((lastAt - firstAt) / 1000);
}

export function scanReport(p: ScanProgress): ScanReport {
  const left = Math.max(0, p.found - p.probed);
  const rate = rateOf(p.samples);
  const eta = left === 0 ? 0 : p.listed && rate ? Math.ceil(left / rate) : undefined;
  return {
    started_at: p.startedAt,
    updated_at: p.updatedAt,
    ...(p.finishedAt ? { finished_at: p.finishedAt } : {}),
    listed: p.listed,
    found: p.found,
    queued: p.queued,
    probed: p.probed,
    planned: p.planned,
    encoded: p.encoded,
    left,
    rate_per_sec: rate === undefined ? null : Math.round(rate * 10) / 10,
    eta_sec: eta ?? null,
  };
}

/** "1 h 5 min", "3 min", "42 s". */
export function formatDuration(sec: number): string {
  if (sec < 60) return `${Math.round(sec)} s`;
  const min = Math.round(sec / 60);
  return min < 60 ? `${min} min` : `${Math.floor(min / 60)} h ${min % 60} min`;
}

/** One line for the log and `status`: what is done, what is left, and how long that takes. */
export function scanLine(r: ScanReport): string {
  const n = (x: number) => x.toLocaleString("en-US");
  const head = r.finished_at ? "done" : r.listed ? "listed" : "listing";
  const rate = r.rate_per_sec === null ? "" : `, ${r.rate_per_sec}/s`;
  const eta = r.finished_at || r.eta_sec === null ? "" : `, about ${formatDuration(r.eta_sec)} left`;
  return `${head}: ${n(r.found)} found, ${n(r.probed)} probed, ${n(r.planned)} planned, ${n(r.encoded)} encoded, ${n(r.left)} left${rate}${eta}`;
}
