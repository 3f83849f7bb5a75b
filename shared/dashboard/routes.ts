// The dashboard's requests, answered alike by `reelpress dev`'s HTTP server and by the dashboard
// Lambda behind its function URL: the page, GET /api/status (exactly `reelpress status --json`),
// GET /api/overview, GET /api/scan (the first scan's progress, or null), and GET /api/montage for
// preview images only.
import { readFile } from "node:fs/promises";
import { buffer } from "node:stream/consumers";
import type { Clients } from "../io/clients.ts";
import { getObject, isNotFound } from "../io/objects.ts";
import { errorMessage } from "../errors.ts";
import { PREVIEWS_PREFIX } from "../rules/naming.ts";
import { explainRemote } from "../io/remote-errors.ts";
import { type Overview, dashboardOverview } from "./overview.ts";
import { readScanReport, withScan } from "../io/scan-progress.ts";

/** The page's path in the repository; infra copies it to the same path in the function's package. */
export const PAGE_FILE = "shared/dashboard/page.html";
/** Several tabs refreshing at once share one reading of the store. */
const CACHE_MS = 2000;
/** A Lambda response holds at most 6 MB, and base64 adds a third; montages are far smaller. */
export const MAX_PREVIEW_BYTES = 4 * 1024 ** 2;

export type DashboardResponse = { status: number; headers: Record<string, string>; body: string | Buffer };
export type DashboardRoutes = (method: string, path: string, query: Record<string, string | undefined>) => Promise<DashboardResponse>;

const json = (status: number, body: unknown): DashboardResponse => ({
  status,
  headers: { "content-type": "application/json", "cache-control": "no-store" },
  body: JSON.stringify(body),
});

/** `page` is where to read the page from: beside this module unless given. */
export function dashboardRoutes(clients: Clients, page: string | URL = new URL("./page.html", import.meta.url)): DashboardRoutes {
  let html: Promise<string> | undefined;
  const readPage = () => (html ??= readFile(page, "utf8").catch((err) => {
    html = undefined;
    throw err;
  }));
  let cached: { at: number; overview: Promise<Overview> } | undefined;
  const overview = () => {
    if (!cached || Date.now() - cached.at > CACHE_MS) {
      const fresh = { at: Date.now(), overview: dashboardOverview(clients) };
      fresh.overview.catch(() => cached === fresh && (cached = undefined));
      cached = fresh;
    }
    return cached.overview;
  };

  const route = async (path: string, query: Record<string, string | undefined>): Promise<DashboardResponse> => {
    switch (path) {
      case "/":
        return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: await readPage() };
      case "/api/status":
        return json(200, withScan((await overview()).status, await readScanReport(clients)));
      case "/api/scan":
        return json(200, (await readScanReport(clients)) ?? null);
      case "/api/overview":
        return json(200, await overview());
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

  return async (method, path, query) => {
    if (method !== "GET") return json(405, { error: "use GET" });
    try {
      return await route(path, query);
    } catch (err) {
      const status = isNotFound(err) ? 404 : 502;
      return json(status, { error: explainRemote(err, clients.config) ?? errorMessage(err).split("\n")[0] });
    }
  };
}
