// The folder watcher watches folders, never files, and never the store's own area or skipped folders.
// When it may watch no more, it says so once, and the periodic listing still finds new files.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../../test/kit/wait.ts";
import { serveFolder, watchFolder, type ObjectEvent } from "../index.ts";

describe("folder store: the watcher's watches", () => {
  let folder: string;
  let server: Awaited<ReturnType<typeof serveFolder>>;
  beforeAll(async () => {
    folder = await mkdtemp(path.join(os.tmpdir(), "store-watch-"));
    for (const dir of ["a", "b", "b/c"]) {
      await mkdir(path.join(folder, dir), { recursive: true });
      for (let i = 0; i < 5; i++) await writeFile(path.join(folder, dir, `v${i}.mp4`), "x");
    }
    await mkdir(path.join(folder, ".reelpress", "manifest", "a"), { recursive: true });
    await writeFile(path.join(folder, ".reelpress", "manifest", "a", "v0.mp4.json"), "{}");
    await mkdir(path.join(folder, "backups", "a"), { recursive: true });
    server = await serveFolder({ folder, bucket: "lib", port: 0 });
  });
  afterAll(async () => {
    await server?.stop();
    await rm(folder, { recursive: true, force: true });
  });
  const skipFolder = (d: string) => d.startsWith(".reelpress/") || d.startsWith("backups/");

  it("watches one folder per library folder: not files, not .reelpress/, not skipped folders", async () => {
    const w = await watchFolder(server.store, { settleMs: 0, scanIntervalMs: 60_000, knownBefore: Date.now() + 60_000, accept: () => true, skipFolder, onCreated: () => undefined });
    try {
      // The root, a, b and b/c: 15 files and the skipped trees cost nothing.
      expect(w.watching()).toEqual({ folders: 4, limited: false });
    } finally {
      await w.stop();
    }
  });

  it("past its limit says so once, and the listing still finds a file in a folder it does not watch", async () => {
    const said: string[] = [];
    const created: ObjectEvent[] = [];
    const w = await watchFolder(server.store, {
      settleMs: 0, scanIntervalMs: 1000, knownBefore: Date.now() + 1000, maxWatches: 2, accept: () => true, skipFolder,
      onCreated: (e) => created.push(e), onWatchLimit: (m) => said.push(m),
    });
    try {
      expect(w.watching()).toMatchObject({ folders: 2, limited: true });
      await writeFile(path.join(folder, "b", "c", "late.mp4"), "late");
      await until("the listing to announce it", () => created.find((e) => e.key === "b/c/late.mp4"), 10_000);
      await w.scan();
      expect(said).toHaveLength(1);
      expect(said[0]).toMatch(/^2 folders are watched and the rest are not, by the limit of 2 watched folders: files there are found by the listing every 1 s instead$/);
      expect(w.watching().message).toBe(said[0]);
    } finally {
      await w.stop();
    }
  });
});
