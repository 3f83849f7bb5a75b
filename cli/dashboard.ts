// The dashboard of `reelpress dev`: the page and its JSON API (shared/dashboard/routes.ts) on a port
// of its own, never in the S3 port's path space.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Clients } from "../shared/io/clients.ts";
import { dashboardRoutes } from "../shared/dashboard/routes.ts";

export type Dashboard = { url: string; stop(): Promise<void> };

export async function startDashboard(clients: Clients, opts: { port: number; host: string }): Promise<Dashboard> {
  const routes = dashboardRoutes(clients);
  const server = http.createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://dashboard");
    const r = await routes(req.method ?? "GET", url.pathname, Object.fromEntries(url.searchParams), { range: req.headers.range });
    res.writeHead(r.status, r.headers).end(r.body);
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
