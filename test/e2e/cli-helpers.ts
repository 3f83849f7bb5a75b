// Helpers the cli-* end-to-end tests share: a real terminal for the CLI, and checks of its conventions.
import { execa } from "execa";
import { expect } from "vitest";
import { REELPRESS, type CliResult } from "../kit/cli.ts";

/** util-linux `script` gives the CLI a real pseudo-terminal, as a person at a keyboard would. */
export const hasScript = await execa("script", ["--version"], { reject: false }).then((r) => r.exitCode === 0, () => false);

const shellQuote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/** Runs `reelpress args…` on a pseudo-terminal; stdout and stderr arrive mixed, as on a screen. */
export async function reelpressInTty(args: string[], env: NodeJS.ProcessEnv): Promise<{ exitCode: number; screen: string }> {
  const line = [REELPRESS, ...args].map(shellQuote).join(" ");
  const r = await execa("script", ["-qec", line, "/dev/null"], { env: { ...env, SHELL: "/bin/sh", COLUMNS: "100" }, reject: false, timeout: 120_000 });
  return { exitCode: r.exitCode ?? 1, screen: String(r.stdout) };
}

export const SGR = /\x1b\[\d+(;\d+)*m/;

/** Every non-empty line parses as JSON: what log shippers get when stderr is not a terminal. */
export function jsonLines(text: string): Array<Record<string, unknown>> {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** A failure reads as one sentence on stderr: no stack trace, nothing on stdout. */
export function expectOneLineError(r: CliResult, exitCode: number, matching: RegExp): void {
  expect(r.exitCode, r.stderr).toBe(exitCode);
  expect(r.stdout).toBe("");
  const lines = r.stderr.trim().split("\n");
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(matching);
  expect(r.stderr).not.toMatch(/\n\s+at |Error:/);
}

/** `--help` exits 0 and shows the usage line, the options and at least one example. */
export function expectHelp(r: CliResult, command: string): void {
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toMatch(new RegExp(`^Usage: reelpress ${command} `));
  expect(r.stdout).toContain("Options:");
  expect(r.stdout).toMatch(new RegExp(`Examples:\\n  reelpress ${command}`));
}
