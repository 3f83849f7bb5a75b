// Skipping one version of a library file, for the strategy (the decision table says skip) and the
// runner (the encode cannot save enough). On a folder library it keeps its name and the record of that
// version says skipped; with REELPRESS_SKIP_RENAME (the default on buckets) it is renamed `_skip`, as
// compress v3 did, and its record and the probe's still follow it, so reports show it as before.
import type { Clients } from "../io/clients.ts";
import { deleteRecord, patchRecord, readRecord, updateRecord } from "../io/manifest.ts";
import { SourceChangedError, copySmallObject, deleteIfUnchanged, headObject, renameVerified, type ObjectHead } from "../io/objects.ts";
import { skipKeyFor, thumbnailKeyFor } from "../rules/naming.ts";
import type { ManifestRecord, ObjectRef } from "../schemas.ts";
import { isSameVersion } from "./probe.ts";

type Version = Pick<ObjectRef, "key" | "size" | "etag">;

/** What the skipped record says beside its state: why, and what the caller knows of the file. */
export type SkipFacts = Pick<ManifestRecord, "reason"> & Partial<Pick<ManifestRecord, "decision" | "media" | "fingerprints" | "checksum" | "quality">>;

const defined = <T extends object>(o: T): Partial<T> => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;

/** Skips `version` and returns where it now lives: its own key, or its `_skip` name (the next free one when that is taken). */
export async function skipVersion(clients: Clients, version: Version, how: { rename: boolean }, facts: SkipFacts): Promise<string> {
  return how.rename ? renameSkipped(clients, version, facts) : keepSkipped(clients, version, facts);
}

/** The name stays; the record of exactly this version says skipped. A record of another version is that version's, and stays. */
async function keepSkipped(clients: Clients, version: Version, facts: SkipFacts): Promise<string> {
  let other = false;
  await updateRecord(clients, version.key, (cur) => {
    other = cur !== undefined && !isSameVersion(cur, version);
    if (other) return undefined;
    return { ...cur, ...defined(facts), key: version.key, size: version.size, etag: version.etag, state: "skipped", runner: undefined, error: undefined, updatedAt: "" };
  });
  if (other) throw new SourceChangedError(version.key);
  return version.key;
}

async function renameSkipped(clients: Clients, version: Version, facts: SkipFacts): Promise<string> {
  const previous = (await readRecord(clients, version.key))?.record;
  const same = isSameVersion(previous, version) ? previous : undefined;
  // The probe's still, pinned to its version now: once renamed, the old name (and its still) may be another file's.
  const stillKey = thumbnailKeyFor(version.key);
  const still = same?.thumbnailKey === stillKey ? await headObject(clients, stillKey) : undefined;
  const moved = await renameVerified(clients, version.key, skipKeyFor(version.key), version);
  const thumbnailKey = still && (await moveStill(clients, still, moved.key));
  // Same bytes under a new name: what was measured of them (media, fingerprints, picture, hashes) still holds.
  const { key: _k, size: _s, etag: _e, lastModified: _l, state: _st, plan: _p, runner: _r, error: _er, updatedAt: _u, thumbnailKey: _t, ...measured } = same ?? ({} as Partial<ManifestRecord>);
  await patchRecord(clients, moved.key, {
    ...defined(measured),
    ...defined(facts),
    ...(thumbnailKey ? { thumbnailKey } : {}),
    size: moved.size,
    etag: moved.etag,
    lastModified: moved.lastModified?.toISOString(),
    state: "skipped",
  });
  await deleteRecord(clients, version.key);
  return moved.key;
}

/** Copies the still to the name the skip key gives it, then removes the old one while it is still that version. */
async function moveStill(clients: Clients, still: ObjectHead, toKey: string): Promise<string | undefined> {
  const to = thumbnailKeyFor(toKey);
  if (!(await copySmallObject(clients, still, to))) return undefined;
  await deleteIfUnchanged(clients, still.key, still.etag);
  return to;
}
