// Zero-config local use: `reelpress dev` leaves a small file saying where its store and dashboard are,
// and every other command with no endpoint set finds it there, from any directory of this machine.
import { readFileSync } from "node:fs";
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { z } from "zod";
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
