// Opens a data folder made by the first embedded store (fauxqs' private layout under <data-dir>/s3): its
// objects are moved into the library folder once, by rename, with their ETags and metadata.
import { existsSync } from "node:fs";
import { mkdir, readFile, readdir, rename, rm, stat } from "node:fs/promises";
import path from "node:path";
import type { FolderStore } from "../store/index.ts";
import { unsafeKeyReason } from "../store/safe-key.ts";

type OldMeta = { etag?: string; contentType?: string; metadata?: Record<string, string> };

/** Where the old store kept a bucket's objects, if this data folder has one. */
export function oldObjectsDir(dataDir: string, bucket: string): string | undefined {
  const dir = path.join(dataDir, "s3", "buckets", bucket, "objects");
  return existsSync(path.join(dataDir, "s3", "buckets")) ? dir : undefined;
}

async function* dataFiles(dir: string, rel = ""): AsyncGenerator<string> {
  for (const e of await readdir(path.join(dir, rel), { withFileTypes: true }).catch(() => [])) {
    const child = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) yield* dataFiles(dir, child);
    else if (e.name.endsWith(".data")) yield child;
  }
}

/** Moves every old object into `store`'s folder; returns how many moved and which keys were left (name taken). */
export async function importOldStore(dataDir: string, store: FolderStore, bucket: string): Promise<{ moved: number; left: string[] }> {
  const dir = oldObjectsDir(dataDir, bucket);
  if (!dir) return { moved: 0, left: [] };
  let moved = 0;
  const left: string[] = [];
  for await (const rel of dataFiles(dir)) {
    // fauxqs wrote a few characters as %xx (and "%" itself as %25), so decoding is exact.
    const key = rel.slice(0, -".data".length).replace(/%([0-9a-f]{2})/gi, (_, h: string) => String.fromCharCode(Number.parseInt(h, 16)));
    const target = unsafeKeyReason(key) ? undefined : store.fileOf(key);
    if (!target || existsSync(target)) {
      left.push(key);
      continue;
    }
    const meta = JSON.parse(await readFile(path.join(dir, `${rel.slice(0, -".data".length)}.meta.json`), "utf8").catch(() => "{}")) as OldMeta;
    await mkdir(path.dirname(target), { recursive: true });
    await rename(path.join(dir, rel), target);
    const st = await stat(target);
    if (meta.etag) {
      const headers: Record<string, string> = meta.contentType ? { "content-type": meta.contentType } : {};
      await store.writeSidecar(key, { etag: meta.etag, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino, headers, metadata: meta.metadata ?? {}, checksums: {} });
    }
    moved++;
  }
  const oldRoot = path.join(dataDir, "s3");
  if (left.length === 0) await rm(oldRoot, { recursive: true, force: true });
  else await rename(oldRoot, path.join(dataDir, "s3-not-imported"));
  return { moved, left };
}
