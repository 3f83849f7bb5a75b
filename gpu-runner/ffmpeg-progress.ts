// ffmpeg's `-progress` stream: key=value lines, each block ending in `progress=continue|end`.
export type EncodeProgress = { outTimeSec: number; bytes: number; speed?: number };

/** Turns chunks of the stream into one update per block. */
export class ProgressParser {
  #partial = "";
  #block: Record<string, string> = {};

  push(chunk: string): EncodeProgress[] {
    const lines = (this.#partial + chunk).split("\n");
    this.#partial = lines.pop() ?? "";
    const out: EncodeProgress[] = [];
    for (const line of lines) {
      const eq = line.indexOf("=");
      if (eq < 0) continue;
      const key = line.slice(0, eq).trim();
      this.#block[key] = line.slice(eq + 1).trim();
      if (key !== "progress") continue;
      const us = Number(this.#block.out_time_us);
      const bytes = Number(this.#block.total_size);
      const speed = Number.parseFloat(this.#block.speed ?? "");
      if (Number.isFinite(us) && Number.isFinite(bytes)) out.push({ outTimeSec: Math.max(0, us / 1e6), bytes, ...(Number.isFinite(speed) ? { speed } : {}) });
      this.#block = {};
    }
    return out;
  }
}
