// The dashboard as `reelpress dev` runs it, over a real folder store: concurrent requests share one
// computation (counted through the compute hook), a write is what makes it recompute, the files waiting
// for the pipeline are listed by key from the store's own writes, and `doctor` repeats a watch limit.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDashboard, type Dashboard } from "../../cli/dashboard.ts";
import { checkWatches } from "../../cli/commands/doctor.ts";
import { writeDevFile } from "../../cli/local-dev.ts";
import { dashboardOverview } from "../../shared/dashboard/overview.ts";
import type { ServedOverview } from "../../shared/dashboard/keeper.ts";
import type { QueuedList } from "../../shared/dashboard/queued.ts";
import type { WatchState } from "../../shared/dashboard/routes.ts";
import { patchRecord } from "../../shared/io/manifest.ts";
import { headObject } from "../../shared/io/objects.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { until } from "../kit/wait.ts";

type Served = ServedOverview & { queued: QueuedList | null; watch: WatchState | null };

describe("dashboard of reelpress dev over the folder store", () => {
  let stack: TestStack;
  let dashboard: Dashboard;
  let dir: string;
  let computations = 0;
  const limit = "2 folders are watched and the rest are not, by the limit of 2 watched folders: files there are found by the listing every 60 s instead";
  const get = async (p: string) => (await (await fetch(new URL(p, dashboard.url))).json()) as Served;

  beforeAll(async () => {
    [stack, dir] = await Promise.all([startTestStack(), mkdtemp(path.join(os.tmpdir(), "rp-dash-dev-"))]);
    dashboard = await startDashboard(stack, {
      port: 0,
      host: "127.0.0.1",
      store: stack.embedded.store,
      watching: () => ({ folders: 2, limited: true, message: limit }),
      compute: () => {
        computations++;
        return dashboardOverview(stack);
      },
    });
  });
  afterAll(async () => {
    await dashboard?.stop();
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("answers 20 concurrent requests from one computation, and computes nothing more while nothing is written", async () => {
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => get(i % 2 ? "api/status" : "api/overview")));
    expect(computations).toBe(1);
    expect(answers.filter((_, i) => i % 2 === 0).every((a) => a.generated_at === answers[0].generated_at)).toBe(true);
    // Several rounds of polling tabs, with the library untouched: still the one computation.
    for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 5 }, () => get("api/overview")));
    expect(computations).toBe(1);
  });

  it("after a write serves the kept overview at once and recomputes it once for all tabs", async () => {
    const before = await get("api/overview");
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: "new/clip.mkv", Body: Buffer.alloc(5000, 1) }));
    const during = await Promise.all(Array.from({ length: 10 }, () => get("api/overview")));
    expect(during[0]).toMatchObject({ generated_at: before.generated_at, refreshing: true });
    const fresh = await until("the recomputed overview", async () => {
      const o = await get("api/overview");
      return !o.refreshing && o.generated_at !== before.generated_at && o;
    }, 20_000, 100);
    expect(computations).toBe(2);
    // A video not probed yet has no record, so the kept summary does not count it: the queued list shows it.
    expect(fresh.queued?.files.map((f) => f.key)).toContain("new/clip.mkv");
  });

  it("lists the files waiting, by key, as their records move them, and drops them once claimed", async () => {
    const stateOf = async () => (await get("api/overview")).queued?.files.find((f) => f.key === "new/clip.mkv")?.state;
    expect(await stateOf()).toBe("found");
    const head = (await headObject(stack, "new/clip.mkv"))!;
    await patchRecord(stack, "new/clip.mkv", { size: head.size, etag: head.etag, state: "planned" });
    await until("the file listed as planned", async () => (await stateOf()) === "planned", 10_000, 100);
    await patchRecord(stack, "new/clip.mkv", { size: head.size, etag: head.etag, state: "encoding" });
    await until("the claimed file off the list", async () => (await get("api/overview")).queued?.total === 0, 10_000, 100);
  });

  it("says when folder watches ran out, on the overview and in doctor", async () => {
    expect((await get("api/overview")).watch).toEqual({ folders: 2, limited: true, message: limit });
    const env = { REELPRESS_DEV_FILE: path.join(dir, "dev.json") };
    expect(await checkWatches(env)).toMatchObject({ status: "skip" });
    await writeDevFile({ pid: process.pid, s3: stack.endpoint, sqs: stack.endpoint, bucket: "reelpress", region: "us-east-1", dashboard: dashboard.url, startedAt: new Date().toISOString() }, env);
    expect(await checkWatches(env)).toMatchObject({ name: "watches", status: "warn", detail: limit, fix: expect.stringMatching(/fs\.inotify\.max_user_watches/) });
  });
});
