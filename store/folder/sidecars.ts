// What S3 keeps beside an object (ETag, stored headers, user metadata, checksums) lives in a sidecar under
// .reelpress/store/meta/, trusted only while it still describes the file (same inode, size and mtime), so
// files changed or added behind the store's back are served as they are.
import { createHash } from "node:crypto";
import type { Stats } from "node:fs";
import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import type { ChecksumAlgorithm } from "../checksums.ts";
import type { FolderLayout } from "./layout.ts";

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

async function readSidecar(layout: FolderLayout, key: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await readFile(layout.sidecarOf(key), "utf8")) as Sidecar;
  } catch {
    return undefined;
  }
}

export async function writeSidecar(layout: FolderLayout, key: string, side: Sidecar): Promise<void> {
  const target = layout.sidecarOf(key);
  await mkdir(path.dirname(target), { recursive: true });
  const tmp = layout.newTempPath();
  try {
    await writeFile(tmp, JSON.stringify(side));
    await rename(tmp, target);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

export async function removeSidecar(layout: FolderLayout, key: string): Promise<void> {
  await rm(layout.sidecarOf(key), { force: true });
}

/** What S3 would say about the file `st` at `key`. */
export async function describe(layout: FolderLayout, key: string, file: string, st: Stats): Promise<ObjectInfo> {
  const side = await readSidecar(layout, key);
  const base = side && sameFile(side, st) ? side : { etag: fileEtag(st), size: st.size, headers: {}, metadata: {}, checksums: {} };
  const { mtimeMs: _m, ino: _i, ...kept } = base as Sidecar;
  // Whole seconds as S3 keeps them, rounded up: a sync client must never see an upload as older than its source.
  return { ...kept, size: st.size, key, file, lastModified: new Date(Math.ceil(st.mtimeMs / 1000) * 1000) };
}
