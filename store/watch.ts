// Files that arrive behind the store's back (copied onto the share, moved in with `mv`) become the same
// ObjectCreated events as uploads, once each, and only when complete: a file is announced after its size and
// mtime have stayed the same for `settleMs`. One fs.watch per folder the listing walks (never per file, never
// the store's own area or skipped folders) notices local changes at once; a periodic listing catches what it
// cannot see (SMB/NFS writes from other machines, and folders past the system's limit on watches).
import { watch, type FSWatcher } from "node:fs";
import path from "node:path";
import { identityOf, type FolderStore, type ObjectEvent } from "./folder.ts";

export type FolderWatchOptions = {
  settleMs: number;
  scanIntervalMs: number;
  /** Which keys matter (others are never announced). */
  accept(key: string): boolean;
  /** Folders (as "dir/") whose files never matter: not even walked. */
  skipFolder?(dirPrefix: string): boolean;
  onCreated(event: ObjectEvent): void;
  onRemoved?(key: string): void;
  onError?(err: unknown): void;
  /** Said once when a folder could not be watched (the system's limit on watches, or `maxWatches`). */
  onWatchLimit?(message: string): void;
  /** At most this many folders watched (default: as many as the system allows). */
  maxWatches?: number;
  /**
   * Files whose LastModified (whole seconds, rounded up, as listings show it) is at or before this time
   * are taken as known at start, unannounced: the caller reconciles them with the same cut.
   */
  knownBefore: number;
};

export type FolderWatch = {
  stop(): Promise<void>;
  /** One listing pass now (tests, and after start). */
  scan(): Promise<void>;
  /** Folders watched now, and whether some could not be (those rely on the periodic listing), in the words said once. */
  watching(): { folders: number; limited: boolean; message?: string };
};

/** Starts watching; files complete before `knownBefore` are taken as known (the caller reconciles those). */
export async function watchFolder(store: FolderStore, opts: FolderWatchOptions): Promise<FolderWatch> {
  const known = new Map<string, string>();
  const pending = new Map<string, { identity: string; since: number }>();
  let stopped = false;
  let scanning: Promise<void> | undefined;
  let again = false;
  let timer: NodeJS.Timeout | undefined;

  const onCreated = (e: ObjectEvent) => {
    known.set(e.key, e.identity);
    pending.delete(e.key);
  };
  const onRemoved = ({ key }: { key: string }) => {
    known.delete(key);
    pending.delete(key);
  };
  store.on("created", onCreated);
  store.on("removed", onRemoved);

  const pass = async (first: boolean) => {
    const seen = new Set<string>();
    const folders = new Set<string>([""]);
    const skip = (dirPrefix: string) => {
      const skipped = opts.skipFolder?.(dirPrefix) ?? false;
      if (!skipped) folders.add(dirPrefix);
      return skipped;
    };
    const now = Date.now();
    for await (const { key, st } of store.keys("", "", skip)) {
      if (!opts.accept(key)) continue;
      seen.add(key);
      const identity = identityOf(st);
      if (known.get(key) === identity) continue;
      const settled = now - st.mtimeMs >= opts.settleMs;
      if (first && Math.ceil(st.mtimeMs / 1000) * 1000 <= opts.knownBefore) {
        known.set(key, identity);
        continue;
      }
      const p = pending.get(key);
      if (p && p.identity === identity && settled && now - p.since >= opts.settleMs) {
        pending.delete(key);
        known.set(key, identity);
        if (!stopped) opts.onCreated({ key, size: st.size, etag: (await store.describe(key, "", st)).etag, eventName: "ObjectCreated:Put", identity });
      } else if (!p || p.identity !== identity) {
        pending.set(key, { identity, since: now });
      }
    }
    for (const key of known.keys()) {
      if (!seen.has(key)) {
        known.delete(key);
        opts.onRemoved?.(key);
      }
    }
    for (const key of pending.keys()) if (!seen.has(key)) pending.delete(key);
    if (!stopped) watchFolders(folders);
  };

  // One watch per folder; a change anywhere in it calls for a pass, debounced: a copy in progress fires many.
  const watchers = new Map<string, FSWatcher>();
  let limited: string | undefined;
  const onChange = () => {
    clearTimeout(timer);
    timer = setTimeout(() => void scan(), Math.min(opts.settleMs, 1000));
  };
  const watchFolders = (folders: Set<string>) => {
    for (const [dir, w] of watchers) {
      if (!folders.has(dir)) {
        w.close();
        watchers.delete(dir);
      }
    }
    for (const dir of folders) {
      if (watchers.has(dir)) continue;
      if (watchers.size >= (opts.maxWatches ?? Infinity)) {
        limit(`the limit of ${opts.maxWatches} watched folders`);
        break;
      }
      try {
        const w = watch(path.join(store.root, ...dir.split("/").filter(Boolean)), (_type, name) => {
          if (dir === "" && String(name ?? "").toLowerCase().startsWith(".reelpress")) return;
          onChange();
        });
        w.on("error", () => w.close());
        watchers.set(dir, w);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        if (code !== "ENOSPC" && code !== "EMFILE") continue; // gone since the listing
        limit(`the system's limit on watches (${code}; raise fs.inotify.max_user_watches)`);
        break;
      }
    }
  };
  const limit = (why: string) => {
    if (limited) return;
    limited = `${watchers.size} folders are watched and the rest are not, by ${why}: files there are found by the listing every ${Math.round(opts.scanIntervalMs / 1000)} s instead`;
    opts.onWatchLimit?.(limited);
  };

  const scan = (first = false): Promise<void> => {
    if (scanning) {
      again = true;
      return scanning;
    }
    scanning = pass(first)
      .catch((err) => opts.onError?.(err))
      .finally(() => {
        scanning = undefined;
        if (again && !stopped) {
          again = false;
          void scan();
        }
        schedule();
      });
    return scanning;
  };

  /** Next pass: when the oldest pending file could have settled, or at the regular interval. */
  const schedule = () => {
    if (stopped) return;
    clearTimeout(timer);
    const soonest = Math.min(...[...pending.values()].map((p) => p.since + opts.settleMs + 50), Date.now() + opts.scanIntervalMs);
    timer = setTimeout(() => void scan(), Math.max(50, soonest - Date.now()));
  };

  await scan(true);

  return {
    scan: () => scan(),
    watching: () => ({ folders: watchers.size, limited: limited !== undefined, ...(limited ? { message: limited } : {}) }),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      for (const w of watchers.values()) w.close();
      watchers.clear();
      store.off("created", onCreated);
      store.off("removed", onRemoved);
      await scanning;
    },
  };
}
