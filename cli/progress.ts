// One progress bar on a terminal line: done/total, speed over the last few seconds, and time left.
import { formatDuration } from "../shared/rules/format.ts";
import { formatBytes } from "./output.ts";

export type ProgressUnit = "bytes" | "items";
export type ProgressView = { done: number; total: number; perSec: number; unit: ProgressUnit; label?: string };

const SPEED_WINDOW_MS = 5000;
const REDRAW_MS = 100;

/** Pure: the bar's text for a terminal `width` columns wide. */
export function renderProgress(v: ProgressView, width: number): string {
  const amount = (n: number) => (v.unit === "bytes" ? formatBytes(n) : String(n));
  const fraction = v.total > 0 ? Math.min(1, v.done / v.total) : 1;
  const rate = v.unit === "bytes" ? formatBytes(v.perSec) : v.perSec.toFixed(v.perSec < 10 ? 1 : 0);
  const speed = v.perSec > 0 ? `${rate}/s` : "--/s";
  const eta = v.perSec > 0 ? `ETA ${formatDuration((v.total - v.done) / v.perSec)}` : "ETA --:--";
  const tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}%  ${amount(v.done)}/${amount(v.total)}  ${speed}  ${eta}`;
  const label = v.label ? `${v.label} ` : "";
  // One column short of the width, so the terminal never wraps the line.
  const room = width - 1 - tail.length - 2;
  const barWidth = Math.max(10, Math.min(40, room - label.length));
  const shownLabel = label.length > room - barWidth ? `${label.slice(0, Math.max(0, room - barWidth - 2))}… ` : label;
  const filled = Math.round(fraction * barWidth);
  return `${shownLabel}[${"█".repeat(filled)}${"░".repeat(barWidth - filled)}]${tail}`.slice(0, Math.max(0, width - 1));
}

/** Draws on a TTY stream only; elsewhere callers log events instead. */
export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #unit: ProgressUnit;
  readonly #total: number;
  #done = 0;
  #label: string | undefined;
  #samples: Array<{ at: number; done: number }> = [];
  #lastDraw = 0;
  #drawn = false;
  readonly #startedAt = Date.now();

  constructor(opts: { total: number; unit: ProgressUnit; label?: string; stream?: NodeJS.WriteStream }) {
    this.#stream = opts.stream ?? process.stderr;
    this.#unit = opts.unit;
    this.#total = opts.total;
    this.#label = opts.label;
    this.#samples.push({ at: this.#startedAt, done: 0 });
  }

  update(done: number, label?: string): void {
    this.#done = done;
    if (label !== undefined) this.#label = label;
    const now = Date.now();
    this.#samples.push({ at: now, done });
    while (this.#samples.length > 2 && now - this.#samples[0].at > SPEED_WINDOW_MS) this.#samples.shift();
    if (now - this.#lastDraw >= REDRAW_MS) this.#draw(now);
  }

  /** Prints a line above the bar without garbling it. */
  log(line: string): void {
    this.#clear();
    this.#stream.write(`${line}\n`);
    this.#draw(Date.now());
  }

  /** Draws the final state and leaves the cursor on a fresh line. */
  stop(): void {
    const now = Date.now();
    this.#samples.push({ at: now, done: this.#done });
    this.#draw(now, true);
    if (this.#drawn) this.#stream.write("\n");
    this.#drawn = false;
  }

  /** Speed over the last few seconds; at the end, over the whole run. */
  #perSec(final: boolean): number {
    const first = final ? { at: this.#startedAt, done: 0 } : this.#samples[0];
    const last = this.#samples[this.#samples.length - 1];
    const sec = (last.at - first.at) / 1000;
    return sec > (final ? 0 : 0.2) ? (last.done - first.done) / sec : 0;
  }

  #clear(): void {
    if (this.#drawn) this.#stream.write("\r\x1b[K");
    this.#drawn = false;
  }

  #draw(now: number, final = false): void {
    this.#lastDraw = now;
    const view = { done: this.#done, total: this.#total, perSec: this.#perSec(final), unit: this.#unit, label: this.#label };
    this.#stream.write(`\r${renderProgress(view, this.#stream.columns || 80)}\x1b[K`);
    this.#drawn = true;
  }
}
