// Event source for the embedded emulator, which has no bucket notifications: its in-process spy sees
// every object write (by any S3 client), and each one becomes an S3 event record on the ingest queue.
// A listing at start catches what was uploaded while reelpress was down.
import type { S3SpyEvent, SpyMessage } from "fauxqs";
import type { Clients } from "../../shared/clients.ts";
import type { Embedded } from "../../shared/embedded.ts";
import { errorMessage } from "../../shared/errors.ts";
import type { LogFn } from "../../shared/lambda-sqs.ts";
import { keyKind } from "../../shared/naming.ts";
import { reconcile } from "./reconcile.ts";
import { objectCreatedRecord, sendEventRecords } from "./send.ts";

export type EventSource = { stop(): Promise<void> };

const EVENT_NAMES: Partial<Record<S3SpyEvent["status"], string>> = {
  uploaded: "ObjectCreated:Put",
  copied: "ObjectCreated:Copy",
  renamed: "ObjectCreated:Put",
};

/** Writes are gathered this long, so a copy's "uploaded"+"copied" pair becomes one record. */
const FLUSH_MS = 250;

export async function startEmbeddedEvents(clients: Clients, embedded: Embedded, log: LogFn = () => undefined): Promise<EventSource> {
  const { bucket, backupPrefix } = clients.config;
  const spy = embedded.server.spy;
  const pending = new Map<string, string>();
  // The spy buffer holds past events too: those are the listing's job, never re-emitted from here.
  const seen = new WeakSet<SpyMessage>(spy.getAllMessages());
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let flushing: Promise<void> = Promise.resolve();

  const flush = () => {
    timer = undefined;
    const batch = [...pending];
    pending.clear();
    flushing = flushing
      .then(() => sendEventRecords(clients, batch.map(([key, name]) => objectCreatedRecord(bucket, { key }, name))))
      .then(
        () => batch.forEach(([key]) => log("events.object-created", { key })),
        (err) => {
          log("events.send-error", { error: errorMessage(err), count: batch.length });
          // Put them back (a newer write wins) and try again shortly.
          for (const [key, name] of batch) if (!pending.has(key)) pending.set(key, name);
          if (!stopped) timer ??= setTimeout(flush, 1000);
        },
      );
  };

  // Called synchronously inside the emulator's request handling: only note the key, never await here.
  const tap = (m: SpyMessage): boolean => {
    if (stopped || seen.has(m)) return false;
    seen.add(m);
    if (m.service !== "s3" || m.bucket !== bucket) return false;
    const name = EVENT_NAMES[m.status];
    if (!name || keyKind(m.key, backupPrefix) !== "video") return false;
    if (pending.get(m.key) !== EVENT_NAMES.copied) pending.set(m.key, name);
    timer ??= setTimeout(flush, FLUSH_MS);
    return false;
  };
  // A waiter that never matches sees every event; spy.clear() rejects it, so it signs up again.
  const listen = (): void => void spy.waitForMessage(tap).catch(() => !stopped && listen());
  listen();

  const found = await reconcile(clients);
  if (found > 0) log("events.reconciled", { count: found });

  return {
    async stop() {
      stopped = true;
      if (timer) {
        clearTimeout(timer);
        flush();
      }
      await flushing;
    },
  };
}
