// The library folder as a bucket: a key is a path relative to the folder and an object is the file itself.
// What S3 keeps beside an object (ETag, user metadata, checksums) lives in a sidecar under
// .reelpress/store/meta/, trusted only while it still describes the file (same inode, size and mtime), so
// files changed or added behind the store's back are served as they are. Every write goes to a temp file,
// is fsynced, and is renamed into place under a per-key lock that also decides its conditions.
import { createHash, randomUUID } from "node:crypto";
import { EventEmitter } from "node:events";
import { constants, createReadStream, createWriteStream, fdatasync, type Dirent, type Stats } from "node:fs";
import { copyFile, mkdir, open, readFile, readdir, realpath, rename, rm, stat, unlink, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BodyDigests, type ChecksumAlgorithm } from "./checksums.ts";
import { S3Error, s3Error } from "./errors.ts";
import { unsafeKeyReason } from "./safe-key.ts";

/** The store's own area inside the folder: never an object, never listed. */
export const STORE_PREFIX = ".reelpress/store/";
export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;
const FLUSH_EVERY_BYTES = 128 * 1024 ** 2;

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
};

export type ObjectInfo = Omit<Sidecar, "mtimeMs" | "ino"> & { key: string; lastModified: Date; file: string };

/** `identity` tells the folder watcher which version of the file the event was for. */
export type ObjectEvent = { key: string; size: number; etag: string; eventName: string; identity: string };

export const identityOf = (st: Stats) => `${st.ino}:${st.size}:${st.mtimeMs}`;

/** What a write brings besides the bytes; size and identity (inode, mtime) come from the file itself. */
export type NewObject = { etag: string; headers: Record<string, string>; metadata: Record<string, string>; checksums: Checksums; partsCount?: number };

export type WriteConditions = { ifMatch?: string; ifNoneMatch?: string };

export const bareEtag = (etag: string) => etag.replace(/^W\//, "").replace(/"/g, "");

/** S3's answer to a write's If-Match / If-None-Match against what is at the key now. */
export function checkWriteConditions(current: { etag: string } | undefined, cond: WriteConditions): void {
  if (cond.ifNoneMatch !== undefined) {
    if (cond.ifNoneMatch.trim() !== "*") throw s3Error("NotImplemented", "If-None-Match on a write accepts only '*'.");
    if (current) throw s3Error("PreconditionFailed");
  }
  if (cond.ifMatch !== undefined) {
    if (!current) throw s3Error("NoSuchKey");
    const wanted = cond.ifMatch.split(",").map((e) => bareEtag(e.trim()));
    if (!wanted.includes("*") && !wanted.includes(bareEtag(current.etag))) throw s3Error("PreconditionFailed");
  }
}

function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

/** An ETag for a file nobody uploaded: stable while the file is unchanged; "-1" so clients do not take it for an MD5. */
function fileEtag(st: Stats): string {
  return `"${createHash("md5").update(`${st.ino}:${st.size}:${st.mtimeMs}`).digest("hex")}-1"`;
}

/** Flushes a written file to the disk before it is renamed into place: a crash must not leave it empty. */
export async function syncFile(file: string): Promise<void> {
  const handle = await open(file, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class FolderTakenError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "FolderTakenError";
  }
}

/** The store's own copy of shared/process.ts: store/ imports nothing from the rest of reelpress. */
function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

const sameFile = (side: Sidecar, st: Stats) => side.ino === st.ino && side.size === st.size && side.mtimeMs === st.mtimeMs;

export class FolderStore extends EventEmitter<{ created: [ObjectEvent]; removed: [{ key: string }] }> {
  readonly root: string;
  readonly tmpDir: string;
  readonly metaDir: string;
  readonly uploadsDir: string;
  private readonly locks = new Map<string, Promise<unknown>>();

  private constructor(root: string) {
    super();
    this.root = root;
    const own = path.join(root, ...STORE_PREFIX.split("/").filter(Boolean));
    this.tmpDir = path.join(own, "tmp");
    this.metaDir = path.join(own, "meta");
    this.uploadsDir = path.join(own, "uploads");
  }

  static async open(folder: string): Promise<FolderStore> {
    await mkdir(folder, { recursive: true });
    const store = new FolderStore(await realpath(folder));
    await mkdir(store.metaDir, { recursive: true });
    await store.takeFolder();
    await mkdir(store.uploadsDir, { recursive: true });
    // Temp files of a process that died are never objects: start clean.
    await rm(store.tmpDir, { recursive: true, force: true });
    await mkdir(store.tmpDir, { recursive: true });
    return store;
  }

  private get ownerFile(): string {
    return path.join(path.dirname(this.metaDir), "owner.json");
  }

  /**
   * Conditional writes are decided by this process's per-key locks, so one folder has one store: a second
   * one (another `reelpress dev` on the same share from this machine) is refused while the first lives.
   */
  private async takeFolder(): Promise<void> {
    for (;;) {
      try {
        await writeFile(this.ownerFile, JSON.stringify({ pid: process.pid, host: hostname() }), { flag: "wx" });
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
      }
      const owner = JSON.parse(await readFile(this.ownerFile, "utf8").catch(() => "{}")) as { pid?: number; host?: string };
      if (owner.pid && owner.host === hostname() && owner.pid !== process.pid && isAlive(owner.pid)) {
        throw new FolderTakenError(`Another store (pid ${owner.pid}) already serves ${this.root}; stop it first, or serve another folder.`);
      }
      // Left by a process that is gone (or by one on another machine, which cannot be checked from here).
      await rm(this.ownerFile, { force: true });
    }
  }

  /** Gives the folder up for another store. */
  async close(): Promise<void> {
    const owner = JSON.parse(await readFile(this.ownerFile, "utf8").catch(() => "{}")) as { pid?: number };
    if (owner.pid === process.pid) await rm(this.ownerFile, { force: true });
  }

  /** The file of `key`, or S3's 400 for keys that could name anything outside the folder. */
  fileOf(key: string): string {
    const unsafe = unsafeKeyReason(key);
    if (unsafe) throw s3Error("InvalidArgument", `Refused key: ${unsafe}.`);
    if (key.startsWith(STORE_PREFIX) || `${key}/` === STORE_PREFIX) throw s3Error("InvalidArgument", `Keys under ${STORE_PREFIX} are reserved for the store.`);
    return path.join(this.root, ...key.split("/"));
  }

  private sidecarOf(key: string): string {
    return `${path.join(this.metaDir, ...key.split("/"))}.json`;
  }

  /** Symlinks may point anywhere: what they lead to must still be inside the folder. */
  private async assertInside(file: string): Promise<void> {
    // Removed meanwhile (a DELETE racing this read): as S3 would say then, it is not there.
    const real = await realpath(file).catch((err) => Promise.reject(isMissing(err) ? s3Error("NoSuchKey") : err));
    if (real !== this.root && !real.startsWith(this.root + path.sep)) throw s3Error("InvalidArgument", "Refused key: it leads outside the library folder.");
    if (real.startsWith(path.join(this.root, ...STORE_PREFIX.split("/").filter(Boolean)) + path.sep)) throw s3Error("InvalidArgument", "Refused key: it leads into the store's own area.");
  }

  private async readSidecar(key: string): Promise<Sidecar | undefined> {
    try {
      return JSON.parse(await readFile(this.sidecarOf(key), "utf8")) as Sidecar;
    } catch {
      return undefined;
    }
  }

  /** What S3 would say about the file `st` at `key`. */
  async describe(key: string, file: string, st: Stats): Promise<ObjectInfo> {
    const side = await this.readSidecar(key);
    const base = side && sameFile(side, st) ? side : { etag: fileEtag(st), size: st.size, headers: {}, metadata: {}, checksums: {} };
    const { mtimeMs: _m, ino: _i, ...kept } = base as Sidecar;
    // Whole seconds as S3 keeps them, rounded up: a sync client must never see an upload as older than its source.
    return { ...kept, size: st.size, key, file, lastModified: new Date(Math.ceil(st.mtimeMs / 1000) * 1000) };
  }

  async head(key: string): Promise<ObjectInfo | undefined> {
    const file = this.fileOf(key);
    let st: Stats;
    try {
      st = await stat(file);
    } catch (err) {
      if (isMissing(err)) return undefined;
      throw err;
    }
    if (!st.isFile()) return undefined;
    try {
      await this.assertInside(file);
    } catch (err) {
      if (err instanceof S3Error && err.code === "NoSuchKey") return undefined;
      throw err;
    }
    return this.describe(key, file, st);
  }

  /** An open file and its description, read from the same inode even if the key is replaced meanwhile. */
  async openObject(key: string) {
    const file = this.fileOf(key);
    let handle;
    try {
      handle = await open(file, "r");
    } catch (err) {
      if (isMissing(err) || (err as NodeJS.ErrnoException).code === "EISDIR") throw s3Error("NoSuchKey");
      throw err;
    }
    try {
      const st = await handle.stat();
      if (!st.isFile()) throw s3Error("NoSuchKey");
      await this.assertInside(file);
      return { handle, info: await this.describe(key, file, st) };
    } catch (err) {
      await handle.close();
      throw err;
    }
  }

  /** Runs `fn` alone for `key`: conditions checked inside it hold until its write is done. */
  withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(key, tail);
    void tail.then(() => this.locks.get(key) === tail && this.locks.delete(key));
    return run;
  }

  newTempPath(): string {
    return path.join(this.tmpDir, randomUUID());
  }

  /**
   * Streams `body` into a new temp file, counting and hashing it on the way; fsynced unless it is only a
   * multipart part (parts are joined into a file that is fsynced itself before it becomes an object).
   */
  async receive(body: Readable, algorithms: Iterable<ChecksumAlgorithm>, opts: { maxBytes?: number; durable?: boolean } = {}): Promise<{ tmp: string; size: number; md5: Buffer; checksums: Checksums }> {
    const { maxBytes = MAX_OBJECT_BYTES, durable = true } = opts;
    const tmp = this.newTempPath();
    const digests = new BodyDigests(algorithms);
    const out = createWriteStream(tmp, { flags: "wx", highWaterMark: 1024 * 1024 });
    // Written-back while the body still arrives, so the final fsync has little left to wait for.
    let flushing: Promise<void> = Promise.resolve();
    let flushedAt = 0;
    let fd: number | undefined;
    out.once("open", (opened: number) => (fd = opened));
    try {
      const count = new Transform({
        transform(chunk: Buffer, _enc, done) {
          digests.update(chunk);
          if (digests.bytes > maxBytes) return done(s3Error("EntityTooLarge", `Your proposed upload exceeds the maximum allowed size (${maxBytes} bytes).`));
          if (durable && fd !== undefined && digests.bytes - flushedAt >= FLUSH_EVERY_BYTES) {
            flushedAt = digests.bytes;
            const open = fd;
            flushing = flushing.then(() => new Promise<void>((resolve) => fdatasync(open, () => resolve())));
          }
          done(null, chunk);
        },
      });
      await pipeline(body, count, out);
      await flushing;
      if (durable) await syncFile(tmp);
      const { md5, checksums } = await digests.finish();
      return { tmp, size: digests.bytes, md5, checksums };
    } catch (err) {
      await flushing;
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** Makes the folders above `file`; a file in the way, or a way out of the folder, is S3's 400. */
  private async prepareParent(file: string): Promise<void> {
    const dir = path.dirname(file);
    try {
      await mkdir(dir, { recursive: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST" || code === "ENOTDIR") throw s3Error("InvalidArgument", "A file already has the name of one of this key's folders.");
      throw err;
    }
    await this.assertInside(dir);
  }

  /**
   * Puts the temp file `tmp` at `key` if `cond` holds for what is there now; atomic for readers (rename)
   * and for other writers (the key's lock). The temp file is gone afterwards either way.
   */
  async commit(key: string, tmp: string, object: NewObject, cond: WriteConditions, eventName: string): Promise<ObjectInfo> {
    const file = this.fileOf(key);
    try {
      return await this.withLock(key, async () => {
        checkWriteConditions(await this.head(key), cond);
        await this.prepareParent(file);
        const st = await stat(tmp);
        const side: Sidecar = { ...object, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
        // Sidecar first: until the rename it describes no file (another inode), so a crash between the two is harmless.
        await this.writeSidecar(key, side);
        try {
          await rename(tmp, file);
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === "EISDIR") throw s3Error("InvalidArgument", "A folder already has this key's name.");
          throw err;
        }
        const info = await this.describe(key, file, st);
        this.emit("created", { key, size: info.size, etag: info.etag, eventName, identity: identityOf(st) });
        return info;
      });
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async writeSidecar(key: string, side: Sidecar): Promise<void> {
    const target = this.sidecarOf(key);
    await mkdir(path.dirname(target), { recursive: true });
    const tmp = this.newTempPath();
    await writeFile(tmp, JSON.stringify(side));
    await rename(tmp, target);
  }

  /** Replaces only the stored headers and metadata of `key` (a copy onto itself with REPLACE). */
  async replaceMetadata(key: string, expected: ObjectInfo, headers: Record<string, string>, metadata: Record<string, string>, cond: WriteConditions): Promise<ObjectInfo> {
    return this.withLock(key, async () => {
      const current = await this.head(key);
      checkWriteConditions(current, cond);
      if (!current || current.etag !== expected.etag) throw s3Error("ConditionalRequestConflict", "The object changed during the copy; try again.");
      const st = await stat(current.file);
      await this.writeSidecar(key, { ...current, headers, metadata, mtimeMs: st.mtimeMs, ino: st.ino });
      const info = await this.describe(key, current.file, st);
      this.emit("created", { key, size: info.size, etag: info.etag, eventName: "ObjectCreated:Copy", identity: identityOf(st) });
      return info;
    });
  }

  /** A temp file with the bytes of `source` (the kernel copies; reflinks where the file system has them). */
  async copyToTemp(source: ObjectInfo): Promise<string> {
    const tmp = this.newTempPath();
    try {
      await copyFile(source.file, tmp, constants.COPYFILE_FICLONE);
      const st = await stat(source.file);
      // Replaced while it was copied: the bytes may be another version's.
      if ((await this.describe(source.key, source.file, st)).etag !== source.etag) throw s3Error("ConditionalRequestConflict", "The source object changed during the copy; try again.");
      await syncFile(tmp);
      return tmp;
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  /** The checksum `algorithm` of a file, read whole. */
  async checksumOfFile(file: string, algorithm: ChecksumAlgorithm): Promise<string> {
    const digests = new BodyDigests([algorithm]);
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) digests.update(chunk as Buffer);
    return (await digests.finish()).checksums[algorithm]!;
  }

  /** Computes and keeps a checksum the object lacks (S3 computes one on request, e.g. on a copy). */
  async ensureChecksum(info: ObjectInfo, algorithm: ChecksumAlgorithm): Promise<ObjectInfo> {
    if (info.checksums[algorithm]) return info;
    const value = await this.checksumOfFile(info.file, algorithm);
    return this.withLock(info.key, async () => {
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
    await this.withLock(key, async () => {
      const current = await this.head(key);
      if (cond.ifMatch !== undefined) checkWriteConditions(current, { ifMatch: cond.ifMatch });
      if (!current) return;
      await unlink(file).catch((err) => (isMissing(err) ? undefined : Promise.reject(err)));
      await rm(this.sidecarOf(key), { force: true });
      this.emit("removed", { key });
    });
  }

  /**
   * Every object key under `prefix` greater than `after`, in S3's order (UTF-8 bytes). `skip(dirPrefix)`
   * lets a delimiter listing pass over a whole folder once it has its common prefix.
   */
  async *keys(prefix: string, after = "", skip: (dirPrefix: string) => boolean = () => false): AsyncGenerator<{ key: string; st: Stats }> {
    const slash = prefix.lastIndexOf("/");
    const startPrefix = slash >= 0 ? prefix.slice(0, slash + 1) : "";
    if (startPrefix && unsafeKeyReason(startPrefix.slice(0, -1))) return;
    yield* this.walk(startPrefix, prefix, after, skip);
  }

  private async *walk(dirPrefix: string, prefix: string, after: string, skip: (dirPrefix: string) => boolean): AsyncGenerator<{ key: string; st: Stats }> {
    if (dirPrefix === STORE_PREFIX) return;
    let dirents: Dirent[];
    try {
      dirents = await readdir(path.join(this.root, ...dirPrefix.split("/").filter(Boolean)), { withFileTypes: true });
    } catch {
      return;
    }
    const entries: Array<{ key: string; st: Stats; sortKey: Buffer }> = [];
    for (const dirent of dirents) {
      const key = dirPrefix + dirent.name;
      if (unsafeKeyReason(key)) continue;
      const file = path.join(this.root, ...key.split("/"));
      let st: Stats;
      try {
        st = await stat(file);
        // Only a link can lead outside: plain entries below a checked folder stay inside it.
        if (dirent.isSymbolicLink()) await this.assertInside(file);
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
        yield* this.walk(sub, prefix, after, skip);
      } else if (key.startsWith(prefix) && Buffer.compare(Buffer.from(key), Buffer.from(after)) > 0) {
        yield { key, st };
      }
    }
  }
}

