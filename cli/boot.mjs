// Loaded before the CLI (bin/reelpress passes it to --import): a command's start-up was half type
// stripping and compiling, done again by every process. The stripped JavaScript of each of the project's
// TypeScript files is kept under .cache/ts-strip by the hash of Node's version and its source, so a
// changed file is never served stale, and V8's compile cache is kept beside it. Each cached file ends
// with the hash of its contents: a torn or damaged one (a power cut, a full disk) is stripped again.
// (Whoever can write .cache can write the sources too: the seal is against accidents, not people.)
// Plain JavaScript, so that loading it needs no stripping. Where .cache cannot be written (a read-only
// install), files are stripped as before.
import { createHash } from "node:crypto";
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from "node:fs";
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

const sha256 = (text) => createHash("sha256").update(text).digest("hex");
/** Ends each cached file: the hash of what precedes it, so a torn or damaged file is stripped again, never run. */
const SEAL = "\n//# reelpress-strip ";

/** The cached JavaScript, when the file is whole. */
function readCached(file) {
  let text;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return undefined;
  }
  const at = text.lastIndexOf(SEAL);
  if (at < 0) return undefined;
  const js = text.slice(0, at);
  return text.slice(at + SEAL.length) === sha256(js) ? js : undefined;
}

/** Written whole and synced, then renamed: neither a process starting beside this one nor a power cut leaves half a file. */
function writeCached(file, js) {
  try {
    const partial = `${file}.${process.pid}`;
    const fd = openSync(partial, "w");
    try {
      writeSync(fd, `${js}${SEAL}${sha256(js)}`);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(partial, file);
  } catch {
    // A full disk only costs the next start its stripping.
  }
}

if (writable(dir)) {
  enableCompileCache(path.join(root, ".cache/node-compile"));
  registerHooks({
    load(url, context, nextLoad) {
      if (!url.startsWith(rootUrl) || !url.endsWith(".ts") || url.includes("/node_modules/")) return nextLoad(url, context);
      const source = readFileSync(fileURLToPath(url), "utf8");
      // Node's version too: the system Node and the bundled one may strip differently.
      const cached = path.join(dir, `${sha256(`${process.version}\0${source}`).slice(0, 32)}.js`);
      const hit = readCached(cached);
      if (hit !== undefined) return { format: "module", source: hit, shortCircuit: true };
      // Not stripped yet: strip as Node would (types become spaces, so lines and columns stay).
      const js = stripTypeScriptTypes(source);
      writeCached(cached, js);
      return { format: "module", source: js, shortCircuit: true };
    },
  });
}
