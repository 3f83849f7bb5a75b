// `npm run bench`: runs every bench/*.bench.ts in turn, or those named on the command line: by the start of
// the file's name, or by a group the file names in a "// bench group: …" line (`npm run bench -- scale`).
import { readFile, readdir } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

const dir = import.meta.dirname;
const wanted = process.argv.slice(2);
/** Groups that run only when named: they take many minutes. */
const ON_REQUEST = ["scale"];
const groupsOf = async (f: string) => [f.split(".")[0], ...(/^\/\/ bench group: (.+)$/m.exec(await readFile(path.join(dir, f), "utf8"))?.[1].split(/[\s,]+/) ?? [])];
const files: string[] = [];
for (const f of (await readdir(dir)).filter((f) => f.endsWith(".bench.ts")).sort()) {
  const groups = await groupsOf(f);
  const picked = wanted.length === 0 ? !groups.some((g) => ON_REQUEST.includes(g)) : wanted.some((w) => f.startsWith(w)) || groups.some((g) => wanted.includes(g));
  if (picked) files.push(f);
}
for (const file of files) {
  console.log(`\n### ${file}\n`);
  const r = await execa(process.execPath, ["--disable-warning=ExperimentalWarning", path.join(dir, file)], { stdio: "inherit", reject: false });
  if (r.exitCode !== 0) process.exitCode = 1;
}
