// `scan --reencode`: an output made with other settings is made again from its original. The original is
// copied back from its backup to its own key (the next free name when the output holds that key), proven
// equal, and announced like an upload: probe and strategy plan it with its folder's profile. The old
// output stays, marked, until the user removes it: nothing reelpress made is deleted on a profile change.
import type { Clients } from "../io/clients.ts";
import { updateRecord } from "../io/manifest.ts";
import { copyToFreeName, headObject } from "../io/objects.ts";
import { objectCreatedRecord, sendEventRecords } from "../io/event-records.ts";
import type { ReencodeChoice } from "../rules/reencode.ts";

export type RestoreOutcome = { outputKey: string; restoredKey?: string; problem?: string };

export async function restoreOriginal(clients: Clients, choice: Extract<ReencodeChoice, { action: "restore" }>, profile: string): Promise<RestoreOutcome> {
  const { record } = choice;
  const { source } = record;
  const backup = await headObject(clients, source.backupKey);
  if (!backup) return { outputKey: record.key, problem: `its original's backup ${source.backupKey} is gone (purged?)` };
  // Only the very backup the publish proved (when it recorded it), and never other bytes put at its name.
  if ((source.backupEtag && backup.etag !== source.backupEtag) || backup.size !== source.size) {
    return { outputKey: record.key, problem: `${source.backupKey} is not the backup the output was made from` };
  }
  const restored = await copyToFreeName(clients, source.backupKey, source.key, { expectEtag: backup.etag });
  const reencode = { profile, restoredKey: restored.key, at: new Date().toISOString() };
  await updateRecord(clients, record.key, (cur) => (cur && cur.etag === record.etag ? { ...cur, reencode } : undefined));
  await sendEventRecords(clients, [objectCreatedRecord(clients.config.bucket, restored, "ObjectCreated:Scan")]);
  return { outputKey: record.key, restoredKey: restored.key };
}
