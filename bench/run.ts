// `npm run bench`: runs every bench/*.bench.ts in turn (or those named on the command line).
import { readdir } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

const dir = import.meta.dirname;
/** Files run with a group's name besides those named after it: `npm run bench -- scale`. */
const GROUPS: Record<string, string[]> = { scale: ["startup"] };
const wanted = process.argv.slice(2).flatMap((w) => [w, ...(GROUPS[w] ?? [])]);
const files = (await readdir(dir)).filter((f) => f.endsWith(".bench.ts") && (wanted.length === 0 || wanted.some((w) => f.startsWith(w)))).sort();
for (const file of files) {
  console.log(`\n### ${file}\n`);
  const r = await execa(process.execPath, ["--disable-warning=ExperimentalWarning", path.join(dir, file)], { stdio: "inherit", reject: false });
  if (r.exitCode !== 0) process.exitCode = 1;
}
