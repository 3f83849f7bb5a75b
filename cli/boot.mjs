// Loaded before the CLI (bin/reelpress passes it to --import): a command's start-up was half type
// stripping and compiling, done again by every process. The stripped JavaScript of each of the project's
// TypeScript files is kept under .cache/ts-strip by the hash of its source, so a changed file is never
// served stale, and V8's compile cache is kept beside it. Plain JavaScript, so that loading it needs no
// stripping. Where .cache cannot be written (a read-only install), files are stripped as before.
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { enableCompileCache, registerHooks, stripTypeScriptTypes } from "node:module";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const root = path.resolve(import.meta.dirname, "..");
const rootUrl = `${pathToFileURL(root).href}/`;
const dir = path.join(root, ".cache/ts-strip");

function writable(d) {
  try {
    mkdirSync(d, { recursive: true });
    return true;
  } catch {
    return false;
  }
}

if (writable(dir)) {
  enableCompileCache(path.join(root, ".cache/node-compile"));
  registerHooks({
    load(url, context, nextLoad) {
      if (!url.startsWith(rootUrl) || !url.endsWith(".ts") || url.includes("/node_modules/")) return nextLoad(url, context);
      const source = readFileSync(fileURLToPath(url), "utf8");
      const cached = path.join(dir, `${createHash("sha256").update(source).digest("hex").slice(0, 32)}.js`);
      try {
        return { format: "module", source: readFileSync(cached, "utf8"), shortCircuit: true };
      } catch {
        // Not stripped yet: strip as Node would (types become spaces, so lines and columns stay).
      }
      const js = stripTypeScriptTypes(source);
      try {
        // Written whole, then renamed: a process starting beside this one never reads half a file.
        const partial = `${cached}.${process.pid}`;
        writeFileSync(partial, js);
        renameSync(partial, cached);
      } catch {
        // A full disk only costs the next start its stripping.
      }
      return { format: "module", source: js, shortCircuit: true };
    },
  });
}
