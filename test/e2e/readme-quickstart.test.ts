// The README's NAS quick start, run as written: from a fresh clone, `npm link` (into a private prefix),
// then `reelpress dev --library DIR` and `reelpress status` from other directories. Only the library path
// is filled in. If the README's commands change, this test reads the new ones. It runs the last commit
// (a clone), not uncommitted changes.
import { mkdir, mkdtemp, readFile, rm, symlink, utimes } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa, type ResultPromise } from "execa";
import { afterAll, describe, expect, it } from "vitest";
import { videoFixture } from "../kit/fixtures.ts";
import { until } from "../kit/wait.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");

/** The commands of the README's "Your NAS folder" block, comments stripped. */
async function quickStart(): Promise<string[][]> {
  const readme = await readFile(path.join(ROOT, "README.md"), "utf8");
  const block = /## Your NAS folder[^\n]*\n+```sh\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error("README.md has no '## Your NAS folder' block of sh commands");
  return block[1].split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean).map((l) => l.split(/\s+/));
}

describe("the README's NAS quick start, verbatim, from a fresh clone", () => {
  let tmp: string;
  let dev: ResultPromise | undefined;
  afterAll(async () => {
    dev?.kill("SIGINT");
    await dev?.catch(() => undefined);
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("npm link, then reelpress dev and reelpress status from other directories", { timeout: 180_000 }, async () => {
    const [link, serve, status] = await quickStart();
    expect(link).toEqual(["npm", "link"]);
    expect(serve.slice(0, 2)).toEqual(["reelpress", "dev"]);
    expect(status).toEqual(["reelpress", "status"]);

    tmp = await mkdtemp(path.join(os.tmpdir(), "reelpress-quickstart-"));
    const clone = path.join(tmp, "reelpress");
    await execa("git", ["clone", "-q", "--depth", "1", `file://${ROOT}`, clone]);
    // `npm install` in the clone would fetch what this checkout has already: its node_modules stands in.
    await symlink(path.join(ROOT, "node_modules"), path.join(clone, "node_modules"));
    const prefix = path.join(tmp, "npm-prefix");
    // Its own dev file: another test's `reelpress dev` must not be the one found.
    const env: NodeJS.ProcessEnv = { ...process.env, REELPRESS_DEV_FILE: path.join(tmp, "dev.json"), npm_config_prefix: prefix, PATH: `${path.join(prefix, "bin")}${path.delimiter}${process.env.PATH}` };
    await execa(link[0], link.slice(1), { cwd: clone, env });

    const videos = path.join(tmp, "videos");
    const elsewhere = path.join(tmp, "elsewhere");
    const andElsewhere = path.join(tmp, "and-elsewhere");
    for (const d of [videos, elsewhere, andElsewhere]) await mkdir(d, { recursive: true });
    await execa("cp", [await videoFixture("mkv_h264"), path.join(videos, "holiday.mkv")]);
    // An old file, as a library's are: found by the listing at start, not after the watcher's settle time.
    const past = new Date(Date.now() - 60_000);
    await utimes(path.join(videos, "holiday.mkv"), past, past);
    // Before dev runs, status says so (not "No AWS credentials found").
    const { AWS_ACCESS_KEY_ID: _k, AWS_SECRET_ACCESS_KEY: _s, AWS_PROFILE: _p, AWS_ENDPOINT_URL: _e, ...bare } = env;
    const early = await execa(status[0], status.slice(1), { cwd: andElsewhere, env: { ...bare, HOME: tmp, AWS_EC2_METADATA_DISABLED: "true" }, extendEnv: false, reject: false });
    expect(early.exitCode).toBe(1);
    expect(early.stderr.trim()).toMatch(/^No reelpress dev is running on this machine, and no other store is set: start 'reelpress dev --library DIR'/);

    const args = serve.slice(1).map((a) => (a === "/path/to/videos" ? videos : a));
    dev = execa(serve[0], args, { cwd: elsewhere, env, reject: false, all: true });
    let out = "";
    dev.all!.on("data", (d: Buffer) => (out += d.toString()));
    await until(`reelpress dev to start (${out})`, () => out.includes("is up") || dev!.exitCode !== null, 90_000);
    expect(out, out).toContain("is up");

    const r = await until(
      "reelpress status to see the library",
      async () => {
        const s = await execa(status[0], status.slice(1), { cwd: andElsewhere, env, reject: false });
        return s.exitCode === 0 && /1 video\(s\)/.test(s.stdout) ? s : undefined;
      },
      60_000,
      1000,
    );
    expect(r.stderr).toContain("Using reelpress dev on this machine");
  });
});
