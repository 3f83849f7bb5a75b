// Media processes are bounded by lack of progress, not by wall time: a busy machine slows a healthy file
// down but is never a verdict on it. A process that for `stallSec` neither gets CPU time nor reads a byte
// is stuck; that is transient (a store that stopped answering, say), and retried.
import { readFile } from "node:fs/promises";
import os from "node:os";
import { execa, type Options } from "execa";

/** A media process made no progress for its allowed time: worth a retry, never a verdict on the file. */
export class MediaStalledError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "MediaStalledError";
  }
}

/** What ffmpeg and ffprobe say when the store, not the file, failed them: a reason to try again later. */
const STORE_FAILED = /Connection timed out|Connection refused|Connection reset|Network is unreachable|Server returned 5\d\d|Input\/output error/i;

/** Throws MediaStalledError when a failed media process failed for its store, not its file. */
export function throwIfStoreFailed(stderr: unknown, what: string): void {
  const text = Buffer.isBuffer(stderr) || stderr instanceof Uint8Array ? Buffer.from(stderr).toString() : String(stderr ?? "");
  const m = STORE_FAILED.exec(text);
  if (m) throw new MediaStalledError(`${what}: the store failed (${m[0]})`);
}

/**
 * CPU time (ns, from schedstat) and bytes read from files so far by a process; undefined where /proc
 * cannot tell. Reading from a socket costs CPU time too, so a slow but steady store counts as progress;
 * a store that sends nothing is ffmpeg's own `-rw_timeout`, reported as a store failure.
 */
async function progressOf(pid: number): Promise<string | undefined> {
  try {
    const [sched, io] = await Promise.all([readFile(`/proc/${pid}/schedstat`, "utf8"), readFile(`/proc/${pid}/io`, "utf8").catch(() => "")]);
    return `${sched.split(" ")[0]}:${/rchar: (\d+)/.exec(io)?.[1] ?? ""}`;
  } catch {
    return undefined;
  }
}

/** However steady, a media process that runs this many times its allowance is stuck in a loop. */
const BACKSTOP = 20;

/** A counting semaphore: at most `n` holders at once, the rest wait in order. */
class Slots {
  private free: number;
  private readonly waiting: Array<() => void> = [];
  constructor(n: number) {
    this.free = n;
  }
  async acquire(): Promise<() => void> {
    if (this.free > 0) this.free--;
    else await new Promise<void>((resolve) => this.waiting.push(resolve));
    return () => {
      const next = this.waiting.shift();
      if (next) next();
      else this.free++;
    };
  }
}

/** Media processes of this process at once: as many as the machine has cores, so probes never starve each other. */
const slots = new Slots(Math.max(1, os.availableParallelism()));

/**
 * Runs a media process (never rejecting on its exit status) in one of the machine's slots. It is killed
 * only when it stalls: `stalled` in the result. Time spent waiting for a slot does not count.
 */
export async function runMedia<O extends Options>(file: string, args: string[], opts: O & { stallSec: number }) {
  const release = await slots.acquire();
  try {
    const { stallSec, ...options } = opts;
    const child = execa(file, args, { ...(options as unknown as O), reject: false as const });
    let stalled = false;
    let last: string | undefined;
    const started = Date.now();
    let since = started;
    const timer = setInterval(() => {
      void (async () => {
        const now = child.pid === undefined ? undefined : await progressOf(child.pid);
        if (now !== undefined && now !== last && Date.now() - started < BACKSTOP * stallSec * 1000) {
          last = now;
          since = Date.now();
        } else if (Date.now() - since > stallSec * 1000 && !stalled) {
          stalled = true;
          child.kill("SIGKILL");
        }
      })();
    }, Math.min(1000, stallSec * 250));
    try {
      const result = await child;
      return Object.assign(result, { stalled });
    } finally {
      clearInterval(timer);
    }
  } finally {
    release();
  }
}
