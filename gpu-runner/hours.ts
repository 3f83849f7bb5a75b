// Pure: encode windows (REELPRESS_RUNNER_HOURS, e.g. "22-07", local time). A runner takes jobs only
// inside its window; a job running when it closes finishes.
import { badSetting } from "../shared/settings.ts";

/** Minutes after local midnight; `end` ≤ `start` means the window runs over midnight. */
export type Hours = { start: number; end: number; text: string };

const TIME = /^([01]?\d|2[0-4])(?::([0-5]\d))?$/;

function minutesOf(part: string): number | undefined {
  const m = TIME.exec(part.trim());
  if (!m) return undefined;
  const minutes = Number(m[1]) * 60 + Number(m[2] ?? 0);
  return minutes <= 24 * 60 ? minutes : undefined;
}

/** "22-07", "9-17" or "22:30-06:15" → Hours; empty → undefined (always open). */
export function parseHours(value: string | undefined): Hours | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  const [a, b, ...rest] = value.split("-");
  const start = minutesOf(a ?? "");
  const end = b === undefined ? undefined : minutesOf(b);
  if (start === undefined || end === undefined || rest.length || start % 1440 === end % 1440) {
    throw badSetting("REELPRESS_RUNNER_HOURS", value, "must be START-END in local time, such as 22-07 or 22:30-06:00, with different START and END (leave it unset for all day)");
  }
  return { start: start % 1440, end: end % 1440, text: value.trim() };
}

function minuteOfDay(now: Date): number {
  return now.getHours() * 60 + now.getMinutes() + now.getSeconds() / 60 + now.getMilliseconds() / 60_000;
}

export function isOpen(hours: Hours, now: Date): boolean {
  const m = minuteOfDay(now);
  return hours.start < hours.end ? m >= hours.start && m < hours.end : m >= hours.start || m < hours.end;
}

/** When the window next opens: `now` itself when it is open. */
export function nextOpening(hours: Hours, now: Date): Date {
  if (isOpen(hours, now)) return now;
  const at = new Date(now);
  at.setHours(Math.floor(hours.start / 60), hours.start % 60, 0, 0);
  // setDate keeps local time across a DST change, where adding 24 h would not.
  if (at <= now) at.setDate(at.getDate() + 1);
  return at;
}

/** When the window that is open at `now` closes (undefined behaviour when it is closed: check isOpen). */
export function closing(hours: Hours, now: Date): Date {
  const at = new Date(now);
  at.setHours(Math.floor(hours.end / 60), hours.end % 60, 0, 0);
  if (at <= now) at.setDate(at.getDate() + 1);
  return at;
}
