// Writing an object: the body streams into a temp file, is fsynced, and is renamed into place; the sidecar
// is written first and describes both the file there and the one coming, so a crash between the two leaves
// the key described either way. Callers hold the key's lock (store/folder.ts).
import { type Stats, constants, createReadStream, createWriteStream, fdatasync } from "node:fs";
import { copyFile, mkdir, open, rename, rm, rmdir, stat } from "node:fs/promises";
import path from "node:path";
import { Transform, type Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import { BodyDigests, type ChecksumAlgorithm } from "../checksums.ts";
import { S3Error, s3Error } from "../errors.ts";
import { type WriteConditions, checkWriteConditions } from "./conditions.ts";
import type { FolderLayout } from "./layout.ts";
import { head } from "./reads.ts";
import { type Checksums, type NewObject, type ObjectInfo, type Sidecar, describe, writeSidecar } from "./sidecars.ts";

export const MAX_OBJECT_BYTES = 5 * 1024 ** 3;
const FLUSH_EVERY_BYTES = 128 * 1024 ** 2;

/** Flushes a written file to the disk before it is renamed into place: a crash must not leave it empty. */
export async function syncFile(file: string): Promise<void> {
  const handle = await open(file, "r+");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/**
 * Streams `body` into a new temp file, counting and hashing it on the way; fsynced unless it is only a
 * multipart part (parts are joined into a file that is fsynced itself before it becomes an object).
 */
export async function receive(
  layout: FolderLayout,
  body: Readable,
  algorithms: Iterable<ChecksumAlgorithm>,
  opts: { maxBytes?: number; durable?: boolean } = {},
): Promise<{ tmp: string; size: number; md5: Buffer; checksums: Checksums }> {
  const { maxBytes = MAX_OBJECT_BYTES, durable = true } = opts;
  const tmp = layout.newTempPath();
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
async function prepareParent(layout: FolderLayout, file: string): Promise<void> {
  const dir = path.dirname(file);
  // A delete of another key may remove a folder it emptied at any moment: make it again, a few times.
  for (let attempt = 1; ; attempt++) {
    try {
      await mkdir(dir, { recursive: true });
      await layout.assertRealFolder(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EEXIST" || code === "ENOTDIR") throw s3Error("InvalidArgument", "A file already has the name of one of this key's folders.");
      const gone = code === "ENOENT" || (err instanceof S3Error && err.code === "NoSuchKey");
      if (!gone || attempt === RETRIES) throw err;
    }
  }
}

const RETRIES = 5;

/**
 * Removes `dir` and the folders above it while they are empty, up to the library folder (never it): a
 * folder left empty by a delete would otherwise be a key's name that no listing shows, and a later PUT of
 * that key would fail. rmdir refuses a folder that holds anything, so a file arriving meanwhile is safe.
 */
export async function removeEmptyFolders(layout: FolderLayout, dir: string): Promise<void> {
  for (let d = dir; d.startsWith(layout.root + path.sep); d = path.dirname(d)) {
    try {
      await rmdir(d);
    } catch {
      return;
    }
  }
}

/** Renames the temp file `tmp` to `file` (the key's) if `cond` holds for what is there now. */
export async function placeFile(layout: FolderLayout, key: string, file: string, tmp: string, object: NewObject, cond: WriteConditions): Promise<{ info: ObjectInfo; st: Stats }> {
  checkWriteConditions(await head(layout, key), cond);
  await prepareParent(layout, file);
  const st = await stat(tmp);
  const side: Sidecar = { ...object, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  // Sidecar first, describing both the file there now and the one coming: a crash before the rename
  // leaves the old file described as it was, one after it the new one.
  await writeSidecar(layout, key, side, await stat(file).catch(() => undefined));
  for (let attempt = 1; ; attempt++) {
    try {
      await rename(tmp, file);
      break;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === "EISDIR") throw s3Error("InvalidArgument", "A folder already has this key's name.");
      if (code !== "ENOENT" || attempt === RETRIES) throw err;
      await prepareParent(layout, file);
    }
  }
  return { info: await describe(layout, key, file, st), st };
}

/** A temp file with the bytes of `source` (the kernel copies; reflinks where the file system has them). */
export async function copyToTemp(layout: FolderLayout, source: ObjectInfo): Promise<string> {
  const tmp = layout.newTempPath();
  try {
    await copyFile(source.file, tmp, constants.COPYFILE_FICLONE);
    const st = await stat(source.file);
    // Replaced while it was copied: the bytes may be another version's.
    if ((await describe(layout, source.key, source.file, st)).etag !== source.etag) throw s3Error("ConditionalRequestConflict", "The source object changed during the copy; try again.");
    await syncFile(tmp);
    return tmp;
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}

/** The checksum `algorithm` of a file, read whole. */
export async function checksumOfFile(file: string, algorithm: ChecksumAlgorithm): Promise<string> {
  const digests = new BodyDigests([algorithm]);
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) digests.update(chunk as Buffer);
  return (await digests.finish()).checksums[algorithm]!;
}
