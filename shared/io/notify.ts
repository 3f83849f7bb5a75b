// REELPRESS_NOTIFY_URL: a JSON POST when a file ends `failed`, when the library has nothing left to
// do, when a new dedup report has bytes to reclaim, and when purgeable backups pass a threshold. `text` (Slack) and `content` (Discord) carry
// the sentence; the other fields are for programs. Delivery retries with back-off in the background:
// callers never wait for it, so a slow or dead receiver never holds up a job.
import { z } from "zod";
import { errorMessage } from "../errors.ts";
import { badSetting, textSetting } from "../settings.ts";
import { formatBytes } from "../rules/format.ts";
import type { Log } from "../log.ts";

export type NotifyEvent =
  | { event: "file_failed"; bucket: string; key: string; reason: string; error?: string; stage: "probe" | "encode" }
  | {
    event: "library_done"; bucket: string; prefix: string; compressed: number; skipped: number; failed: number; saved_bytes: number;
    /** Saved is not freed while backups hold the originals: what the bucket holds now. */
    disk_bytes: number; backup_bytes: number; reclaimable_bytes: number;
  }
  | { event: "backups_reclaimable"; bucket: string; backup_prefix: string; reclaimable_bytes: number; backup_bytes: number; disk_bytes: number; threshold_bytes: number }
  | { event: "report_ready"; bucket: string; report_key: string; groups: number; losers: number; bytes_reclaimable: number };

/** Pure: the POST body for an event. */
export function notificationBody(e: NotifyEvent): Record<string, unknown> {
  const text = (() => {
    switch (e.event) {
      case "file_failed":
        return `reelpress: s3://${e.bucket}/${e.key} failed: ${e.reason}`;
      case "library_done":
        return `reelpress: s3://${e.bucket}/${e.prefix} has nothing left to do: ${e.compressed} compressed, ${e.skipped} skipped, ${e.failed} failed; ${formatBytes(e.saved_bytes)} saved; ${formatBytes(e.disk_bytes)} on disk, ${formatBytes(e.backup_bytes)} of it in backups (${formatBytes(e.reclaimable_bytes)} a purge would free)`;
      case "backups_reclaimable":
        return `reelpress: backups in s3://${e.bucket}/${e.backup_prefix} hold ${formatBytes(e.reclaimable_bytes)} that a purge would free (over ${formatBytes(e.threshold_bytes)}); 'reelpress purge --older-than DAYS --dry-run' lists them`;
      case "report_ready":
        return `reelpress: new duplicate report for s3://${e.bucket}/: ${e.groups} group(s), ${e.losers} file(s) to remove, ${formatBytes(e.bytes_reclaimable)} to reclaim ('reelpress apply latest --dry-run' lists them)`;
    }
  })();
  return { text, content: text, ...e, time: new Date().toISOString() };
}

export type Notifier = {
  /** False when no URL is set: sending does nothing, and nothing need be watched for it. */
  enabled: boolean;
  /** Starts delivery and returns at once; the promise (never rejected) settles when it is done. */
  send(e: NotifyEvent): Promise<void>;
  /** Resolves when every delivery started so far has settled (tests; the end of a Lambda batch). */
  idle(): Promise<void>;
};

export type NotifierOptions = { log: Log; attempts?: number; baseDelayMs?: number; timeoutMs?: number };

const NONE: Notifier = { enabled: false, send: async () => {}, idle: async () => {} };

/** Worth trying again: the receiver is down, overloaded or rate-limiting; other 4xx never get better. */
const retryable = (status: number) => status === 408 || status === 429 || status >= 500;

export function makeNotifier(url: string | undefined, opts: NotifierOptions): Notifier {
  if (!url) return NONE;
  const { log, attempts = 6, baseDelayMs = 1000, timeoutMs = 10_000 } = opts;
  const pending = new Set<Promise<void>>();
  const deliver = async (e: NotifyEvent) => {
    const body = JSON.stringify(notificationBody(e));
    for (let attempt = 1; ; attempt++) {
      let why: string;
      let again = true;
      try {
        const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body, signal: AbortSignal.timeout(timeoutMs) });
        await res.body?.cancel();
        if (res.ok) return;
        why = `HTTP ${res.status}`;
        again = retryable(res.status);
      } catch (err) {
        why = errorMessage(err);
      }
      if (!again || attempt >= attempts) {
        log("notify.failed", { notification: e.event, attempts: attempt, error: why });
        return;
      }
      // 1 s, 2 s, 4 s … with jitter, so many senders do not retry in step.
      await new Promise((r) => setTimeout(r, baseDelayMs * 2 ** (attempt - 1) * (0.75 + Math.random() / 2)));
    }
  };
  return {
    enabled: true,
    send(e) {
      const p = deliver(e).finally(() => pending.delete(p));
      pending.add(p);
      return p;
    },
    async idle() {
      await Promise.all([...pending]);
    },
  };
}

const NotifyUrl = z.url({ protocol: /^https?$/ });

/**
 * For a Lambda's exported handler: the instance freezes once the handler returns, which would stall a
 * delivery still under way, so the invocation ends when its deliveries have settled.
 */
export function settlingDeliveries<E, R>(notifier: Notifier, handler: (event: E) => Promise<R>): (event: E) => Promise<R> {
  return async (event) => {
    try {
      return await handler(event);
    } finally {
      await notifier.idle();
    }
  };
}

/** A REELPRESS_NOTIFY_URL value, or one sentence saying what is wrong with it (also checked at deploy). */
export function checkNotifyUrl(url: string): string {
  if (!NotifyUrl.safeParse(url).success) throw badSetting("REELPRESS_NOTIFY_URL", url, "must be an http(s) URL, such as a Slack or Discord webhook");
  return url;
}

/** The notifier REELPRESS_NOTIFY_URL asks for (none when unset); a bad URL stops with one sentence. */
export function notifierFromEnv(env: NodeJS.ProcessEnv, log: Log): Notifier {
  const url = textSetting(env, "REELPRESS_NOTIFY_URL");
  return url ? makeNotifier(checkNotifyUrl(url), { log }) : NONE;
}
