// Acting on a report's losers: moved under the backup prefix (proven copy at a free name, then delete)
// or deleted, only once proven byte-identical to the winner. Winners are never touched; a loser whose
// ETag changed since the report, or whose winner is gone or changed, is skipped; running it again
// finds the work done and does nothing more.
import type { Clients } from "../shared/io/clients.ts";
import { deleteRecord } from "../shared/io/manifest.ts";
import { backupKeyFor } from "../shared/rules/naming.ts";
import type { DedupReport } from "../shared/schemas.ts";
import { deleteObject, findCopy, headObject, renameVerified, sameBytes } from "../shared/io/objects.ts";
import { mapLimit } from "../shared/pool.ts";

export type ApplyMode = "move" | "delete";

export type PlannedAction = {
  groupId: string;
  key: string;
  size: number;
  etag?: string;
  winner: { key: string; etag?: string };
  /** Where a moved loser goes; the outcome names the free name it got when this one held another file. */
  to?: string;
};

export type ApplyOutcome = PlannedAction & { status: "moved" | "deleted" | "done-before" | "skipped"; why?: string };

/** Every loser once, with where it goes; a key that some group keeps is never acted on. */
export function planApply(report: DedupReport, mode: ApplyMode, backupPrefix: string): { actions: PlannedAction[]; refused: Array<{ key: string; why: string }> } {
  const winners = new Set(report.groups.map((g) => g.winner.key));
  const seen = new Set<string>();
  const actions: PlannedAction[] = [];
  const refused: Array<{ key: string; why: string }> = [];
  for (const g of report.groups) {
    for (const l of g.losers) {
      if (winners.has(l.key)) {
        refused.push({ key: l.key, why: "another group keeps it" });
        continue;
      }
      if (l.key === g.winner.key || seen.has(l.key)) continue;
      seen.add(l.key);
      actions.push({ groupId: g.group_id, key: l.key, size: l.size, etag: l.etag, winner: { key: g.winner.key, etag: g.winner.etag }, to: mode === "move" ? backupKeyFor(l.key, backupPrefix) : undefined });
    }
  }
  return { actions, refused };
}

/** Performs one action after checking that the winner is still there as reported and the loser unchanged. */
export async function applyAction(clients: Clients, a: PlannedAction): Promise<ApplyOutcome> {
  const winner = await headObject(clients, a.winner.key);
  if (!winner) return { ...a, status: "skipped", why: `the file kept in its place, ${a.winner.key}, is gone` };
  if (a.winner.etag && winner.etag !== a.winner.etag) return { ...a, status: "skipped", why: `the file kept in its place, ${a.winner.key}, changed since the report` };
  const head = await headObject(clients, a.key);
  if (!head) {
    const backup = a.to ? await findCopy(clients, a.to, (h) => h.size === a.size) : undefined;
    const done = a.to ? backup !== undefined : true;
    if (done) await deleteRecord(clients, a.key);
    return done ? { ...a, to: backup?.key, status: "done-before" } : { ...a, status: "skipped", why: "it is gone, and no backup of it was found" };
  }
  if (a.etag && head.etag !== a.etag) return { ...a, status: "skipped", why: "it changed since the report (ETag differs)" };
  let to: string | undefined;
  if (a.to) to = (await renameVerified(clients, a.key, a.to, { etag: head.etag, size: head.size })).key;
  else if (await sameBytes(clients, head, winner)) await deleteObject(clients, a.key, head.etag);
  else return { ...a, status: "skipped", why: `it is not proven byte-identical to ${a.winner.key} (SHA-256 differs), so it is only ever moved, never deleted` };
  // Its record would otherwise put it in the next report again.
  await deleteRecord(clients, a.key);
  return { ...a, to, status: to ? "moved" : "deleted" };
}

export async function applyAll(clients: Clients, actions: PlannedAction[], onOutcome: (o: ApplyOutcome) => void, concurrency = 4): Promise<ApplyOutcome[]> {
  return mapLimit(actions, concurrency, async (action) => {
    const o = await applyAction(clients, action);
    onOutcome(o);
    return o;
  });
}
