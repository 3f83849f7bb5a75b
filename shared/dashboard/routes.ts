// The dashboard's requests, answered alike by `reelpress dev`'s HTTP server and by the dashboard
// Lambda behind its function URL: the page, GET /api/status (exactly `reelpress status --json`),
// GET /api/overview (the kept overview, served at once: keeper.ts), GET /api/watch (`dev`'s folder
// watch), GET /api/scan (the first scan's progress, or null), and GET /api/montage for previews only
// (montage JPEGs and preview WebMs, in ranges).
import { readFile } from "node:fs/promises";
import { buffer } from "node:stream/consumers";
import type { Clients } from "../io/clients.ts";
import { getObject, headObject, isNotFound } from "../io/objects.ts";
import { errorMessage } from "../errors.ts";
import { MANIFEST_PREFIX, PREVIEWS_PREFIX, REPORTS_PREFIX, SYSTEM_PREFIX } from "../rules/naming.ts";
import { queueDepths } from "../io/library.ts";
import { listRunners } from "../io/runners.ts";
import { explainRemote } from "../io/remote-errors.ts";
import { type Overview, dashboardOverview } from "./overview.ts";
import { readScanReport, withScan } from "../io/scan-progress.ts";
import { OverviewKeeper } from "./keeper.ts";
import type { QueuedList } from "./queued.ts";
import { rangeBounds } from "../../store/range.ts";

/** The page's path in the repository; infra copies it to the same path in the function's package. */
export const PAGE_FILE = "shared/dashboard/page.html";
/** Live parts (queue depths, runners' jobs) are read at most this often, to see whether anything changed. */
const LIVE_MS = 2000;
/** At least this long between the end of one computation and the start of the next. */
const MIN_GAP_MS = 1000;
/** Where no write events come (the Lambda, MinIO), the kept overview is recomputed once this old. */
const UNFED_MAX_AGE_MS = 10_000;
/** The page lists this many queued files; the count says how many there are. */
export const SHOWN_QUEUED = 50;
/** A Lambda response holds at most 6 MB, and base64 adds a third; montages are far smaller, longer previews go in ranges. */
export const MAX_PREVIEW_BYTES = 4 * 1024 ** 2;

export type DashboardResponse = { status: number; headers: Record<string, string>; body: string | Buffer };
/** `headers`: the request's, lower-case; only `range` is read (a browser plays a preview in ranges). */
export type DashboardRoutes = ((method: string, path: string, query: Record<string, string | undefined>, headers?: { range?: string }) => Promise<DashboardResponse>) & {
  /** The store wrote or removed `key` (in `dev`, fed by the folder store's own events). */
  changed(key: string): void;
  /** Cancels a recomputation waiting for its turn. */
  stop(): void;
};

/** The folder watch of `dev`: how many folders are watched, and when some are not, why. */
export type WatchState = { folders: number; limited: boolean; message?: string };

export type RouteOptions = {
  /** True where `changed` is told of every write: the overview is then recomputed only after one. */
  fedByWrites?: boolean;
  /** How an overview is computed (tests count computations through it). */
  compute?: () => Promise<Overview>;
  /** The files waiting for the pipeline, by key, where something tracks them (`dev`). */
  queued?: () => QueuedList;
  watching?: () => WatchState | undefined;
};

/** Pure: whether a write can change what the overview counts (runners' progress, previews and work files cannot). */
export function countsChange(key: string): boolean {
  return !key.startsWith(SYSTEM_PREFIX) || key.startsWith(MANIFEST_PREFIX) || key.startsWith(REPORTS_PREFIX);
}

/**
 * What a preview key may be served as, by its name alone: the stored content type could be anyone's, and
 * text/html under the dashboard's origin would run as its page.
 */
const PREVIEW_TYPES: Record<string, string> = { ".jpg": "image/jpeg", ".webm": "video/webm" };

export function previewTypeOf(key: string): string | undefined {
  if (!key.startsWith(PREVIEWS_PREFIX) || key.includes("..")) return undefined;
  return Object.entries(PREVIEW_TYPES).find(([ext]) => key.endsWith(ext))?.[1];
}

/**
 * Pure: the bytes a Range header asks of an object of `size` (one range; at most `limit` bytes of it),
 * "none" when there is no header, "unsatisfiable" for one that asks for nothing the object has.
 */
export function byteRange(header: string | undefined, size: number, limit = MAX_PREVIEW_BYTES): [number, number] | "none" | "unsatisfiable" {
  const bounds = rangeBounds(header, size);
  if (bounds === "none") return "none";
  if (typeof bounds === "string") return "unsatisfiable";
  return [bounds.start, Math.min(bounds.end, bounds.start + limit - 1)];
}

const json = (status: number, body: unknown): DashboardResponse => ({
  status,
  headers: { "content-type": "application/json", "cache-control": "no-store" },
  body: JSON.stringify(body),
});

/** `page` is where to read the page from: beside this module unless given. */
export function dashboardRoutes(clients: Clients, page: string | URL = new URL("./page.html", import.meta.url), opts: RouteOptions = {}): DashboardRoutes {
  let html: Promise<string> | undefined;
  const readPage = () => (html ??= readFile(page, "utf8").catch((err) => {
    html = undefined;
    throw err;
  }));
  const keeper = new OverviewKeeper({
    compute: opts.compute ?? (() => dashboardOverview(clients)),
    live: async () => {
      const [queues, runners] = await Promise.all([queueDepths(clients), listRunners(clients)]);
      return { queues, runners };
    },
    liveMs: LIVE_MS,
    minGapMs: MIN_GAP_MS,
    maxAgeMs: opts.fedByWrites ? Infinity : UNFED_MAX_AGE_MS,
  });
  const overview = async () => ({ ...(await keeper.get()), queued: opts.queued?.() ?? null, watch: opts.watching?.() ?? null });

  const route = async (path: string, query: Record<string, string | undefined>, range: string | undefined): Promise<DashboardResponse> => {
    switch (path) {
      case "/":
        return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: await readPage() };
      case "/api/status":
        return json(200, withScan((await keeper.fresh()).status, await readScanReport(clients)));
      case "/api/scan":
        return json(200, (await readScanReport(clients)) ?? null);
      case "/api/overview":
        return json(200, await overview());
      case "/api/watch":
        return json(200, opts.watching?.() ?? null);
      case "/api/montage":
        return preview(query.key ?? "", range);
      default:
        return json(404, { error: `no such page: ${path}` });
    }
  };

  /** Only previews: the page must not become a way to read the library itself. */
  const preview = async (key: string, range: string | undefined): Promise<DashboardResponse> => {
    const type = previewTypeOf(key);
    if (!type) return json(400, { error: `not a preview key: ${key}` });
    const head = await headObject(clients, key);
    if (!head) return json(404, { error: `no such preview: ${key}` });
    const headers = { "content-type": type, "x-content-type-options": "nosniff", "cache-control": "max-age=3600", "accept-ranges": "bytes" };
    const wanted = byteRange(range, head.size);
    if (wanted === "unsatisfiable") return { status: 416, headers: { ...headers, "content-range": `bytes */${head.size}` }, body: "" };
    if (wanted === "none" && head.size > MAX_PREVIEW_BYTES) return json(413, { error: `preview ${key} is larger than the dashboard serves in one response (${MAX_PREVIEW_BYTES} bytes); ask for a range` });
    if (head.size === 0) return { status: 200, headers, body: Buffer.alloc(0) };
    const [start, end] = wanted === "none" ? [0, head.size - 1] : wanted;
    // The version just looked at: a preview replaced in between fails this request, never mixes two.
    const obj = await getObject(clients, key, { ifMatch: head.etag, range: [start, end] });
    const body = await buffer(obj.body);
    if (wanted === "none") return { status: 200, headers, body };
    return { status: 206, headers: { ...headers, "content-range": `bytes ${start}-${start + body.length - 1}/${head.size}` }, body };
  };

  const routes = async (method: string, path: string, query: Record<string, string | undefined>, headers: { range?: string } = {}) => {
    if (method !== "GET") return json(405, { error: "use GET" });
    try {
      return await route(path, query, headers.range);
    } catch (err) {
      const status = isNotFound(err) ? 404 : 502;
      return json(status, { error: explainRemote(err, clients.config) ?? errorMessage(err).split("\n")[0] });
    }
  };
  return Object.assign(routes, {
    changed(key: string) {
      if (countsChange(key)) keeper.changed();
    },
    stop: () => keeper.stop(),
  });
}
