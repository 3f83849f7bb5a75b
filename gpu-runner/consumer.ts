// A queue worker in a few named steps (after bbc/sqs-consumer): receive, handle with a heartbeat that
// keeps the message invisible, then delete it or hand it back. Every outcome is an event, so callers
// log and measure without touching the loop.
import { EventEmitter } from "node:events";
import { setTimeout as sleep } from "node:timers/promises";
import type { SQSClient } from "@aws-sdk/client-sqs";
import { errorMessage } from "../shared/errors.ts";
import { type Message, changeVisibility, deleteMessage, queueDepth, receiveMessages } from "../shared/io/queues.ts";

/** What a handler decides: delete the message, or make it visible again after `retryAfterSec`. */
export type HandlerResult = { kind: "done" } | { kind: "retry"; retryAfterSec: number };

export type ConsumerOptions = {
  sqs: SQSClient;
  queueUrl: string;
  concurrency: number;
  /** How long a received message stays invisible; the heartbeat renews it every third of that. */
  visibilitySec: number;
  /** Stop once the queue has nothing visible or in flight and no job runs here. */
  untilDrained?: boolean;
  /** After a handler throws, the message comes back after this many seconds. */
  retryAfterSec: number;
  /**
   * An encode window: how long until it opens (`pausedMs` > 0: take nothing new) or, while open, how
   * long it stays open (`openMs`, which bounds the long poll). Absent: always open.
   */
  window?(): { pausedMs: number; openMs: number };
  handle(message: Message, signal: AbortSignal): Promise<HandlerResult>;
};

export type ConsumerEvents = {
  received: [Message];
  done: [Message];
  retry: [Message, number];
  released: [Message];
  handler_error: [Message, unknown];
  /** Queue-level trouble (receive, heartbeat, delete): the loop goes on. */
  queue_error: [unknown];
  stopped: [];
};

/**
 * "Visible again at once" is 1 s, not 0: the embedded emulator (fauxqs 2.4 with a data folder) fails
 * ChangeMessageVisibility(0) half way and drops the message until restart.
 */
const RELEASE_SEC = 1;
/** A paused consumer looks at its clock this often: cheap, and a moved clock is noticed at once. */
const PAUSE_CHECK_MS = 1000;

export function receiveCountOf(message: Message): number {
  return Number(message.Attributes?.ApproximateReceiveCount ?? "1");
}

export class QueueConsumer extends EventEmitter<ConsumerEvents> {
  readonly #opts: ConsumerOptions;
  readonly #active = new Map<string, { controller: AbortController; done: Promise<void> }>();
  readonly #polling = new AbortController();
  #stopping = false;
  #loop: Promise<void> | undefined;

  constructor(opts: ConsumerOptions) {
    super();
    if (!Number.isInteger(opts.concurrency) || opts.concurrency < 1) throw new Error(`concurrency must be a whole number ≥ 1, not ${opts.concurrency}`);
    if (!(opts.visibilitySec >= 1)) throw new Error(`visibilitySec must be ≥ 1, not ${opts.visibilitySec}`);
    this.#opts = opts;
  }

  get active(): number {
    return this.#active.size;
  }

  start(): this {
    this.#loop ??= this.#run().finally(() => this.emit("stopped"));
    return this;
  }

  /** Resolves when the loop has ended (after stop(), or once drained in untilDrained mode). */
  finished(): Promise<void> {
    return this.#loop ?? Promise.resolve();
  }

  /** Stops taking messages, aborts running handlers and makes their messages visible again. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#polling.abort();
    for (const job of this.#active.values()) job.controller.abort();
    await this.finished();
  }

  async #run(): Promise<void> {
    while (!this.#stopping) {
      // Outside its window it takes nothing new; jobs already running go on to the end.
      const window = this.#opts.window?.();
      if (window && window.pausedMs > 0) {
        await sleep(Math.min(window.pausedMs, PAUSE_CHECK_MS), undefined, { signal: this.#polling.signal }).catch(() => undefined);
        continue;
      }
      const free = this.#opts.concurrency - this.#active.size;
      if (free === 0) {
        await Promise.race([...this.#active.values()].map((j) => j.done));
        continue;
      }
      const messages = await this.#receive(Math.min(10, free), window?.openMs);
      // The window closed during the long poll: what came in goes back untouched.
      if (messages.length && (this.#opts.window?.().pausedMs ?? 0) > 0) {
        await Promise.all(messages.map((m) => this.#setVisibility(m, RELEASE_SEC).then(() => this.emit("released", m), (err) => this.emit("queue_error", err))));
        continue;
      }
      for (const m of messages) this.#start(m);
      if (messages.length === 0 && this.#opts.untilDrained && this.#active.size === 0 && (await this.#drained())) break;
    }
    await Promise.all([...this.#active.values()].map((j) => j.done));
  }

  async #receive(max: number, openMs = Infinity): Promise<Message[]> {
    try {
      return await receiveMessages(this.#opts.sqs, this.#opts.queueUrl, {
        max,
        // Draining mode asks often whether the queue is empty; otherwise a long poll.
        // A long poll never reaches past the end of the encode window.
        waitSec: Math.min(this.#opts.untilDrained ? 1 : 20, Math.floor(openMs / 1000)),
        visibilitySec: this.#opts.visibilitySec,
        attributes: "ApproximateReceiveCount",
        signal: this.#polling.signal,
      });
    } catch (err) {
      if (this.#stopping) return [];
      this.emit("queue_error", err);
      await new Promise((r) => setTimeout(r, 1000));
      return [];
    }
  }

  async #drained(): Promise<boolean> {
    try {
      const depth = await queueDepth(this.#opts.sqs, this.#opts.queueUrl);
      return depth.visible + depth.in_flight === 0;
    } catch (err) {
      this.emit("queue_error", err);
      return false;
    }
  }

  #start(message: Message): void {
    const controller = new AbortController();
    const id = message.MessageId ?? message.ReceiptHandle!;
    const done = this.#handle(message, controller.signal).finally(() => this.#active.delete(id));
    this.#active.set(id, { controller, done });
  }

  async #handle(message: Message, signal: AbortSignal): Promise<void> {
    this.emit("received", message);
    const heartbeat = setInterval(() => {
      this.#setVisibility(message, this.#opts.visibilitySec).catch((err) => this.emit("queue_error", err));
    }, (this.#opts.visibilitySec * 1000) / 3);
    let result: HandlerResult | "released";
    try {
      result = await this.#opts.handle(message, signal);
    } catch (err) {
      // Aborted by stop(): the message goes straight back to the queue.
      if (signal.aborted) result = "released";
      else {
        this.emit("handler_error", message, err);
        result = { kind: "retry", retryAfterSec: this.#opts.retryAfterSec };
      }
    } finally {
      clearInterval(heartbeat);
    }
    try {
      if (result === "released") {
        await this.#setVisibility(message, RELEASE_SEC);
        this.emit("released", message);
      } else if (result.kind === "done") {
        await deleteMessage(this.#opts.sqs, this.#opts.queueUrl, message.ReceiptHandle!);
        this.emit("done", message);
      } else {
        await this.#setVisibility(message, Math.max(RELEASE_SEC, result.retryAfterSec));
        this.emit("retry", message, result.retryAfterSec);
      }
    } catch (err) {
      this.emit("queue_error", new Error(`could not settle message ${message.MessageId}: ${errorMessage(err)}`));
    }
  }

  #setVisibility(message: Message, seconds: number) {
    return changeVisibility(this.#opts.sqs, this.#opts.queueUrl, message.ReceiptHandle!, seconds);
  }
}
