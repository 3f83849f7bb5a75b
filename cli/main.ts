// `reelpress <command>`: finds the command module, parses its flags, and turns errors into one sentence.
import { readdirSync } from "node:fs";
import { parseArgs } from "node:util";
import { COMMON_OPTIONS, type Command } from "./command.ts";
import { UsageError, UserError, errorMessage } from "../shared/errors.ts";
import { bold, red } from "./output.ts";

const commandsDir = new URL("./commands/", import.meta.url);
const names = readdirSync(commandsDir)
  .filter((f) => f.endsWith(".ts"))
  .map((f) => f.slice(0, -3))
  .sort();

async function load(name: string): Promise<Command> {
  return (await import(new URL(`${name}.ts`, commandsDir).href)).default as Command;
}

function optionHelp(cmd: Command): string {
  return Object.entries({ ...cmd.options, ...COMMON_OPTIONS })
    .map(([name, o]) => `  --${name}${o.type === "string" ? " VALUE" : ""}${o.short ? `, -${o.short}` : ""}`)
    .join("\n");
}

async function mainHelp(): Promise<string> {
  const rows = await Promise.all(names.map(async (n) => `  ${n.padEnd(9)} ${(await load(n)).summary}`));
  return `${bold("reelpress")}: shrink and de-duplicate a video library in object storage.\n\nUsage: reelpress <command> [options]\n\nCommands:\n${rows.join("\n")}\n\nRun 'reelpress <command> --help' for a command's options and examples.`;
}

function commandHelp(name: string, cmd: Command): string {
  return `Usage: reelpress ${name} ${cmd.usage}\n\n${cmd.summary}\n\nOptions:\n${optionHelp(cmd)}\n\nExamples:\n${cmd.examples.map((e) => `  ${e}`).join("\n")}`;
}

async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === "--help" || name === "-h" || name === "help") {
    console.log(await mainHelp());
    return name ? 0 : 2;
  }
  if (!names.includes(name)) throw new UsageError(`Unknown command '${name}'; run 'reelpress --help' for the list.`);
  const cmd = await load(name);
  let parsed;
  try {
    parsed = parseArgs({ args: rest, options: { ...COMMON_OPTIONS, ...cmd.options }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${errorMessage(err).split(/\. |\n/)[0].replace(/\.$/, "")}; run 'reelpress ${name} --help'.`);
  }
  if (parsed.values.help) {
    console.log(commandHelp(name, cmd));
    return 0;
  }
  return (await cmd.run(parsed.values, parsed.positionals)) ?? 0;
}

const verbose = process.argv.includes("--verbose");
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (verbose && err instanceof Error) console.error(err.stack);
  const message = err instanceof UserError ? err.message : `reelpress failed: ${errorMessage(err)}`;
  console.error(red(message.split("\n")[0]));
  process.exitCode = err instanceof UserError ? err.exitCode : 1;
}
