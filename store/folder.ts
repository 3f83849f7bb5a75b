// The library folder as a bucket: a key is a path relative to the folder and an object is the file itself.
// FolderStore is the one door to it; each job sits in its own module under folder/: where things are
// (layout), who holds the folder (owner), what S3 keeps beside a file (sidecars), reads, writes, write
// conditions, per-key locks and the directory walk. Every write goes to a temp file, is fsynced, and is
// renamed into place under the key's lock, which also decides its conditions.
import { EventEmitter } from "node:events";
import type { Stats } from "node:fs";
import { mkdir, realpath, rm, stat, unlink } from "node:fs/promises";
import path from "node:path";
import type { Readable } from "node:stream";
import type { ChecksumAlgorithm } from "./checksums.ts";
import { s3Error } from "./errors.ts";
import { type WriteConditions, checkWriteConditions } from "./folder/conditions.ts";
import { FolderLayout, isMissing } from "./folder/layout.ts";
import { KeyLocks } from "./folder/locks.ts";
import { releaseFolder, takeFolder } from "./folder/owner.ts";
import { head, openObject } from "./folder/reads.ts";
import { type NewObject, type ObjectInfo, type Sidecar, describe, identityOf, listedEtag, removeSidecar, writeSidecar } from "./folder/sidecars.ts";
import { keys } from "./folder/walk.ts";
import { checksumOfFile, copyToTemp, placeFile, receive, removeEmptyFolders } from "./folder/writes.ts";

export { bareEtag, type WriteConditions } from "./folder/conditions.ts";
export { FolderTakenError } from "./folder/owner.ts";
export { STORED_HEADERS, identityOf, lastModifiedOf, type NewObject, type ObjectInfo } from "./folder/sidecars.ts";
export { syncFile } from "./folder/writes.ts";

/** `identity` tells the folder watcher which version of the file the event was for. */
export type ObjectEvent = { key: string; size: number; etag: string; eventName: string; identity: string };

export class FolderStore extends EventEmitter<{ created: [ObjectEvent]; removed: [{ key: string }] }> {
  private readonly layout: FolderLayout;
  private readonly locks = new KeyLocks();

  private constructor(layout: FolderLayout) {
    super();
    this.layout = layout;
  }

  static async open(folder: string): Promise<FolderStore> {
    await mkdir(folder, { recursive: true });
    const layout = new FolderLayout(await realpath(folder));
    await mkdir(layout.metaDir, { recursive: true });
    await takeFolder(layout);
    await mkdir(layout.uploadsDir, { recursive: true });
    // Temp files of a process that died are never objects: start clean.
    await rm(layout.tmpDir, { recursive: true, force: true });
    await mkdir(layout.tmpDir, { recursive: true });
    return new FolderStore(layout);
  }

  get root(): string {
    return this.layout.root;
  }

  get uploadsDir(): string {
    return this.layout.uploadsDir;
  }

  /** Gives the folder up for another store. */
  close(): Promise<void> {
    return releaseFolder(this.layout);
  }

  /** The file of `key`, or S3's 400 for keys that could name anything outside the folder. */
  fileOf(key: string): string {
    return this.layout.fileOf(key);
  }

  newTempPath(): string {
    return this.layout.newTempPath();
  }

  /** What S3 would say about the file `st` at `key`. */
  describe(key: string, file: string, st: Stats): Promise<ObjectInfo> {
    return describe(this.layout, key, file, st);
  }

  /** The ETag describe() would give the file `st` at `key`, as cheaply as a listing of 10⁶ keys needs it. */
  listedEtag(key: string, st: Stats): string {
    return listedEtag(this.layout, key, st);
  }

  head(key: string): Promise<ObjectInfo | undefined> {
    return head(this.layout, key);
  }

  /** An open file and its description, read from the same inode even if the key is replaced meanwhile. */
  openObject(key: string) {
    return openObject(this.layout, key);
  }

  /** Every object key under `prefix` greater than `after`, in S3's order; see folder/walk.ts. */
  keys(prefix: string, after?: string, skip?: (dirPrefix: string) => boolean) {
    return keys(this.layout, prefix, after, skip);
  }

  /** Streams `body` into a new temp file, counted and hashed; see folder/writes.ts. */
  receive(body: Readable, algorithms: Iterable<ChecksumAlgorithm>, opts?: { maxBytes?: number; durable?: boolean }) {
    return receive(this.layout, body, algorithms, opts);
  }

  writeSidecar(key: string, side: Sidecar): Promise<void> {
    return writeSidecar(this.layout, key, side);
  }

  copyToTemp(source: ObjectInfo): Promise<string> {
    return copyToTemp(this.layout, source);
  }

  checksumOfFile(file: string, algorithm: ChecksumAlgorithm): Promise<string> {
    return checksumOfFile(file, algorithm);
  }

  private announce(key: string, info: ObjectInfo, st: Stats, eventName: string): void {
    this.emit("created", { key, size: info.size, etag: info.etag, eventName, identity: identityOf(st) });
  }

  /**
   * Puts the temp file `tmp` at `key` if `cond` holds for what is there now; atomic for readers (rename)
   * and for other writers (the key's lock). The temp file is gone afterwards either way.
   */
  async commit(key: string, tmp: string, object: NewObject, cond: WriteConditions, eventName: string): Promise<ObjectInfo> {
    const file = this.fileOf(key);
    try {
      return await this.locks.run(key, async () => {
        const { info, st } = await placeFile(this.layout, key, file, tmp, object, cond);
        this.announce(key, info, st, eventName);
        return info;
      });
    } finally {
      this.forgetListings(key);
      await rm(tmp, { force: true });
    }
  }

  /** Drops the kept listings of the folders on `key`'s path: a write or delete may have made or removed any. */
  private forgetListings(key: string): void {
    const segments = key.split("/");
    for (let i = 0; i < segments.length; i++) this.layout.listings.forget(path.join(this.layout.root, ...segments.slice(0, i)));
  }

  /** Replaces only the stored headers and metadata of `key` (a copy onto itself with REPLACE). */
  async replaceMetadata(key: string, expected: ObjectInfo, headers: Record<string, string>, metadata: Record<string, string>, cond: WriteConditions): Promise<ObjectInfo> {
    return this.locks.run(key, async () => {
      const current = await this.head(key);
      checkWriteConditions(current, cond);
      if (!current || current.etag !== expected.etag) throw s3Error("ConditionalRequestConflict", "The object changed during the copy; try again.");
      const st = await stat(current.file);
      await this.writeSidecar(key, { ...current, headers, metadata, mtimeMs: st.mtimeMs, ino: st.ino });
      const info = await this.describe(key, current.file, st);
      this.announce(key, info, st, "ObjectCreated:Copy");
      return info;
    });
  }

  /** Computes and keeps a checksum the object lacks (S3 computes one on request, e.g. on a copy). */
  async ensureChecksum(info: ObjectInfo, algorithm: ChecksumAlgorithm): Promise<ObjectInfo> {
    if (info.checksums[algorithm]) return info;
    const value = await checksumOfFile(info.file, algorithm);
    return this.locks.run(info.key, async () => {
      const st = await stat(info.file);
      const current = await this.describe(info.key, info.file, st);
      if (current.etag !== info.etag) throw s3Error("ConditionalRequestConflict", "The object changed while its checksum was computed; try again.");
      const checksums = { ...current.checksums, [algorithm]: value };
      await this.writeSidecar(info.key, { ...current, checksums, mtimeMs: st.mtimeMs, ino: st.ino });
      return { ...current, checksums };
    });
  }

  async remove(key: string, cond: WriteConditions = {}): Promise<void> {
    const file = this.fileOf(key);
    try {
      await this.locks.run(key, async () => {
        const current = await this.head(key);
        if (cond.ifMatch !== undefined) checkWriteConditions(current, { ifMatch: cond.ifMatch });
        if (!current) return;
        await this.layout.assertRealFolder(path.dirname(file));
        await unlink(file).catch((err) => (isMissing(err) ? undefined : Promise.reject(err)));
        await removeSidecar(this.layout, key);
        await removeEmptyFolders(this.layout, path.dirname(file));
        this.emit("removed", { key });
      });
    } finally {
      this.forgetListings(key);
    }
  }
}
