// Marks of versions sent to the ingest queue and not yet probed: .reelpress/queued/<key>.json. Every sender
// (the start-up reconcile, the folder watcher, `scan`) claims a version's mark with a conditional write
// before it sends, so a restarted `dev` or two senders at once never queue one version twice. The probe
// removes the mark once the version has its manifest record, which then says the same for good.
//
// A crash between claim and send leaves a mark with no message behind it. Such a mark must not keep its
// version from ever being probed, so a mark counts only while a message could still stand behind it:
// - older than the ingest queue's retention, it cannot (SQS has dropped any message by then);
// - when the ingest queue was empty at a moment after the mark was written, nothing is left behind it
//   either (the embedded queues and LocalStack count exactly; AWS's counts are approximate, and `dev`
//   against AWS has no reconcile). A version whose probe kept failing (its message went to the
//   dead-letter queue) is tried again on such a start too.
import { text } from "node:stream/consumers";
import type { Clients } from "./clients.ts";
import { createJson, deleteIfUnchanged, getObject, isNotFound, replaceJson } from "./objects.ts";
import { queueAttribute, queueDepth } from "./queues.ts";
import { queuedMarkKeyFor } from "../rules/naming.ts";
import { QueuedMark } from "../schemas.ts";

export type Version = { key: string; size: number; etag: string };

/** SQS's default retention (4 days), when the queue does not say. */
const DEFAULT_RETENTION_SEC = 4 * 24 * 3600;

/** A mark is under 1 KiB; anything larger is not one, and is not read. */
const MAX_MARK_BYTES = 16 * 1024;

const bare = (etag: string) => etag.replace(/"/g, "");
const sameVersion = (mark: QueuedMark | undefined, v: { size?: number; etag?: string }) => mark !== undefined && mark.size === v.size && bare(mark.etag) === bare(v.etag ?? "");

/** The mark at `markKey` and its ETag; `value` is undefined when it is not a mark (anyone may have written it), so it counts for nothing. */
async function readMark(clients: Clients, markKey: string): Promise<{ value?: QueuedMark; etag: string } | undefined> {
  try {
    const obj = await getObject(clients, markKey);
    if (obj.size > MAX_MARK_BYTES) {
      obj.body.destroy();
      return { etag: obj.etag };
    }
    const body = await text(obj.body);
    let json: unknown;
    try {
      json = JSON.parse(body);
    } catch {
      json = undefined;
    }
    const parsed = QueuedMark.safeParse(json);
    return { value: parsed.success ? parsed.data : undefined, etag: obj.etag };
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
}

/**
 * Marks written before the returned moment stand for no message: the retention's start, or now when the
 * ingest queue holds nothing (visible or in flight). Asked once per reconcile, before it claims anything.
 */
export async function staleMarksBefore(clients: Clients, now = new Date()): Promise<Date> {
  let retention = DEFAULT_RETENTION_SEC;
  try {
    const url = await clients.queueUrl(clients.config.queues.ingest);
    const depth = await queueDepth(clients.sqs, url);
    if (depth.visible === 0 && depth.in_flight === 0) return now;
    retention = Number(await queueAttribute(clients.sqs, url, "MessageRetentionPeriod")) || DEFAULT_RETENTION_SEC;
  } catch {
    // The queue cannot be asked (its sends will fail and be tried again): only the default retention's rule holds.
  }
  return new Date(now.getTime() - retention * 1000);
}

/**
 * True when this caller may send `version`'s event: it created the mark, or replaced one of another
 * version or one written before `staleBefore`. False when a live mark says it is queued already (or
 * another sender claimed it in between).
 */
export async function claimQueued(clients: Clients, version: Version, staleBefore: Date, now = new Date()): Promise<boolean> {
  const markKey = queuedMarkKeyFor(version.key);
  const mark: QueuedMark = { key: version.key, size: version.size, etag: bare(version.etag), at: now.toISOString() };
  if (await createJson(clients, markKey, mark)) return true;
  const current = await readMark(clients, markKey);
  // Gone in between (probed and released): the manifest record now answers, and the caller checks it.
  if (!current) return createJson(clients, markKey, mark);
  const live = sameVersion(current.value, version) && Date.parse(current.value!.at) >= staleBefore.getTime();
  return !live && replaceJson(clients, markKey, mark, current.etag);
}

/** Removes the mark of this version (a newer version's mark stays): its record now says it was seen. */
export async function releaseQueued(clients: Clients, key: string, version: { size?: number; etag?: string }): Promise<void> {
  const markKey = queuedMarkKeyFor(key);
  const current = await readMark(clients, markKey);
  if (current && sameVersion(current.value, version)) await deleteIfUnchanged(clients, markKey, current.etag);
}
