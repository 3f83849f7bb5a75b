// Multipart uploads: each part is a file under .reelpress/store/uploads/<upload id>/, and completion
// joins them into one temp file on disk, which is then committed like any other write. Every upload of a
// part lands under a name of its own and is published by atomically replacing the part's description,
// which names it; publishing, aborting and completing take the upload's lock, so a Complete joins exactly
// the part versions it checked, and two uploads of one part can never mix one's bytes with the other's
// description.
import { createHash, randomBytes } from "node:crypto";
import { spawn } from "node:child_process";
import { createReadStream } from "node:fs";
import { type FileHandle, mkdir, open, readFile, readdir, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";
import { once } from "node:events";
import { BodyDigests, type ChecksumAlgorithm } from "./checksums.ts";
import { s3Error } from "./errors.ts";
import { bareEtag, syncFile, type FolderStore, type NewObject, type ObjectInfo, type WriteConditions } from "./folder.ts";
import { KeyLocks } from "./folder/locks.ts";

export const MIN_PART_BYTES = 5 * 1024 ** 2;
export const MAX_PART_BYTES = 5 * 1024 ** 3;
export const MAX_PARTS = 10_000;

export type UploadInfo = { key: string; initiated: string; headers: Record<string, string>; metadata: Record<string, string>; algorithm?: ChecksumAlgorithm };
export type PartInfo = { number: number; etag: string; size: number; lastModified: string; checksums: Record<string, string>; file?: string };

const ID = /^[0-9a-f]{32}$/;

/** What a completed upload answered; kept beside the uploads for a while to answer a retry alike. */
export type Completed = { key: string; etag: string; composite?: { algorithm: ChecksumAlgorithm; value: string }; parts: string[]; at: number };
const COMPLETED_KEPT_MS = 24 * 3600_000;

/** Parts per `cat`: well inside any system's limit on a command line. */
const CAT_BATCH = 256;

/**
 * Concatenates `files` into `target` (which must not exist). `cat` lets the kernel copy (copy_file_range or
 * splice: about 2 GB/s here against 0.3 GB/s through streams); streams are the fallback where it is missing.
 */
async function joinFiles(files: string[], target: string): Promise<void> {
  const handle = await open(target, "wx");
  try {
    for (let i = 0; i < files.length; i += CAT_BATCH) {
      const child = spawn("cat", ["--", ...files.slice(i, i + CAT_BATCH)], { stdio: ["ignore", handle.fd, "pipe"] });
      let stderr = "";
      child.stderr!.on("data", (d: Buffer) => (stderr += d.toString()));
      const [code] = (await once(child, "close").catch(() => [undefined])) as [number | null | undefined];
      if (code === 0) continue;
      if (code === undefined && i === 0) return await joinWithStreams(files, handle);
      throw new Error(`joining the parts failed: ${stderr.trim() || `cat exited with ${code}`}`);
    }
  } finally {
    await handle.close();
  }
}

async function joinWithStreams(files: string[], handle: FileHandle): Promise<void> {
  for (const file of files) {
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) await handle.write(chunk as Buffer);
  }
}

/** S3's composite checksum of an upload: `algorithm` over the parts' own checksums, then "-<parts>". */
async function compositeChecksum(algorithm: ChecksumAlgorithm | undefined, parts: PartInfo[]): Promise<{ algorithm: ChecksumAlgorithm; value: string } | undefined> {
  if (!algorithm || algorithm === "crc64nvme" || !parts.every((p) => p.checksums[algorithm])) return undefined;
  const digests = new BodyDigests([algorithm]);
  for (const p of parts) digests.update(Buffer.from(p.checksums[algorithm], "base64"));
  return { algorithm, value: `${(await digests.finish()).checksums[algorithm]}-${parts.length}` };
}

/**
 * The file of a part's bytes, in the upload's folder and nowhere else; descriptions written before part
 * versions had names of their own lack `file`.
 */
const partFileOf = (part: PartInfo) => (part.file && /^\d+\.[0-9a-f]{16}\.part$/.test(part.file) ? part.file : `${part.number}.part`);

export class Multipart {
  private readonly store: FolderStore;
  /** Per upload: publishing a part, aborting and completing, one at a time. */
  private readonly locks = new KeyLocks();
  constructor(store: FolderStore) {
    this.store = store;
  }

  private dirOf(uploadId: string): string {
    if (!ID.test(uploadId)) throw s3Error("NoSuchUpload");
    return path.join(this.store.uploadsDir, uploadId);
  }

  async create(key: string, info: Omit<UploadInfo, "key" | "initiated">): Promise<string> {
    this.store.fileOf(key);
    const uploadId = randomBytes(16).toString("hex");
    const dir = this.dirOf(uploadId);
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, "upload.json"), JSON.stringify({ key, initiated: new Date().toISOString(), ...info } satisfies UploadInfo));
    return uploadId;
  }

  async upload(key: string, uploadId: string): Promise<UploadInfo> {
    let info: UploadInfo;
    try {
      info = JSON.parse(await readFile(path.join(this.dirOf(uploadId), "upload.json"), "utf8"));
    } catch {
      throw s3Error("NoSuchUpload");
    }
    if (info.key !== key) throw s3Error("NoSuchUpload");
    return info;
  }

  /** Stores part `number` from a temp file the caller received (its MD5 and checksums known). */
  async putPart(key: string, uploadId: string, number: number, received: { tmp: string; size: number; md5: Buffer; checksums: Record<string, string> }): Promise<PartInfo> {
    try {
      if (!Number.isInteger(number) || number < 1 || number > MAX_PARTS) throw s3Error("InvalidArgument", `Part number must be an integer between 1 and ${MAX_PARTS}.`);
      const dir = this.dirOf(uploadId);
      return await this.locks.run(uploadId, async () => {
        await this.upload(key, uploadId);
        const file = `${number}.${randomBytes(8).toString("hex")}.part`;
        const part: PartInfo = { number, etag: `"${received.md5.toString("hex")}"`, size: received.size, lastModified: new Date().toISOString(), checksums: received.checksums, file };
        const replaced = await this.part(dir, number);
        // Bytes first, then the description that names them, replaced whole: a crash between the two leaves
        // the previous version of the part described and intact.
        await rename(received.tmp, path.join(dir, file));
        const description = path.join(dir, `${file}.json`);
        await writeFile(description, JSON.stringify(part));
        await rename(description, path.join(dir, `${number}.json`));
        if (replaced && partFileOf(replaced) !== file) await rm(path.join(dir, partFileOf(replaced)), { force: true });
        return part;
      });
    } finally {
      await rm(received.tmp, { force: true });
    }
  }

  private async part(dir: string, number: number): Promise<PartInfo | undefined> {
    return readFile(path.join(dir, `${number}.json`), "utf8").then((t) => JSON.parse(t) as PartInfo, () => undefined);
  }

  async parts(key: string, uploadId: string): Promise<PartInfo[]> {
    await this.upload(key, uploadId);
    const dir = this.dirOf(uploadId);
    const out: PartInfo[] = [];
    for (const name of await readdir(dir)) {
      if (!/^\d+\.json$/.test(name)) continue;
      const part = await this.part(dir, Number.parseInt(name, 10));
      // Gone meanwhile: the upload was completed or aborted.
      if (part) out.push(part);
    }
    return out.sort((a, b) => a.number - b.number);
  }

  async abort(key: string, uploadId: string): Promise<void> {
    const dir = this.dirOf(uploadId);
    await this.locks.run(uploadId, async () => {
      await this.upload(key, uploadId);
      await rm(dir, { recursive: true, force: true });
    });
  }

  async list(): Promise<Array<UploadInfo & { uploadId: string }>> {
    const out = [];
    for (const uploadId of await readdir(this.store.uploadsDir)) {
      try {
        out.push({ uploadId, ...(JSON.parse(await readFile(path.join(this.dirOf(uploadId), "upload.json"), "utf8")) as UploadInfo) });
      } catch {
        // not an upload folder
      }
    }
    return out;
  }

  /**
   * Joins the listed parts on disk and commits them at the key; S3's ETag is the MD5 of the parts' MD5s.
   * With the upload's checksum algorithm on every part, `composite` is S3's checksum of the parts'
   * checksums ("<base64>-N"): a check of the parts, not of the whole object, so it is answered, not kept.
   */
  complete(key: string, uploadId: string, listed: Array<{ number: number; etag: string; checksums?: Record<string, string> }>, cond: WriteConditions): Promise<Completed> {
    this.dirOf(uploadId); // a malformed id is no upload, and names no lock
    return this.locks.run(uploadId, () => this.completeAlone(key, uploadId, listed, cond));
  }

  private async completeAlone(key: string, uploadId: string, listed: Array<{ number: number; etag: string; checksums?: Record<string, string> }>, cond: WriteConditions): Promise<Completed> {
    const upload = await this.upload(key, uploadId).catch(async (err) => {
      // A retried Complete (its answer lost on the way) gets the same answer, as S3 gives it.
      const done = await this.completed(key, uploadId, listed);
      if (done) return undefined;
      throw err;
    });
    if (!upload) return (await this.completed(key, uploadId, listed))!;
    if (listed.length === 0) throw s3Error("MalformedXML", "The XML you provided did not list any parts.");
    const stored = new Map((await this.parts(key, uploadId)).map((p) => [p.number, p]));
    for (const [i, want] of listed.entries()) if (i > 0 && want.number < listed[i - 1].number) throw s3Error("InvalidPartOrder");
    // A part number listed twice (a client that resent the part and kept both answers) counts once, with
    // the ETag listed last, as Ceph takes it.
    const wanted = listed.filter((want, i) => listed[i + 1]?.number !== want.number);
    const chosen: PartInfo[] = [];
    for (const [i, want] of wanted.entries()) {
      const part = stored.get(want.number);
      if (!part || part.etag.replace(/"/g, "") !== want.etag.replace(/"/g, "")) throw s3Error("InvalidPart", `Part ${want.number} was not uploaded, or its ETag does not match.`);
      for (const [alg, value] of Object.entries(want.checksums ?? {})) {
        if (part.checksums[alg] !== value) throw s3Error("InvalidPart", `Part ${want.number}'s ${alg.toUpperCase()} does not match the one it was uploaded with.`);
      }
      if (i < wanted.length - 1 && part.size < MIN_PART_BYTES) throw s3Error("EntityTooSmall", `Part ${part.number} is smaller than the minimum of 5 MiB.`);
      chosen.push(part);
    }
    const dir = this.dirOf(uploadId);
    const tmp = this.store.newTempPath();
    try {
      await joinFiles(chosen.map((p) => path.join(dir, partFileOf(p))), tmp);
      await syncFile(tmp);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    const md5s = Buffer.concat(chosen.map((p) => Buffer.from(p.etag.replace(/"/g, ""), "hex")));
    const object: NewObject = {
      etag: `"${createHash("md5").update(md5s).digest("hex")}-${chosen.length}"`,
      headers: upload.headers,
      metadata: upload.metadata,
      checksums: {},
      partsCount: chosen.length,
      partSizes: chosen.map((p) => p.size),
    };
    const info = await this.store.commit(key, tmp, object, cond, "ObjectCreated:CompleteMultipartUpload");
    const done: Completed = { key, etag: info.etag, composite: await compositeChecksum(upload.algorithm, chosen), parts: listed.map((p) => `${p.number}:${bareEtag(p.etag)}`), at: Date.now() };
    await writeFile(this.doneFileOf(uploadId), JSON.stringify(done));
    await rm(dir, { recursive: true, force: true });
    return done;
  }

  private doneFileOf(uploadId: string): string {
    return `${this.dirOf(uploadId)}.done.json`;
  }

  /** The record of `uploadId` completed at `key` from the same parts, if it was. */
  private async completed(key: string, uploadId: string, listed: Array<{ number: number; etag: string }>): Promise<Completed | undefined> {
    const done = await readFile(this.doneFileOf(uploadId), "utf8").then((t) => JSON.parse(t) as Completed, () => undefined);
    const parts = listed.map((p) => `${p.number}:${bareEtag(p.etag)}`);
    return done && done.key === key && done.parts.join(",") === parts.join(",") ? done : undefined;
  }

  /**
   * Removes uploads older than `maxAgeMs` (S3 leaves that to a lifecycle rule; here it runs at start), and
   * records of completed uploads older than a day (kept only to answer a retried Complete).
   */
  async sweep(maxAgeMs: number): Promise<void> {
    for (const u of await this.list()) {
      if (Date.now() - Date.parse(u.initiated) > maxAgeMs) await rm(this.dirOf(u.uploadId), { recursive: true, force: true });
    }
    for (const name of await readdir(this.store.uploadsDir)) {
      if (!name.endsWith(".done.json")) continue;
      const file = path.join(this.store.uploadsDir, name);
      const done = await readFile(file, "utf8").then((t) => JSON.parse(t) as Completed, () => undefined);
      if (!done || Date.now() - done.at > COMPLETED_KEPT_MS) await rm(file, { force: true });
    }
  }
}

