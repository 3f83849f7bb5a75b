// What `reelpress dev` starts besides the store: the dashboard and the dev file (./local-dev.ts),
// after checking for ffmpeg. Apart from local-dev.ts so that other commands, which only read the
// dev file, do not load the dashboard and execa at every start.
import { execa } from "execa";
import type { Clients } from "../shared/io/clients.ts";
import { s3EndpointOf, sqsEndpointOf } from "../shared/config.ts";
import { UsageError, UserError } from "../shared/errors.ts";
import { startDashboard, type DashboardFeeds } from "./dashboard.ts";
import { removeDevFile, writeDevFile } from "./local-dev.ts";

/** `npm start` on a machine without ffmpeg: one line saying what to install, before anything starts. */
export async function requireMediaTools(): Promise<void> {
  const tools = ["ffmpeg", "ffprobe"] as const;
  const found = await Promise.all(tools.map(async (t) => (await execa(t, ["-version"], { reject: false, timeout: 10_000 })).exitCode === 0));
  const missing = tools.filter((_, i) => !found[i]);
  if (missing.length) {
    throw new UserError(`${missing.join(" and ")} not found on the PATH: install ffmpeg (Debian/Ubuntu: apt-get install -y ffmpeg; macOS: brew install ffmpeg), then start again.`);
  }
}

/** --dashboard-port, else the S3 port + 1 (a free one when that is taken, or with --port 0). */
function dashboardPort(flag: string | undefined, s3Port: number): { port: number; fixed: boolean } {
  if (flag === undefined) return { port: s3Port === 0 ? 0 : s3Port + 1, fixed: false };
  const port = Number(flag);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--dashboard-port must be 0-65535, not '${flag}'.`);
  return { port, fixed: true };
}

/**
 * What `reelpress dev` adds for the operator: the dashboard, and the file that lets other commands on
 * this machine find it. `stop` removes both.
 */
export async function startDevServices(
  clients: Clients,
  opts: { s3Port: number; host: string; dashboardPort?: string; feeds?: DashboardFeeds },
): Promise<{ dashboardUrl: string; stop(): Promise<void> }> {
  const wanted = dashboardPort(opts.dashboardPort, opts.s3Port);
  let dashboard;
  try {
    dashboard = await startDashboard(clients, { port: wanted.port, host: opts.host, ...opts.feeds });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "EADDRINUSE") throw err;
    if (wanted.fixed) throw new UserError(`Port ${wanted.port} is in use; pick another with --dashboard-port.`);
    dashboard = await startDashboard(clients, { port: 0, host: opts.host, ...opts.feeds });
  }
  const { config } = clients;
  const s3 = s3EndpointOf(config);
  const sqs = sqsEndpointOf(config);
  // Against AWS itself there is nothing local to find.
  if (s3 && sqs) {
    await writeDevFile({ pid: process.pid, s3, sqs, bucket: config.bucket, region: config.region, dashboard: dashboard.url, startedAt: new Date().toISOString() });
  }
  return {
    dashboardUrl: dashboard.url,
    async stop() {
      await removeDevFile();
      await dashboard.stop();
    },
  };
}
