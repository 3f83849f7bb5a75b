// What each runner says about itself, so `status` and the dashboard can show running jobs, their
// progress and when a paused runner resumes: one small object per runner under .reelpress/runners/.
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import type { Clients } from "./clients.ts";
import { RUNNERS_PREFIX } from "../rules/naming.ts";
import { RunnerStatus } from "../schemas.ts";

/** A runner rewrites its object at least this often; one older than STALE_MS belongs to a dead runner. */
export const RUNNER_REFRESH_MS = 60_000;
export const STALE_MS = 3 * RUNNER_REFRESH_MS;

const keyOf = (id: string) => `${RUNNERS_PREFIX}${encodeURIComponent(id)}.json`;

export async function putRunner({ s3, config }: Clients, status: RunnerStatus): Promise<void> {
  await s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: keyOf(status.id), Body: JSON.stringify(RunnerStatus.parse(status)), ContentType: "application/json" }));
}

export async function deleteRunner({ s3, config }: Clients, id: string): Promise<void> {
  await s3.send(new DeleteObjectCommand({ Bucket: config.bucket, Key: keyOf(id) }));
}

/** The runners alive at `now`, by id; unreadable or stale objects are left out. */
export async function listRunners({ s3, config }: Clients, now = new Date()): Promise<RunnerStatus[]> {
  const page = await s3.send(new ListObjectsV2Command({ Bucket: config.bucket, Prefix: RUNNERS_PREFIX }));
  const fresh = (page.Contents ?? []).filter((o) => o.LastModified && now.getTime() - o.LastModified.getTime() < STALE_MS);
  const runners = await Promise.all(
    fresh.map(async (o) => {
      try {
        const res = await s3.send(new GetObjectCommand({ Bucket: config.bucket, Key: o.Key! }));
        return RunnerStatus.parse(JSON.parse(await res.Body!.transformToString()));
      } catch {
        // Deleted between the listing and the read, or half written by an older version.
        return undefined;
      }
    }),
  );
  return runners.filter((r): r is RunnerStatus => r !== undefined).sort((a, b) => a.id.localeCompare(b.id));
}
