// The dashboard's requests, answered alike by `reelpress dev`'s HTTP server and by the dashboard
// Lambda behind its function URL: the page, GET /api/status (exactly `reelpress status --json`),
// GET /api/overview, and GET /api/montage for previews only (montage JPEGs and preview WebMs, in ranges).
import { readFile } from "node:fs/promises";
import { buffer } from "node:stream/consumers";
import type { Clients } from "../io/clients.ts";
import { getObject, headObject, isNotFound } from "../io/objects.ts";
import { errorMessage } from "../errors.ts";
import { PREVIEWS_PREFIX } from "../rules/naming.ts";
import { explainRemote } from "../io/remote-errors.ts";
import { type Overview, dashboardOverview } from "./overview.ts";

/** The page's path in the repository; infra copies it to the same path in the function's package. */
export const PAGE_FILE = "shared/dashboard/page.html";
/** Several tabs refreshing at once share one reading of the store. */
const CACHE_MS = 2000;
/** A Lambda response holds at most 6 MB, and base64 adds a third; montages are far smaller, longer previews go in ranges. */
export const MAX_PREVIEW_BYTES = 4 * 1024 ** 2;

export type DashboardResponse = { status: number; headers: Record<string, string>; body: string | Buffer };
/** `headers`: the request's, lower-case; only `range` is read (a browser plays a preview in ranges). */
export type DashboardRoutes = (method: string, path: string, query: Record<string, string | undefined>, headers?: { range?: string }) => Promise<DashboardResponse>;

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
  if (!header) return "none";
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return "unsatisfiable";
  let start: number;
  let end: number;
  if (m[1] === "") {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  if (start >= size || end < start) return "unsatisfiable";
  return [start, Math.min(end, start + limit - 1)];
}

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

  const route = async (path: string, query: Record<string, string | undefined>, range: string | undefined): Promise<DashboardResponse> => {
    switch (path) {
      case "/":
        return { status: 200, headers: { "content-type": "text/html; charset=utf-8" }, body: await readPage() };
      case "/api/status":
        return json(200, (await overview()).status);
      case "/api/overview":
        return json(200, await overview());
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

  return async (method, path, query, headers = {}) => {
    if (method !== "GET") return json(405, { error: "use GET" });
    try {
      return await route(path, query, headers.range);
    } catch (err) {
      const status = isNotFound(err) ? 404 : 502;
      return json(status, { error: explainRemote(err, clients.config) ?? errorMessage(err).split("\n")[0] });
    }
  };
}
