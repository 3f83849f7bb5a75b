// In `dev`, the files waiting for the pipeline, by key, as the folder store's own writes tell it, with no
// listing and no queue read: a new video is `found` (its probe is next); each write of its manifest record
// is read once and moves it to `probed` or `planned`, or off the list once a runner claims it (the runners'
// own objects list what is working) or it ends compressed, skipped, failed or ignored.
import type { Clients } from "../io/clients.ts";
import { readRecord } from "../io/manifest.ts";
import { errorMessage } from "../errors.ts";
import { keyFromManifestKey, keyKind } from "../rules/naming.ts";
import { mapLimit } from "../pool.ts";
import type { Log } from "../log.ts";
import type { ManifestState } from "../schemas.ts";

export type QueuedFile = { key: string; state: "found" | "probed" | "planned"; since: string };
/** What the page shows: the oldest `files`, and how many there are in all. */
export type QueuedList = { files: QueuedFile[]; total: number };

/** Records written in this window are read together; a record rewritten within it is read once. */
const READ_MS = 500;

/** Pure: where a record's state puts its file; undefined takes it off the list. */
export function queuedState(state: ManifestState | undefined): QueuedFile["state"] | undefined {
  return state === "probed" || state === "planned" ? state : undefined;
}

export class QueueTracker {
  readonly #clients: Clients;
  readonly #log: Log;
  readonly #files = new Map<string, QueuedFile>();
  readonly #toRead = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #reading: Promise<void> = Promise.resolve();

  constructor(clients: Clients, log: Log) {
    this.#clients = clients;
    this.#log = log;
  }

  /** The store wrote `key`: a library video, or a manifest record (read shortly after). */
  written(key: string): void {
    const recordOf = keyFromManifestKey(key);
    if (recordOf !== undefined) {
      this.#toRead.add(recordOf);
      this.#timer ??= setTimeout(() => this.#readPending(), READ_MS);
    } else if (keyKind(key, this.#clients.config.backupPrefix) === "video" && !this.#files.has(key)) {
      this.#files.set(key, { key, state: "found", since: new Date().toISOString() });
    }
  }

  /** The store removed `key` (a video renamed or deleted, or its record). */
  removed(key: string): void {
    this.#files.delete(keyFromManifestKey(key) ?? key);
  }

  /** Oldest first: a Map keeps insertion order, and a file keeps its place while its state moves on. */
  list(limit: number): QueuedList {
    const files: QueuedFile[] = [];
    for (const f of this.#files.values()) {
      if (files.length >= limit) break;
      files.push(f);
    }
    return { files, total: this.#files.size };
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #readPending(): void {
    this.#timer = undefined;
    const keys = [...this.#toRead];
    this.#toRead.clear();
    this.#reading = this.#reading.then(() =>
      mapLimit(keys, 4, async (key) => {
        const state = queuedState((await readRecord(this.#clients, key))?.record.state);
        const known = this.#files.get(key);
        if (!state) this.#files.delete(key);
        else this.#files.set(key, { key, state, since: known?.since ?? new Date().toISOString() });
      }).then(
        () => undefined,
        (err) => this.#log("dashboard.queued-error", { error: errorMessage(err) }),
      ),
    );
  }
}
