// Settings from environment variables: one reader per kind, each failing with the same one sentence
// that names the variable. Unset or blank means the default.
import { UserError } from "./errors.ts";

type Env = Record<string, string | undefined>;

/** The one error a bad setting gives: `Bad setting NAME = "value": must be ….` */
export function badSetting(name: string, value: unknown, must: string): UserError {
  return new UserError(`Bad setting ${name} = ${JSON.stringify(value)}: ${must.replace(/\.$/, "")}.`);
}

/** The trimmed value, or undefined when unset or blank. */
export function textSetting(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

export type NumberRule = {
  fallback: number;
  /** Shown in the error: "seconds", "minutes". */
  unit?: string;
  integer?: boolean;
  /** Greater than 0. */
  positive?: boolean;
  min?: number;
  max?: number;
  /** Said after the rule in the error, such as "(0 turns it off)". */
  note?: string;
};

function numberRuleText(r: NumberRule): string {
  const kind = `${r.positive ? "positive " : ""}${r.integer ? "whole number" : "number"}${r.unit ? ` of ${r.unit}` : ""}`;
  const range = r.min !== undefined && r.max !== undefined ? ` from ${r.min} to ${r.max}` : r.min !== undefined ? ` ≥ ${r.min}` : r.max !== undefined ? ` ≤ ${r.max}` : "";
  return `must be a ${kind}${range}${r.note ? ` ${r.note}` : ""}`;
}

export function numberSetting(env: Env, name: string, rule: NumberRule): number {
  const raw = textSetting(env, name);
  if (raw === undefined) return rule.fallback;
  const n = Number(raw);
  const ok =
    Number.isFinite(n) &&
    (!rule.integer || Number.isInteger(n)) &&
    (!rule.positive || n > 0) &&
    (rule.min === undefined || n >= rule.min) &&
    (rule.max === undefined || n <= rule.max);
  if (!ok) throw badSetting(name, env[name], numberRuleText(rule));
  return n;
}

/** A number of `unit` (seconds or minutes) in the environment, as milliseconds. */
export function durationMsSetting(env: Env, name: string, rule: Omit<NumberRule, "unit" | "integer"> & { unit: "seconds" | "minutes" }): number {
  const n = numberSetting(env, name, rule);
  return Math.round(n * (rule.unit === "minutes" ? 60_000 : 1000));
}

export function enumSetting<T extends string>(env: Env, name: string, values: readonly T[], fallback: T, must = `must be ${values.slice(0, -1).join(", ")} or ${values[values.length - 1]}`): T {
  const raw = textSetting(env, name);
  if (raw === undefined) return fallback;
  if (!(values as readonly string[]).includes(raw)) throw badSetting(name, env[name], must);
  return raw as T;
}

/** `true` or `false` (also `1` / `0`, any case); unset or blank is `fallback`. */
export function booleanSetting(env: Env, name: string, fallback: boolean): boolean {
  const raw = textSetting(env, name)?.toLowerCase();
  if (raw === undefined) return fallback;
  if (raw === "true" || raw === "1") return true;
  if (raw === "false" || raw === "0") return false;
  throw badSetting(name, env[name], "must be true or false");
}
