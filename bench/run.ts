// `npm run bench`: runs every bench/*.bench.ts in turn (or those named on the command line; the scale
// group only when named).
import { readdir } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

const dir = import.meta.dirname;
const wanted = process.argv.slice(2);
/** Groups that run only when named (`npm run bench -- scale`): they take many minutes. */
const ON_REQUEST = ["scale"];
const picked = (f: string) => (wanted.length === 0 ? !ON_REQUEST.some((g) => f.startsWith(`${g}.`)) : wanted.some((w) => f.startsWith(w)));
const files = (await readdir(dir)).filter((f) => f.endsWith(".bench.ts") && picked(f)).sort();
for (const file of files) {
  console.log(`\n### ${file}\n`);
  const r = await execa(process.execPath, ["--disable-warning=ExperimentalWarning", path.join(dir, file)], { stdio: "inherit", reject: false });
  if (r.exitCode !== 0) process.exitCode = 1;
}
