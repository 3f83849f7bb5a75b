// The dashboard's requests, answered alike by `reelpress dev`'s HTTP server and by the dashboard
// Lambda behind its function URL: the page, GET /api/status (exactly `reelpress status --json`),
// GET /api/overview (the kept overview, served at once: keeper.ts), GET /api/watch (`dev`'s folder
// watch), and GET /api/montage for preview images only.
import { readFile } from "node:fs/promises";
import { buffer } from "node:stream/consumers";
import type { Clients } from "../io/clients.ts";
import { getObject, isNotFound } from "../io/objects.ts";
import { errorMessage } from "../errors.ts";
import { MANIFEST_PREFIX, PREVIEWS_PREFIX, REPORTS_PREFIX, SYSTEM_PREFIX } from "../rules/naming.ts";
import { queueDepths } from "../io/library.ts";
import { listRunners } from "../io/runners.ts";
import { explainRemote } from "../io/remote-errors.ts";
import { type Overview, dashboardOverview } from "./overview.ts";
import { OverviewKeeper } from "./keeper.ts";
import type { QueuedList } from "./queued.ts";

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
/** A Lambda response holds at most 6 MB, and base64 adds a third; montages are far smaller. */
export const MAX_PREVIEW_BYTES = 4 * 1024 ** 2;

export type DashboardResponse = { status: number; headers: Record<string, string>; body: string | Buffer };
export type DashboardRoutes = ((method: string, path: string, query: Record<string, string | undefined>) => Promise<DashboardResponse>) & {
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

  const route = async (path: string, query: Record<string, string | undefined>): Promise<DashboardResponse> => {
    switch (path) {
      case "/":
        return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: await readPage() };
      case "/api/status":
        return json(200, (await keeper.fresh()).status);
      case "/api/overview":
        return json(200, await overview());
      case "/api/watch":
        return json(200, opts.watching?.() ?? null);
      case "/api/montage": {
        const key = query.key ?? "";
        // Only previews: the page must not become a way to read the library itself.
        if (!key.startsWith(PREVIEWS_PREFIX) || key.includes("..")) return json(400, { error: `not a preview key: ${key}` });
        const obj = await getObject(clients, key);
        if (obj.size > MAX_PREVIEW_BYTES) {
          obj.body.destroy();
          return json(413, { error: `preview ${key} is larger than the dashboard serves (${MAX_PREVIEW_BYTES} bytes)` });
        }
        const body = await buffer(obj.body);
        return { status: 200, headers: { "content-type": obj.contentType ?? "image/jpeg", "cache-control": "max-age=3600" }, body };
      }
      default:
        return json(404, { error: `no such page: ${path}` });
    }
  };

  const routes = async (method: string, path: string, query: Record<string, string | undefined>) => {
    if (method !== "GET") return json(405, { error: "use GET" });
    try {
      return await route(path, query);
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
