// What every `reelpress <command>` module exports.
import type { ParseArgsConfig } from "node:util";

export type Options = NonNullable<ParseArgsConfig["options"]>;
export type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export type Command = {
  summary: string;
  /** Usage line after `reelpress <name>`, e.g. "PATH… [--prefix P]". */
  usage: string;
  options: Options;
  examples: string[];
  /** Returns the exit status (0 when it simply resolves). */
  run(values: Values, positionals: string[]): Promise<number | void>;
};

/** Options every command understands. */
export const COMMON_OPTIONS: Options = {
  help: { type: "boolean", short: "h" },
  verbose: { type: "boolean" },
  bucket: { type: "string" },
  endpoint: { type: "string" },
  region: { type: "string" },
};
