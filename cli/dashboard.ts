// The dashboard of `reelpress dev`: the page and its JSON API (shared/dashboard/routes.ts) on a port
// of its own, never in the S3 port's path space. With the embedded folder store, its own write events
// tell the dashboard when to recompute and which files wait for the pipeline.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Clients } from "../shared/io/clients.ts";
import { SHOWN_QUEUED, dashboardRoutes, type RouteOptions, type WatchState } from "../shared/dashboard/routes.ts";
import { QueueTracker } from "../shared/dashboard/queued.ts";
import type { FolderStore, ObjectEvent } from "../store/index.ts";
import type { Log } from "../shared/log.ts";

export type Dashboard = { url: string; stop(): Promise<void> };

export type DashboardFeeds = {
  /** The embedded folder store, whose writes are the dashboard's only reason to recompute. */
  store?: FolderStore;
  watching?: () => WatchState | undefined;
  compute?: RouteOptions["compute"];
  log?: Log;
};

export async function startDashboard(clients: Clients, opts: { port: number; host: string } & DashboardFeeds): Promise<Dashboard> {
  const { store } = opts;
  const queued = store && new QueueTracker(clients, opts.log ?? (() => undefined));
  const routes = dashboardRoutes(clients, undefined, { fedByWrites: store !== undefined, queued: queued && (() => queued.list(SHOWN_QUEUED)), watching: opts.watching, compute: opts.compute });
  const onCreated = (e: ObjectEvent) => {
    routes.changed(e.key);
    queued?.written(e.key);
  };
  const onRemoved = (e: { key: string }) => {
    routes.changed(e.key);
    queued?.removed(e.key);
  };
  store?.on("created", onCreated);
  store?.on("removed", onRemoved);
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://dashboard");
    const r = await routes(req.method ?? "GET", url.pathname, Object.fromEntries(url.searchParams), { range: req.headers.range });
    res.writeHead(r.status, r.headers).end(r.body);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host, () => resolve());
  });
  // The first tab then finds an overview kept and painted at once.
  void routes("GET", "/api/overview", {});
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://${opts.host.includes(":") ? `[${opts.host}]` : opts.host}:${port}/`,
    stop: () => new Promise<void>((resolve) => {
      store?.off("created", onCreated);
      store?.off("removed", onRemoved);
      queued?.stop();
      routes.stop();
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
