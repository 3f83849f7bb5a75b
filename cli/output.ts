// Terminal conventions: colour only on a TTY without NO_COLOR; JSON lines when not a TTY.
import { createInterface } from "node:readline/promises";

const colorOn = () => process.stdout.isTTY === true && !("NO_COLOR" in process.env) && process.env.TERM !== "dumb";

const wrap = (code: number) => (s: string) => (colorOn() ? `\x1b[${code}m${s}\x1b[0m` : s);
export const green = wrap(32);
export const red = wrap(31);
export const yellow = wrap(33);
export const dim = wrap(2);
export const bold = wrap(1);

export { formatBytes } from "../shared/rules/format.ts";

/** A log line: human text on a TTY, one JSON object per line otherwise (for journald and friends). */
export function logEvent(event: string, fields: Record<string, unknown> = {}, text?: string): void {
  if (process.stderr.isTTY) {
    process.stderr.write(`${text ?? `${event} ${Object.entries(fields).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(" ")}`}\n`);
  } else {
    process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), event, ...fields })}\n`);
  }
}

/** A y/N question on the terminal; anything but "y" or "yes" is no. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
