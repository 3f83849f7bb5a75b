// How `reelpress` starts (cli/boot.mjs): each TypeScript file's stripped JavaScript is kept by the hash
// of its source, so an edit is seen on the next start, even one that keeps the file's size; a cached
// copy cut short or altered is stripped again; and a project whose .cache cannot be written still runs.
// Run on a copy of the project's sources.
import { cp, mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");

describe("reelpress start-up keeps stripped sources by their hash", () => {
  let copy: string;
  const run = async (...args: string[]) => (await execa(path.join(copy, "bin/reelpress"), args)).stdout;

  beforeAll(async () => {
    copy = await mkdtemp(path.join(os.tmpdir(), "reelpress-boot-"));
    for (const dir of ["bin", "cli", "shared", "store", "gpu-runner", "functions", "package.json"]) await cp(path.join(ROOT, dir), path.join(copy, dir), { recursive: true });
    await symlink(path.join(ROOT, "node_modules"), path.join(copy, "node_modules"));
  });
  afterAll(() => rm(copy, { recursive: true, force: true }));

  it("serves an edited file's new code on the next start, even at the same size", async () => {
    expect(await run("status", "--help")).toContain("Counts and bytes per state");
    const cached = await readdir(path.join(copy, ".cache/ts-strip"));
    expect(cached.length).toBeGreaterThan(10);
    const file = path.join(copy, "cli/commands/status.ts");
    const before = await readFile(file, "utf8");
    const after = before.replace("Counts and bytes per state", "Tallies and sizes by state");
    expect(after.length).toBe(before.length);
    await writeFile(file, after);
    expect(await run("status", "--help")).toContain("Tallies and sizes by state");
  });

  it("strips a file again whose cached copy was cut short or altered, and never runs that copy", async () => {
    const dir = path.join(copy, ".cache/ts-strip");
    const files = await readdir(dir);
    for (const [i, name] of files.entries()) {
      const text = await readFile(path.join(dir, name), "utf8");
      // Half of each file, or a whole one with a statement slipped in before its seal.
      await writeFile(path.join(dir, name), i % 2 ? text.slice(0, text.length >> 1) : `throw new Error("tampered");\n${text}`);
    }
    expect(await run("status", "--help")).toContain("Usage: reelpress status");
  });

  it("runs without a cache where .cache cannot be written", async () => {
    await rm(path.join(copy, ".cache"), { recursive: true, force: true });
    await writeFile(path.join(copy, ".cache"), "not a folder");
    expect(await run("status", "--help")).toContain("Usage: reelpress status");
  });
});
