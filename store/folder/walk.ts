// The directory walk behind listings and the folder watcher: object keys in S3's order (UTF-8 bytes). A
// symbolic link is never listed nor followed: one that stays inside the folder is another name for a file
// or folder the walk reaches on its own (listing it would make one file two objects, and deleting the
// "duplicate" would delete the file), and one that leaves the folder is refused anyway. Each skipped link
// is logged once.
import type { Dirent, Stats } from "node:fs";
import { readdir, realpath, stat } from "node:fs/promises";
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
  // A prefix that goes through a linked folder would list its files under a second name.
  const start = path.join(layout.root, ...startPrefix.split("/").filter(Boolean));
  if (startPrefix && (await realpath(start).catch(() => undefined)) !== start) return;
  yield* walk(layout, startPrefix, prefix, after, skip, new Set());
}

/** Why the link at `key` is skipped, in words for the log. */
async function linkReason(layout: FolderLayout, key: string, file: string): Promise<string> {
  const real = await realpath(file).catch(() => undefined);
  if (!real) return "it leads nowhere, or round in a loop";
  const inside = real === layout.root || real.startsWith(layout.root + path.sep);
  if (!inside) return "it leads outside the library folder";
  const target = path.relative(layout.root, real).split(path.sep).join("/");
  if (`${key}/`.startsWith(`${target}/`) || target === "") return "it loops back to a folder above it";
  if (isStoreKey(target) || isStoreKey(`${target}/`)) return "it leads into the store's own area";
  return `it is another name for ${target}, listed under that name`;
}

async function* walk(
  layout: FolderLayout,
  dirPrefix: string,
  prefix: string,
  after: string,
  skip: (dirPrefix: string) => boolean,
  // Folders on the way down (device:inode): a bind mount back up the tree ends here, not in an endless walk.
  above: Set<string>,
): AsyncGenerator<{ key: string; st: Stats }> {
  if (isStoreKey(dirPrefix)) return;
  const dir = path.join(layout.root, ...dirPrefix.split("/").filter(Boolean));
  let dirents: Dirent[];
  let id: string;
  try {
    const st = await stat(dir);
    id = `${st.dev}:${st.ino}`;
    if (above.has(id)) return;
    dirents = await readdir(dir, { withFileTypes: true });
  } catch {
    return;
  }
  const entries: Array<{ key: string; st: Stats; sortKey: Buffer }> = [];
  for (const dirent of dirents) {
    const key = dirPrefix + dirent.name;
    if (unsafeKeyReason(key)) continue;
    const file = path.join(dir, dirent.name);
    if (dirent.isSymbolicLink()) {
      if (!layout.noticed.has(key)) {
        layout.noticed.add(key);
        console.warn(`store: skipped the symbolic link ${key}: ${await linkReason(layout, key, file)}.`);
      }
      continue;
    }
    let st: Stats;
    try {
      st = await stat(file);
    } catch {
      continue;
    }
    if (!st.isFile() && !st.isDirectory()) continue;
    // A folder's keys all start with "name/": that is where it sorts.
    entries.push({ key, st, sortKey: Buffer.from(st.isDirectory() ? `${key}/` : key) });
  }
  entries.sort((a, b) => Buffer.compare(a.sortKey, b.sortKey));
  const below = new Set(above).add(id);
  for (const { key, st } of entries) {
    if (st.isDirectory()) {
      const sub = `${key}/`;
      // Nothing in it matches the prefix, or everything in it sorts before `after`.
      if (!(sub.startsWith(prefix) || prefix.startsWith(sub))) continue;
      if (after && !after.startsWith(sub) && Buffer.compare(Buffer.from(sub), Buffer.from(after)) < 0) continue;
      if (skip(sub)) continue;
      yield* walk(layout, sub, prefix, after, skip, below);
    } else if (key.startsWith(prefix) && Buffer.compare(Buffer.from(key), Buffer.from(after)) > 0) {
      yield { key, st };
    }
  }
}
