// The directory walk behind listings and the folder watcher: object keys in S3's order (UTF-8 bytes), with
// links followed only where they stay inside the folder and the store's own area never entered.
import type { Dirent, Stats } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";
import { unsafeKeyReason } from "../safe-key.ts";
import { type FolderLayout, isStoreKey } from "./layout.ts";

/**
 * Every object key under `prefix` greater than `after`, in S3's order (UTF-8 bytes). `skip(dirPrefix)`
 * lets a delimiter listing pass over a whole folder once it has its common prefix.
 */
export async function* keys(layout: FolderLayout, prefix: string, after = "", skip: (dirPrefix: string) => boolean = () => false): AsyncGenerator<{ key: string; st: Stats }> {
  const slash = prefix.lastIndexOf("/");
  const startPrefix = slash >= 0 ? prefix.slice(0, slash + 1) : "";
  if (startPrefix && unsafeKeyReason(startPrefix.slice(0, -1))) return;
  yield* walk(layout, startPrefix, prefix, after, skip);
}

async function* walk(layout: FolderLayout, dirPrefix: string, prefix: string, after: string, skip: (dirPrefix: string) => boolean): AsyncGenerator<{ key: string; st: Stats }> {
  if (isStoreKey(dirPrefix)) return;
  let dirents: Dirent[];
  try {
    dirents = await readdir(path.join(layout.root, ...dirPrefix.split("/").filter(Boolean)), { withFileTypes: true });
  } catch {
    return;
  }
  const entries: Array<{ key: string; st: Stats; sortKey: Buffer }> = [];
  for (const dirent of dirents) {
    const key = dirPrefix + dirent.name;
    if (unsafeKeyReason(key)) continue;
    const file = path.join(layout.root, ...key.split("/"));
    let st: Stats;
    try {
      st = await stat(file);
      // Only a link can lead outside: plain entries below a checked folder stay inside it.
      if (dirent.isSymbolicLink()) await layout.assertInside(file);
    } catch {
      continue;
    }
    if (!st.isFile() && !st.isDirectory()) continue;
    // A folder's keys all start with "name/": that is where it sorts.
    entries.push({ key, st, sortKey: Buffer.from(st.isDirectory() ? `${key}/` : key) });
  }
  entries.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
  for (const { key, st } of entries) {
    if (st.isDirectory()) {
      const sub = `${key}/`;
      // Nothing in it matches the prefix, or everything in it sorts before `after`.
      if (!(sub.startsWith(prefix) || prefix.startsWith(sub))) continue;
      if (after && !after.startsWith(sub) && Buffer.compare(Buffer.from(sub), Buffer.from(after)) < 0) continue;
      if (skip(sub)) continue;
      yield* walk(layout, sub, prefix, after, skip);
    } else if (key.startsWith(prefix) && Buffer.compare(Buffer.from(key), Buffer.from(after)) > 0) {
      yield { key, st };
    }
  }
}
