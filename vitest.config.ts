import os from "node:os";
import path from "node:path";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts", "store/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // ffmpeg work is CPU-bound: two workers on the two cores CI has.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1, execArgv: ["--disable-warning=ExperimentalWarning"] } },
    reporters: ["default"],
    env: {
      // Tests never find, or replace, the `reelpress dev` a person runs on this machine.
      REELPRESS_DEV_FILE: path.join(os.tmpdir(), `reelpress-test-dev-${process.pid}.json`),
    },
  },
});
