// Where a job reads its source: in place from the library folder, when the runner is told where the folder
// store keeps it (REELPRESS_LIBRARY_DIR, or `reelpress dev`) and the file there is provably the version the
// job is for; else a download of exactly that version. The proof is the store's own: the open file's inode,
// size and mtime give the ETag the store serves for the key (store/folder/sidecars.ts), and that must be the
// job's. ffmpeg then reads that open file (/proc/<pid>/fd/<n>), so a file renamed, replaced or linked in
// after the check is never read instead, and a change to it while it is read is caught before its
// segments are stored.
import { constants, createWriteStream, type Stats } from "node:fs";
import { type FileHandle, open, realpath, stat } from "node:fs/promises";
import path from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import type { Clients } from "../shared/io/clients.ts";
import { SourceChangedError, getObject, isConditionFailed } from "../shared/io/objects.ts";
import { badSetting } from "../shared/settings.ts";
import type { EncodeJob } from "../shared/schemas.ts";
import { FolderLayout, STORE_PREFIX, isStoreKey } from "../store/folder/layout.ts";
import { describe } from "../store/folder/sidecars.ts";
import { unsafeKeyReason } from "../store/safe-key.ts";

/** The library folder the store serves, as the store sees it: its real path and its file system. */
export type LibraryFolder = { layout: FolderLayout; dev: number };

/** REELPRESS_LIBRARY_DIR (or dev's --library): a folder the store serves; one error sentence otherwise. */
export async function libraryFolder(dir: string): Promise<LibraryFolder> {
  const setting = "REELPRESS_LIBRARY_DIR";
  const root = await realpath(dir).catch(() => {
    throw badSetting(setting, dir, "must be the library folder the store serves, and it does not exist");
  });
  const st = await stat(root);
  if (!st.isDirectory()) throw badSetting(setting, dir, "must be the library folder the store serves, not a file");
  const layout = new FolderLayout(root);
  // The store's own area is made when it first serves a folder: a folder without it is not one it serves.
  if (!(await stat(layout.metaDir).then((m) => m.isDirectory(), () => false))) throw badSetting(setting, dir, `must be the library folder the store serves, and it has no ${STORE_PREFIX}`);
  return { layout, dev: st.dev };
}

/** The source as ffmpeg reads it; `close` when done. */
export type SourceFile = {
  /** A path ffmpeg and ffprobe open. */
  file: string;
  inPlace: boolean;
  /** Throws SourceChangedError when the file read in place changed since it was checked. */
  assertUnchanged(): Promise<void>;
  close(): Promise<void>;
};

const sameIdentity = (a: Stats, b: Stats) => a.ino === b.ino && a.dev === b.dev && a.size === b.size && a.mtimeMs === b.mtimeMs;

/** Why a handle cannot stand in for the job's version, or undefined when it can. */
async function refusal(lib: LibraryFolder, job: EncodeJob, file: string, handle: FileHandle, st: Stats): Promise<string | undefined> {
  if (!st.isFile()) return "it is not a regular file";
  if (st.dev !== lib.dev) return "it is on another file system than the library folder";
  if (st.size !== job.size) return `it holds ${st.size} bytes, the job's version ${job.size}`;
  // The folders on the way are the key's own (the store refuses linked folders for writes the same way).
  if ((await realpath(path.dirname(file)).catch(() => "")) !== path.dirname(file)) return "one of its folders is a symbolic link";
  const { etag } = await describe(lib.layout, job.key, file, st);
  if (etag !== job.etag) return `it is not the version the job is for (ETag ${etag}, the job's ${job.etag})`;
  // ffmpeg opens the same inode through this link: a name swapped meanwhile does not matter.
  const viaProc = await stat(`/proc/${process.pid}/fd/${handle.fd}`).catch(() => undefined);
  if (!viaProc || !sameIdentity(viaProc, st)) return "this system cannot hand an open file to ffmpeg (no /proc)";
  return undefined;
}

/** The job's source in the library folder, checked to be its version; else why it cannot be read in place. */
export async function openInPlace(lib: LibraryFolder, job: EncodeJob): Promise<{ source: SourceFile } | { refused: string }> {
  const unsafe = unsafeKeyReason(job.key) ?? (isStoreKey(job.key) ? "the key is in the store's own area" : undefined);
  if (unsafe) return { refused: unsafe };
  const file = path.join(lib.layout.root, ...job.key.split("/"));
  let handle: FileHandle;
  try {
    // No link as the last name, and no waiting on a FIFO someone put there.
    handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { refused: code === "ELOOP" ? "it is a symbolic link" : `it cannot be opened (${code ?? err})` };
  }
  try {
    const st = await handle.stat();
    const why = await refusal(lib, job, file, handle, st);
    if (why) {
      await handle.close();
      return { refused: why };
    }
    return {
      source: {
        file: `/proc/${process.pid}/fd/${handle.fd}`,
        inPlace: true,
        async assertUnchanged() {
          if (!sameIdentity(await handle.stat(), st)) throw new SourceChangedError(job.key);
        },
        close: () => handle.close(),
      },
    };
  } catch (err) {
    await handle.close();
    throw err;
  }
}

/** Downloads exactly the job's version to `file`, telling the share of bytes received. */
export async function downloadSource(clients: Clients, job: EncodeJob, file: string, signal: AbortSignal, onFraction: (f: number) => void): Promise<SourceFile> {
  // Another version now: the job was planned for one that is gone (runJob plans the new one).
  const { body } = await getObject(clients, job.key, { ifMatch: job.etag }).catch((err) => Promise.reject(isConditionFailed(err) ? new SourceChangedError(job.key) : err));
  let got = 0;
  const count = new Transform({
    transform(chunk: Buffer, _enc, done) {
      got += chunk.length;
      onFraction(job.size > 0 ? got / job.size : 1);
      done(null, chunk);
    },
  });
  await pipeline(body, count, createWriteStream(file), { signal });
  return { file, inPlace: false, assertUnchanged: async () => {}, close: async () => {} };
}
