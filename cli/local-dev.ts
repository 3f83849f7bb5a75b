// Zero-config local use: `reelpress dev` leaves a small file saying where its store and dashboard are,
// and every other command with no endpoint set finds it there, from any directory of this machine.
import { readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { z } from "zod";
import type { Clients } from "../shared/io/clients.ts";
import { s3EndpointOf, sqsEndpointOf } from "../shared/config.ts";
import { UsageError, UserError } from "../shared/errors.ts";
import { startDashboard, type DashboardFeeds } from "./dashboard.ts";
import { isProcessAlive } from "../shared/process.ts";

const DevFile = z.object({
  pid: z.number().int(),
  s3: z.string(),
  sqs: z.string(),
  bucket: z.string(),
  region: z.string(),
  dashboard: z.string().optional(),
  startedAt: z.string(),
});
export type DevFile = z.infer<typeof DevFile>;

/** One per user: REELPRESS_DEV_FILE, else ~/.reelpress/dev.json. */
export function devFilePath(env: NodeJS.ProcessEnv = process.env): string {
  return env.REELPRESS_DEV_FILE || path.join(os.homedir(), ".reelpress", "dev.json");
}

export async function writeDevFile(info: DevFile, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const file = devFilePath(env);
  await mkdir(path.dirname(file), { recursive: true });
  // Written whole and renamed, so a reader never sees half a file.
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(info));
  await rename(tmp, file);
}

/** Removes the file only while it is still this process's (a newer `dev` may have taken it over). */
export async function removeDevFile(pid = process.pid, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  const current = readDevFile(env);
  if (current?.pid === pid) await rm(devFilePath(env), { force: true });
}

/** Read once when a command starts (a few hundred bytes), so synchronously. */
function readDevFile(env: NodeJS.ProcessEnv): DevFile | undefined {
  try {
    const parsed = DevFile.safeParse(JSON.parse(readFileSync(devFilePath(env), "utf8")));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The `reelpress dev` running on this machine, if any; a file left by a killed one is ignored. */
export function findLocalDev(env: NodeJS.ProcessEnv = process.env): DevFile | undefined {
  const dev = readDevFile(env);
  return dev && isProcessAlive(dev.pid) ? dev : undefined;
}

/** True when neither a flag nor the AWS SDK's variables name an endpoint. */
export function noEndpointSet(flagEndpoint: string | undefined, env: NodeJS.ProcessEnv): boolean {
  return !flagEndpoint && !env.AWS_ENDPOINT_URL && !env.AWS_ENDPOINT_URL_S3 && !env.AWS_ENDPOINT_URL_SQS;
}

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
