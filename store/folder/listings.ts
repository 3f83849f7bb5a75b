// Sorted listings of the library's folders, kept between listing requests: paging through a folder of 10⁵
// files would otherwise read, stat and sort it whole for every page of 1000. A listing is reused only while
// its folder is the same folder (device and inode) with the same mtime and ctime, to the nanosecond, as when
// it was read, and only if that read came RACY_MS after the folder's last change (its mtime): where the file
// system's clock ticks coarsely (FAT, some shares), a change made just after the read could carry the same
// mtime. The store's own writes drop the listings of the folders they touch at once.
import { stat } from "node:fs/promises";

/**
 * One entry of a folder, in S3's order. `sortKey` is its key's UTF-8 bytes as a latin1 string (a folder's
 * with "/" after it): such strings compare, and match prefixes, byte for byte, and cost a byte per char.
 */
export type FolderEntry = { name: string; isFolder: boolean; sortKey: string };

/** A key as a byte string comparable with FolderEntry.sortKey. */
export const byteString = (key: string) => Buffer.from(key).toString("latin1");

const RACY_MS = 3000;
/** Entries kept over all folders (about 100 bytes each); the folders read longest ago go first. */
const MAX_ENTRIES = 1_000_000;

type Cached = { id: string; mtimeNs: bigint; ctimeNs: bigint; entries: FolderEntry[] };

export class FolderListings {
  private readonly cached = new Map<string, Cached>();
  private entries = 0;

  /**
   * The entries of folder `dir`, sorted, and its identity (device:inode); undefined when it is not a folder
   * (any more). `read` lists it when no listing of it can be reused.
   */
  async list(dir: string, read: () => Promise<FolderEntry[]>): Promise<{ id: string; entries: FolderEntry[] } | undefined> {
    const checkedAt = Date.now();
    const st = await stat(dir, { bigint: true }).catch(() => undefined);
    if (!st?.isDirectory()) return undefined;
    const id = `${st.dev}:${st.ino}`;
    const hit = this.cached.get(dir);
    if (hit && hit.id === id && hit.mtimeNs === st.mtimeNs && hit.ctimeNs === st.ctimeNs) {
      // Most recently used last, so the oldest go first.
      this.cached.delete(dir);
      this.cached.set(dir, hit);
      return { id, entries: hit.entries };
    }
    const entries = (await read()).sort((a, b) => (a.sortKey < b.sortKey ? -1 : a.sortKey > b.sortKey ? 1 : 0));
    this.forget(dir);
    const quiet = checkedAt - Number(st.mtimeNs / 1_000_000n) > RACY_MS;
    if (quiet && entries.length <= MAX_ENTRIES) {
      this.cached.set(dir, { id, mtimeNs: st.mtimeNs, ctimeNs: st.ctimeNs, entries });
      this.entries += entries.length;
      for (const [oldest, c] of this.cached) {
        if (this.entries <= MAX_ENTRIES) break;
        this.cached.delete(oldest);
        this.entries -= c.entries.length;
      }
    }
    return { id, entries };
  }

  forget(dir: string): void {
    const c = this.cached.get(dir);
    if (!c) return;
    this.cached.delete(dir);
    this.entries -= c.entries.length;
  }
}

/** The index of the first entry whose sortKey is greater than `bound` (or, with `orEqual`, not less). */
export function firstAbove(entries: readonly FolderEntry[], bound: string, orEqual = false): number {
  let lo = 0;
  let hi = entries.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const k = entries[mid].sortKey;
    if (k < bound || (!orEqual && k === bound)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
