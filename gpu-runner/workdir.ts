// Local work folders. Names come from this process and a counter, never from object keys, so a key
// such as `../../x.mp4` cannot point a write outside the folder. A runner removes what dead runners left,
// and ends what they left running there.
import { mkdir, mkdtemp, readdir, readlink, realpath, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { isProcessAlive } from "../shared/process.ts";

const RUN_DIR = /^run-(\d+)-/;

export type WorkRoot = { dir: string; jobDir(): Promise<string>; dispose(): Promise<void> };

/**
 * Ends processes still working in a dead runner's folders: the ffmpeg of a split that runner had paused
 * (chunked/segmenter.ts) would otherwise wait stopped forever. Only processes whose working folder is in
 * one of `dirs`, which only that runner started there; without /proc there is nothing to find.
 */
async function endLeftovers(dirs: string[]): Promise<void> {
  if (!dirs.length) return;
  const pids = (await readdir("/proc").catch(() => [] as string[])).filter((p) => /^\d+$/.test(p));
  for (const pid of pids) {
    const cwd = await readlink(`/proc/${pid}/cwd`).catch(() => undefined);
    if (!cwd || !dirs.some((d) => cwd === d || cwd.startsWith(d + path.sep))) continue;
    try {
      process.kill(Number(pid), "SIGKILL");
    } catch {
      // Gone meanwhile.
    }
  }
}

/** Removes run folders whose process is gone (killed, crashed), and what still runs in them; returns what it removed. */
export async function removeStale(base: string): Promise<string[]> {
  const entries = await readdir(base).catch(() => [] as string[]);
  const stale = entries.filter((e) => {
    const m = RUN_DIR.exec(e);
    return m !== null && Number(m[1]) !== process.pid && !isProcessAlive(Number(m[1]));
  });
  const real = await realpath(base).catch(() => base);
  await endLeftovers(stale.map((e) => path.join(real, e)));
  await Promise.all(stale.map((e) => rm(path.join(base, e), { recursive: true, force: true })));
  return stale;
}

/** `base` defaults to <tmpdir>/reelpress-runner; each runner process gets its own run-<pid>-… folder in it. */
export async function createWorkRoot(base = path.join(os.tmpdir(), "reelpress-runner")): Promise<WorkRoot & { removed: string[] }> {
  await mkdir(base, { recursive: true });
  const removed = await removeStale(base);
  const dir = await mkdtemp(path.join(base, `run-${process.pid}-`));
  let n = 0;
  return {
    dir,
    removed,
    async jobDir() {
      const d = path.join(dir, `job-${++n}`);
      await mkdir(d);
      return d;
    },
    dispose: () => rm(dir, { recursive: true, force: true }),
  };
}
