// The ETags listings gave, by key, each with the identity of the file it describes: a listing of 10⁶
// objects would otherwise read 10⁶ sidecars every time. An entry says only what describe() would say: it
// holds while its file is the same (inode, size and mtime, the test a sidecar itself must pass), and every
// sidecar write or removal (all in folder/sidecars.ts) drops it.
import type { Stats } from "node:fs";

/** Entries kept (about 200 bytes each); the oldest go first. */
const MAX_ENTRIES = 1_000_000;

type Kept = { ino: number; size: number; mtimeMs: number; etag: string };

export class ListedEtags {
  private readonly kept = new Map<string, Kept>();

  get(key: string, st: Stats): string | undefined {
    const k = this.kept.get(key);
    return k && k.ino === st.ino && k.size === st.size && k.mtimeMs === st.mtimeMs ? k.etag : undefined;
  }

  set(key: string, st: Stats, etag: string): void {
    this.kept.delete(key);
    this.kept.set(key, { ino: st.ino, size: st.size, mtimeMs: st.mtimeMs, etag });
    if (this.kept.size > MAX_ENTRIES) this.kept.delete(this.kept.keys().next().value!);
  }

  forget(key: string): void {
    this.kept.delete(key);
  }
}
