// On a terminal, one line per running job: its stage, the whole job's percentage and ETA (one pure
// function gives both: shared/rules/job-progress.ts), elapsed time and speed. Only built when stderr is a
// TTY; elsewhere the runner logs JSON events and no bar is computed at all.
import { formatDuration } from "../shared/rules/format.ts";
import type { Stage } from "../shared/rules/job-progress.ts";

export type JobView = { label: string; stage: Stage; percent: number; etaSec?: number; startedAt: number; speed?: number };

const REDRAW_MS = 200;
const BAR = 24;

/** Pure: one job's line, at most `width` columns; an ETA not known yet shows as "--:--". */
export function renderJobLine(v: JobView, now: number, width: number): string {
  const filled = Math.round((v.percent / 100) * BAR);
  const tail = ` ${v.stage} ${String(v.percent).padStart(3)}%  elapsed ${formatDuration((now - v.startedAt) / 1000)}  ETA ${formatDuration(v.etaSec ?? Number.NaN)}  ${v.speed ? `${v.speed.toFixed(1)}x` : ""}`;
  const room = Math.max(8, width - tail.length - BAR - 4);
  const label = v.label.length > room ? `…${v.label.slice(-(room - 1))}` : v.label;
  return `${label} [${"█".repeat(filled)}${"░".repeat(BAR - filled)}]${tail}`.slice(0, Math.max(0, width - 1));
}

export class ProgressBoard {
  readonly #stream: NodeJS.WriteStream;
  readonly #jobs = new Map<string, JobView>();
  #drawnLines = 0;
  #lastDraw = 0;

  constructor(stream: NodeJS.WriteStream = process.stderr) {
    this.#stream = stream;
  }

  update(id: string, view: Omit<JobView, "startedAt">): void {
    this.#jobs.set(id, { startedAt: this.#jobs.get(id)?.startedAt ?? Date.now(), ...view });
    const now = Date.now();
    if (now - this.#lastDraw >= REDRAW_MS) this.#draw(now);
  }

  remove(id: string): void {
    if (this.#jobs.delete(id)) this.#draw(Date.now());
  }

  /** Writes log output above the bars without garbling them. */
  around(write: () => void): void {
    this.#clear();
    write();
    this.#draw(Date.now());
  }

  #clear(): void {
    if (this.#drawnLines > 0) this.#stream.write(`\x1b[${this.#drawnLines}A\x1b[J`);
    this.#drawnLines = 0;
  }

  #draw(now: number): void {
    this.#lastDraw = now;
    this.#clear();
    const width = this.#stream.columns || 100;
    for (const v of this.#jobs.values()) this.#stream.write(`${renderJobLine(v, now, width)}\n`);
    this.#drawnLines = this.#jobs.size;
  }
}
