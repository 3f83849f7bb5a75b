// `scan --reencode PROFILE`: which finished outputs are encoded again. A folder's new profile never
// touches finished work by itself; asked, only outputs whose folder now names PROFILE and that were made
// with other settings are picked, and each is made again from its original (its backup), never from itself.
import type { ManifestRecord } from "../schemas.ts";
import { COMPAT, type ProfileTable, profileFor, sameProfile } from "./profiles.ts";

export type ReencodeChoice =
  | { action: "restore"; record: ManifestRecord & { source: NonNullable<ManifestRecord["source"]> } }
  /** Already restored by an earlier `--reencode`, or its folder names another profile. */
  | { action: "leave"; record: ManifestRecord; reason: string };

/** Pure: for each finished output, restore its original to be encoded with `target`, or leave it, and why. */
export function chooseForReencode(records: Iterable<ManifestRecord>, table: ProfileTable, target: string): ReencodeChoice[] {
  const out: ReencodeChoice[] = [];
  for (const record of records) {
    const { source } = record;
    if (record.state !== "compressed" || !source) continue;
    const wanted = profileFor(table, source.key);
    if (wanted.name !== target) continue;
    if (sameProfile(record.encode?.profile ?? COMPAT, wanted)) out.push({ action: "leave", record, reason: `already made with ${target}` });
    else if (record.reencode) out.push({ action: "leave", record, reason: `original already restored at ${record.reencode.restoredKey}` });
    else out.push({ action: "restore", record: { ...record, source } });
  }
  return out.sort((a, b) => a.record.key.localeCompare(b.record.key));
}
