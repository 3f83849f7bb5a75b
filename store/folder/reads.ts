// Reading an object: what is at a key, and an open file that stays the same inode while it is served.
import type { Stats } from "node:fs";
import { open, stat } from "node:fs/promises";
import { S3Error, s3Error } from "../errors.ts";
import { type FolderLayout, isMissing } from "./layout.ts";
import { type ObjectInfo, describe } from "./sidecars.ts";

export async function head(layout: FolderLayout, key: string): Promise<ObjectInfo | undefined> {
  const file = layout.fileOf(key);
  let st: Stats;
  try {
    st = await stat(file);
  } catch (err) {
    if (isMissing(err)) return undefined;
    throw err;
  }
  if (!st.isFile()) return undefined;
  try {
    await layout.assertInside(file);
  } catch (err) {
    if (err instanceof S3Error && err.code === "NoSuchKey") return undefined;
    throw err;
  }
  return describe(layout, key, file, st);
}

/** An open file and its description, read from the same inode even if the key is replaced meanwhile. */
export async function openObject(layout: FolderLayout, key: string) {
  const file = layout.fileOf(key);
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
    await layout.assertInside(file);
    return { handle, info: await describe(layout, key, file, st) };
  } catch (err) {
    await handle.close();
    throw err;
  }
}
