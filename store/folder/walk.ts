// The directory walk behind listings and the folder watcher: object keys in S3's order (UTF-8 bytes). A
// symbolic link is never listed nor followed: one that stays inside the folder is another name for a file
// or folder the walk reaches on its own (listing it would make one file two objects, and deleting the
// "duplicate" would delete the file), and one that leaves the folder is refused anyway. Each skipped link
// is logged once.
import { type Stats, lstatSync } from "node:fs";
import { readdir, realpath } from "node:fs/promises";
import { setImmediate as nextTurn } from "node:timers/promises";
import path from "node:path";
import { unsafeKeyReason } from "../safe-key.ts";
import { type FolderLayout, isStoreKey } from "./layout.ts";
import { type FolderEntry, byteString, firstAbove } from "./listings.ts";

/**
 * How long the walk may hold the event loop with its synchronous stats before it lets other work run. A
 * stat through the thread pool costs ten times the stat itself in round trips, which at 10⁶ keys is minutes.
 */
const SLICE_MS = 10;

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
  yield* walk(layout, startPrefix, prefix, after, skip, new Set(), { since: performance.now() });
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

/** The entries of folder `dir` (at `dirPrefix`) that can be objects or hold them; links are logged and left out. */
async function readFolder(layout: FolderLayout, dir: string, dirPrefix: string): Promise<FolderEntry[]> {
  const entries: FolderEntry[] = [];
  for (const dirent of await readdir(dir, { withFileTypes: true })) {
    const key = dirPrefix + dirent.name;
    if (unsafeKeyReason(key)) continue;
    if (dirent.isSymbolicLink()) {
      if (!layout.noticed.has(key)) {
        layout.noticed.add(key);
        console.warn(`store: skipped the symbolic link ${key}: ${await linkReason(layout, key, path.join(dir, dirent.name))}.`);
      }
      continue;
    }
    if (!dirent.isFile() && !dirent.isDirectory()) continue;
    // A folder's keys all start with "name/": that is where it sorts.
    entries.push({ name: dirent.name, isFolder: dirent.isDirectory(), sortKey: byteString(dirent.isDirectory() ? `${key}/` : key) });
  }
  return entries;
}

/**
 * The keys under `dirPrefix` in order, starting past `after` by binary search in the folder's sorted listing
 * (kept while the folder is unchanged, see folder/listings.ts), so a page costs what it returns: only the
 * files listed are stat'ed.
 */
async function* walk(
  layout: FolderLayout,
  dirPrefix: string,
  prefix: string,
  after: string,
  skip: (dirPrefix: string) => boolean,
  // Folders on the way down (device:inode): a bind mount back up the tree ends here, not in an endless walk.
  above: Set<string>,
  /** When the walk last let other work run. */
  slice: { since: number },
): AsyncGenerator<{ key: string; st: Stats }> {
  if (isStoreKey(dirPrefix)) return;
  const dir = path.join(layout.root, ...dirPrefix.split("/").filter(Boolean));
  const listing = await layout.listings.list(dir, () => readFolder(layout, dir, dirPrefix)).catch(() => undefined);
  if (!listing || above.has(listing.id)) return;
  const { entries } = listing;
  const afterBytes = byteString(after);
  const prefixBytes = byteString(prefix);
  // Past `after`, but at the folder that holds it, if any: its name with "/" is a prefix of `after`.
  let i = firstAbove(entries, afterBytes);
  if (i > 0 && entries[i - 1].isFolder && afterBytes.startsWith(entries[i - 1].sortKey)) i--;
  // The keys that match a prefix reaching into this folder lie together, from the first not below it.
  if (prefix.length > dirPrefix.length) i = Math.max(i, firstAbove(entries, prefixBytes, true));
  const below = new Set(above).add(listing.id);
  for (; i < entries.length; i++) {
    const entry = entries[i];
    if (!entry.sortKey.startsWith(prefixBytes)) break;
    const key = dirPrefix + entry.name;
    if (entry.isFolder) {
      if (skip(`${key}/`)) continue;
      yield* walk(layout, `${key}/`, prefix, after, skip, below, slice);
      continue;
    }
    if (performance.now() - slice.since > SLICE_MS) {
      await nextTurn();
      slice.since = performance.now();
    }
    let st: Stats;
    try {
      // lstat: whatever replaced the file since the folder was read, a link is never followed.
      st = lstatSync(`${dir}${path.sep}${entry.name}`);
    } catch {
      continue;
    }
    if (st.isFile()) yield { key, st };
  }
}
