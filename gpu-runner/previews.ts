// Previews of the videos no job encodes (skipped, or ignored as already compressed): every few minutes a
// runner with nothing to do makes the missing ones, a few at a time, from the manifest. Encoded videos get
// theirs in the encode's own pass (encode-args.ts).
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import type { Clients } from "../shared/io/clients.ts";
import { errorMessage } from "../shared/errors.ts";
import { listRecords, updateRecord } from "../shared/io/manifest.ts";
import { headObject, presignedGetUrl, uploadFile } from "../shared/io/objects.ts";
import { makePreview } from "../shared/media/preview.ts";
import { previewKeyFor } from "../shared/rules/naming.ts";
import type { ManifestRecord } from "../shared/schemas.ts";
import type { Log } from "../shared/log.ts";
import { networkArgs, uprightFilters } from "./encode-args.ts";

/** Previews made per sweep: light, so that new work is not kept waiting long. */
export const PREVIEWS_PER_SWEEP = 10;
/** How often an idle runner looks for missing previews (each look reads the manifest). */
export const PREVIEW_SWEEP_MS = 15 * 60_000;

/** Pure: a record whose video no job encodes and that has no preview yet. */
export function wantsPreview(r: ManifestRecord): boolean {
  return (r.state === "skipped" || r.state === "ignored") && !r.previewKey && r.media !== undefined;
}

/** Makes up to `limit` missing previews; returns the keys that got one. A video that fails is logged and left. */
export async function makeMissingPreviews(clients: Clients, log: Log, limit = PREVIEWS_PER_SWEEP): Promise<string[]> {
  const done: string[] = [];
  const dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-previews-"));
  try {
    for await (const record of listRecords(clients, clients.config.prefix)) {
      if (done.length >= limit) break;
      if (!wantsPreview(record)) continue;
      try {
        if (await previewOf(clients, record, path.join(dir, "preview.webm"))) done.push(record.key);
      } catch (err) {
        log("preview_failed", { key: record.key, error: errorMessage(err).split("\n")[0] });
      }
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
  if (done.length) log("previews_made", { count: done.length, keys: done });
  return done;
}

/** The preview of the version the record describes; false when the object changed or is too small for one. */
async function previewOf(clients: Clients, record: ManifestRecord, file: string): Promise<boolean> {
  const head = await headObject(clients, record.key);
  if (!head || head.etag !== record.etag || head.size !== record.size) return false;
  const url = await presignedGetUrl(clients, record.key, 3600);
  const media = record.media!;
  if (!(await makePreview(url, media, file, { inputOptions: networkArgs(url), upright: uprightFilters(media.video.rotation), stallSec: clients.config.probeTimeoutSec }))) return false;
  const previewKey = previewKeyFor(record.key);
  await uploadFile(clients, file, previewKey, { contentType: "video/webm" });
  // Only the version it was made from: a record rewritten meanwhile keeps its own state.
  const updated = await updateRecord(clients, record.key, (cur) => (cur && cur.etag === record.etag && cur.size === record.size ? { ...cur, previewKey } : undefined));
  return updated?.previewKey === previewKey;
}

/** Every `everyMs` while `idle()`, one sweep at a time; `stop` waits for a running one. 0 turns it off. */
export function previewSweep(clients: Clients, log: Log, everyMs: number, idle: () => boolean): { stop(): Promise<void> } {
  if (everyMs <= 0) return { stop: async () => undefined };
  let running: Promise<unknown> = Promise.resolve();
  let busy = false;
  const timer = setInterval(() => {
    if (busy || !idle()) return;
    busy = true;
    running = makeMissingPreviews(clients, log)
      .catch((err) => log("preview_failed", { error: errorMessage(err).split("\n")[0] }))
      .finally(() => (busy = false));
  }, everyMs);
  timer.unref();
  return {
    async stop() {
      clearInterval(timer);
      await running;
    },
  };
}
