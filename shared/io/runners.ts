// What each runner says about itself, so `status` and the dashboard can show running jobs, their
// progress and when a paused runner resumes: one small object per runner under .reelpress/runners/.
import type { Clients } from "./clients.ts";
import { deleteObject, listPages, putJson, readJson } from "./objects.ts";
import { RUNNERS_PREFIX } from "../rules/naming.ts";
import type { ListedObject } from "../rules/status.ts";
import { RunnerStatus } from "../schemas.ts";

/** A runner rewrites its object at least this often; one older than STALE_MS belongs to a dead runner. */
export const RUNNER_REFRESH_MS = 60_000;
export const STALE_MS = 3 * RUNNER_REFRESH_MS;

const keyOf = (id: string) => `${RUNNERS_PREFIX}${encodeURIComponent(id)}.json`;

export async function putRunner(clients: Clients, status: RunnerStatus): Promise<void> {
  await putJson(clients, keyOf(status.id), RunnerStatus.parse(status));
}

export async function deleteRunner(clients: Clients, id: string): Promise<void> {
  await deleteObject(clients, keyOf(id));
}

/** The runners alive at `now`, by id; unreadable or stale objects are left out. */
export async function listRunners(clients: Clients, now = new Date()): Promise<RunnerStatus[]> {
  const listed: ListedObject[] = [];
  for await (const page of listPages(clients, RUNNERS_PREFIX)) listed.push(...page.objects);
  const fresh = listed.filter((o) => o.lastModified && now.getTime() - o.lastModified.getTime() < STALE_MS);
  const runners = await Promise.all(
    fresh.map(async (o) => {
      try {
        return await readJson(clients, o.key, RunnerStatus);
      } catch {
        // Deleted between the listing and the read, or half written by an older version.
        return undefined;
      }
    }),
  );
  return runners.filter((r): r is RunnerStatus => r !== undefined).sort((a, b) => a.id.localeCompare(b.id));
}
