// The dashboard of `reelpress dev`: a static page and its JSON API on a port of its own (never in the
// S3 port's path space). GET /api/status is exactly `reelpress status --json`.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { readFile } from "node:fs/promises";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import type { Clients } from "../shared/clients.ts";
import { type Overview, dashboardOverview } from "../shared/dashboard/overview.ts";
import { errorMessage } from "../shared/errors.ts";
import { PREVIEWS_PREFIX } from "../shared/naming.ts";
import { explainRemote } from "./remote.ts";

const PAGE = new URL("../shared/dashboard/page.html", import.meta.url);
/** Several tabs refreshing at once share one reading of the store. */
const CACHE_MS = 2000;

export type Dashboard = { url: string; stop(): Promise<void> };

export async function startDashboard(clients: Clients, opts: { port: number; host: string }): Promise<Dashboard> {
  const page = await readFile(PAGE);
  let cached: { at: number; overview: Promise<Overview> } | undefined;
  const overview = () => {
    if (!cached || Date.now() - cached.at > CACHE_MS) {
      const fresh = { at: Date.now(), overview: dashboardOverview(clients) };
      fresh.overview.catch(() => cached === fresh && (cached = undefined));
      cached = fresh;
    }
    return cached.overview;
  };
  const json = (res: http.ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { "content-type": "application/json", "cache-control": "no-store" }).end(JSON.stringify(body));
  };

  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://dashboard");
    try {
      if (req.method !== "GET") return json(res, 405, { error: "use GET" });
      switch (url.pathname) {
        case "/":
          return res.writeHead(200, { "content-type": "text/html; charset=utf-8" }).end(page);
        case "/api/status":
          return json(res, 200, (await overview()).status);
        case "/api/overview":
          return json(res, 200, await overview());
        case "/api/montage": {
          const key = url.searchParams.get("key") ?? "";
          // Only previews: the page must not become a way to read the library itself.
          if (!key.startsWith(PREVIEWS_PREFIX) || key.includes("..")) return json(res, 400, { error: `not a preview key: ${key}` });
          const obj = await clients.s3.send(new GetObjectCommand({ Bucket: clients.config.bucket, Key: key }));
          res.writeHead(200, { "content-type": obj.ContentType ?? "image/jpeg", "cache-control": "max-age=3600" });
          for await (const chunk of obj.Body as AsyncIterable<Uint8Array>) res.write(chunk);
          return res.end();
        }
        default:
          return json(res, 404, { error: `no such page: ${url.pathname}` });
      }
    } catch (err) {
      const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404 ? 404 : 502;
      if (!res.headersSent) json(res, status, { error: explainRemote(err, clients.config) ?? errorMessage(err).split("\n")[0] });
      else res.destroy();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${port}/`,
    stop: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
