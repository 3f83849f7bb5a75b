// What S3 keeps beside an object (ETag, stored headers, user metadata, checksums) lives in a sidecar under
// .reelpress/store/meta/, trusted only while it still describes the file (same inode, size and mtime), so
// files changed or added behind the store's back are served as they are.
import { createHash } from "node:crypto";
import { type Stats, readFileSync } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ChecksumAlgorithm } from "../checksums.ts";
import { type FolderLayout, isMissing } from "./layout.ts";

export type Checksums = Partial<Record<ChecksumAlgorithm, string>>;
/** Headers S3 stores with an object and gives back on GET. */
export const STORED_HEADERS = ["content-type", "content-disposition", "content-encoding", "content-language", "cache-control", "expires"] as const;

export type Sidecar = {
  etag: string;
  size: number;
  mtimeMs: number;
  ino: number;
  headers: Record<string, string>;
  metadata: Record<string, string>;
  checksums: Checksums;
  partsCount?: number;
  /** Each part's size, in order, for GET ?partNumber=N (objects completed from parts). */
  partSizes?: number[];
};

export type ObjectInfo = Omit<Sidecar, "mtimeMs" | "ino"> & { key: string; lastModified: Date; file: string };

/** What a write brings besides the bytes; size and identity (inode, mtime) come from the file itself. */
export type NewObject = { etag: string; headers: Record<string, string>; metadata: Record<string, string>; checksums: Checksums; partsCount?: number; partSizes?: number[] };

export const identityOf = (st: Stats) => `${st.ino}:${st.size}:${st.mtimeMs}`;

const sameFile = (side: Sidecar, st: Stats) => side.ino === st.ino && side.size === st.size && side.mtimeMs === st.mtimeMs;

/** An ETag for a file nobody uploaded: stable while the file is unchanged; "-1" so clients do not take it for an MD5. */
function fileEtag(st: Stats): string {
  return `"${createHash("md5").update(`${st.ino}:${st.size}:${st.mtimeMs}`).digest("hex")}-1"`;
}

/**
 * A sidecar file holds the description of the file at its key now and, while a write replaces that file,
 * of the one coming: the write puts both in the sidecar before it renames its file into place, so a
 * crash between the two leaves the old file still described (its ETag and metadata kept), and
 * describe() picks whichever entry matches the file found.
 */
type SidecarFile = { versions: Sidecar[] };

function parseSidecars(text: string): Sidecar[] {
  const parsed = JSON.parse(text) as SidecarFile | Sidecar;
  return "versions" in parsed ? parsed.versions : [parsed];
}

async function readSidecars(layout: FolderLayout, key: string): Promise<Sidecar[]> {
  try {
    return parseSidecars(await readFile(layout.sidecarOf(key), "utf8"));
  } catch {
    return [];
  }
}

/**
 * Writes `side` as the description of the file at `key`; `replacing` is the file there now, whose own
 * description is kept beside it until the next write (see SidecarFile).
 */
export async function writeSidecar(layout: FolderLayout, key: string, side: Sidecar, replacing?: Stats): Promise<void> {
  const target = layout.sidecarOf(key);
  await mkdir(path.dirname(target), { recursive: true });
  const kept = replacing ? (await readSidecars(layout, key)).filter((s) => sameFile(s, replacing) && !(s.ino === side.ino && s.size === side.size && s.mtimeMs === side.mtimeMs)) : [];
  const tmp = layout.newTempPath();
  try {
    await writeFile(tmp, JSON.stringify({ versions: [side, ...kept.slice(0, 1)] } satisfies SidecarFile));
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  } finally {
    layout.etags.forget(key);
  }
}

export async function removeSidecar(layout: FolderLayout, key: string): Promise<void> {
  try {
    await rm(layout.sidecarOf(key), { force: true });
  } finally {
    layout.etags.forget(key);
  }
}

/** Whole seconds as S3 keeps them, rounded up: a sync client must never see an upload as older than its source. */
export const lastModifiedOf = (st: Stats) => new Date(Math.ceil(st.mtimeMs / 1000) * 1000);

/**
 * The ETag describe() gives the file `st` at `key`, for a listing: kept in layout.etags while the file is
 * unchanged, else read from its sidecar synchronously (the walk's reason, folder/walk.ts). A sidecar that
 * could not be read for another reason than its absence or its content is not kept: the next listing tries again.
 */
export function listedEtag(layout: FolderLayout, key: string, st: Stats): string {
  const kept = layout.etags.get(key, st);
  if (kept !== undefined) return kept;
  let sidecars: Sidecar[] = [];
  let sure = true;
  try {
    sidecars = parseSidecars(readFileSync(layout.sidecarOf(key), "utf8"));
  } catch (err) {
    sure = err instanceof SyntaxError || isMissing(err);
  }
  const etag = sidecars.find((s) => sameFile(s, st))?.etag ?? fileEtag(st);
  if (sure) layout.etags.set(key, st, etag);
  return etag;
}

/** What S3 would say about the file `st` at `key`. */
export async function describe(layout: FolderLayout, key: string, file: string, st: Stats): Promise<ObjectInfo> {
  const side = (await readSidecars(layout, key)).find((s) => sameFile(s, st));
  const base = side ?? { etag: fileEtag(st), size: st.size, headers: {}, metadata: {}, checksums: {} };
  const { mtimeMs: _m, ino: _i, ...kept } = base as Sidecar;
  return { ...kept, size: st.size, key, file, lastModified: lastModifiedOf(st) };
}
