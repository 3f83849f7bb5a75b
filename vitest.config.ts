import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 180_000,
    // ffmpeg work is CPU-bound: two workers on the two cores CI has.
    pool: "forks",
    poolOptions: { forks: { maxForks: 2, minForks: 1, execArgv: ["--disable-warning=ExperimentalWarning"] } },
    reporters: ["default"],
  },
});
