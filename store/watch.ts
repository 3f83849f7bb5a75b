// Files that arrive behind the store's back (copied onto the share, moved in with `mv`) become the same
// ObjectCreated events as uploads, once each, and only when complete: a file is announced after its size and
// mtime have stayed the same for `settleMs`. A recursive fs.watch notices local changes at once; a periodic
// listing catches what it cannot see (SMB/NFS writes from other machines, watcher limits).
import { watch, type FSWatcher } from "node:fs";
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
  /**
   * Files whose LastModified (whole seconds, rounded up, as listings show it) is at or before this time
   * are taken as known at start, unannounced: the caller reconciles them with the same cut.
   */
  knownBefore: number;
};

export type FolderWatch = { stop(): Promise<void>; /** One listing pass now (tests, and after start). */ scan(): Promise<void> };

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
    const now = Date.now();
    for await (const { key, st } of store.keys("", "", opts.skipFolder)) {
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
  let watcher: FSWatcher | undefined;
  try {
    watcher = watch(store.root, { recursive: true }, (_type, name) => {
      if (!name || String(name).startsWith(".reelpress")) return;
      // Debounced: a copy in progress fires many events, one pass after they calm down is enough.
      clearTimeout(timer);
      timer = setTimeout(() => void scan(), Math.min(opts.settleMs, 1000));
    });
    watcher.on("error", (err) => opts.onError?.(err));
  } catch (err) {
    opts.onError?.(err);
  }

  return {
    scan: () => scan(),
    async stop() {
      stopped = true;
      clearTimeout(timer);
      watcher?.close();
      store.off("created", onCreated);
      store.off("removed", onRemoved);
      await scanning;
    },
  };
}
