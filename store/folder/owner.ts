// One folder, one store: conditional writes are decided by this process's per-key locks, so a second store
// on the same folder (another `reelpress dev` on the same share from this machine) is refused while the first
// lives. The owner file names the process that holds the folder.
import { readFile, rm, writeFile } from "node:fs/promises";
import { hostname } from "node:os";
import type { FolderLayout } from "./layout.ts";

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

async function readOwner(layout: FolderLayout): Promise<{ pid?: number; host?: string }> {
  return JSON.parse(await readFile(layout.ownerFile, "utf8").catch(() => "{}"));
}

export async function takeFolder(layout: FolderLayout): Promise<void> {
  for (;;) {
    try {
      await writeFile(layout.ownerFile, JSON.stringify({ pid: process.pid, host: hostname() }), { flag: "wx" });
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw err;
    }
    const owner = await readOwner(layout);
    if (owner.pid && owner.host === hostname() && owner.pid !== process.pid && isAlive(owner.pid)) {
      throw new FolderTakenError(`Another store (pid ${owner.pid}) already serves ${layout.root}; stop it first, or serve another folder.`);
    }
    // Left by a process that is gone (or by one on another machine, which cannot be checked from here).
    await rm(layout.ownerFile, { force: true });
  }
}

/** Gives the folder up for another store, if this process holds it. */
export async function releaseFolder(layout: FolderLayout): Promise<void> {
  if ((await readOwner(layout)).pid === process.pid) await rm(layout.ownerFile, { force: true });
}
