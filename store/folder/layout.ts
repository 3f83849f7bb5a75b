// Where things are in the library folder: an object key is a path relative to it, and the store's own area
// (sidecars, temp files, uploads) sits under .reelpress/store/, never an object.
import { createHash, randomUUID } from "node:crypto";
import { realpath } from "node:fs/promises";
import path from "node:path";
import { s3Error } from "../errors.ts";
import { unsafeKeyReason } from "../safe-key.ts";
import { ListedEtags } from "./listed-etags.ts";
import { FolderListings } from "./listings.ts";

/** The store's own area inside the folder: never an object, never listed. */
export const STORE_PREFIX = ".reelpress/store/";

/**
 * Whether `key` (or a folder prefix "dir/") lies in the store's own area. Case-blind: on a case-insensitive
 * share `.REELPRESS/store/` is the same folder.
 */
export function isStoreKey(key: string): boolean {
  const lower = key.toLowerCase();
  return lower.startsWith(STORE_PREFIX) || `${lower}/` === STORE_PREFIX;
}

/** The longest name most file systems take for one file (NAME_MAX). */
const MAX_NAME_BYTES = 255;

export function isMissing(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === "ENOENT" || code === "ENOTDIR";
}

export class FolderLayout {
  readonly root: string;
  readonly ownDir: string;
  readonly tmpDir: string;
  readonly metaDir: string;
  readonly uploadsDir: string;
  readonly ownerFile: string;
  /** Symbolic links the walk has already logged as skipped (one line each). */
  readonly noticed = new Set<string>();
  /** Sorted folder listings the walk reuses while their folders are unchanged. */
  readonly listings = new FolderListings();
  /** ETags the listings gave, kept while their files are unchanged. */
  readonly etags = new ListedEtags();

  /** `root` is the folder's real path (no links on the way), as assertInside compares against it. */
  constructor(root: string) {
    this.root = root;
    this.ownDir = path.join(root, ...STORE_PREFIX.split("/").filter(Boolean));
    this.tmpDir = path.join(this.ownDir, "tmp");
    this.metaDir = path.join(this.ownDir, "meta");
    this.uploadsDir = path.join(this.ownDir, "uploads");
    this.ownerFile = path.join(this.ownDir, "owner.json");
  }

  /** The file of `key`, or S3's 400 for keys that could name anything outside the folder. */
  fileOf(key: string): string {
    const unsafe = unsafeKeyReason(key);
    if (unsafe) throw s3Error("InvalidArgument", `Refused key: ${unsafe}.`);
    if (isStoreKey(key)) throw s3Error("InvalidArgument", `Keys under ${STORE_PREFIX} are reserved for the store.`);
    return path.join(this.root, ...key.split("/"));
  }

  /**
   * The sidecar that describes the object at `key`: its path under meta/ plus ".json", or, where that would
   * pass the file system's 255-byte limit on a name, a hash of the last segment (a sidecar is trusted only
   * while it matches its file's inode, size and mtime, so even a colliding name could not pass for another's).
   */
  sidecarOf(key: string): string {
    const segments = key.split("/");
    const last = segments.pop()!;
    const name = Buffer.byteLength(last) + ".json".length <= MAX_NAME_BYTES ? `${last}.json` : `${createHash("sha256").update(last).digest("hex")}.long.json`;
    return path.join(this.metaDir, ...segments, name);
  }

  newTempPath(): string {
    return path.join(this.tmpDir, randomUUID());
  }

  /**
   * Refuses to write or delete through a linked folder: `linked/x` would name the file `x` of the folder the
   * link leads to, a file that is kept under its own key. (A link as the key's last segment is fine: a
   * rename or unlink replaces the link itself, never what it leads to.)
   */
  async assertRealFolder(dir: string): Promise<void> {
    const real = await realpath(dir).catch((err) => Promise.reject(isMissing(err) ? s3Error("NoSuchKey") : err));
    if (real !== dir) throw s3Error("InvalidArgument", "Refused key: one of its folders is a symbolic link; write or delete the file under its own key.");
  }

  /** Symlinks may point anywhere: what they lead to must still be inside the folder. */
  async assertInside(file: string): Promise<void> {
    // Removed meanwhile (a DELETE racing this read): as S3 would say then, it is not there.
    const real = await realpath(file).catch((err) => Promise.reject(isMissing(err) ? s3Error("NoSuchKey") : err));
    if (real !== this.root && !real.startsWith(this.root + path.sep)) throw s3Error("InvalidArgument", "Refused key: it leads outside the library folder.");
    if (isStoreKey(path.relative(this.root, real).split(path.sep).join("/"))) throw s3Error("InvalidArgument", "Refused key: it leads into the store's own area.");
  }
}
