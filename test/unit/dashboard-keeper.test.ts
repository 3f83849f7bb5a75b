// The dashboard's kept overview (shared/dashboard/keeper.ts) on a hand-driven clock: requests share one
// computation, the kept one is served at once after a change, and nothing is recomputed while nothing changed.
import { describe, expect, it } from "vitest";
import { OverviewKeeper, type LiveParts } from "../../shared/dashboard/keeper.ts";
import { isAllDone, type Overview } from "../../shared/dashboard/overview.ts";
import { countsChange } from "../../shared/dashboard/routes.ts";
import { queuedState } from "../../shared/dashboard/queued.ts";
import { emptySummary } from "../../shared/rules/status.ts";
import type { RunnerStatus } from "../../shared/schemas.ts";

const QUEUES = { ingest: { visible: 0, in_flight: 0 }, plan: { visible: 0, in_flight: 0 }, encode: { visible: 0, in_flight: 0 }, encode_dlq: { visible: 0, in_flight: 0 } };
const runner = (jobs: Array<[string, number]>): RunnerStatus => ({
  id: "r1", encoder: "x264", concurrency: 1, updated_at: "2026-01-01T00:00:00Z",
  jobs: jobs.map(([key, out]) => ({ key, job_id: `j-${key}`, started_at: "2026-01-01T00:00:00Z", duration_sec: 10, out_time_sec: out })),
});

/** A keeper over a fake computation that counts its calls and resolves when told to. */
function setUp(opts: { maxAgeMs?: number } = {}) {
  let clock = 1_000_000;
  let live: LiveParts = { queues: QUEUES, runners: [] };
  const pending: Array<{ resolve(o: Overview): void; reject(e: Error): void }> = [];
  let computations = 0;
  let liveReads = 0;
  const overview = (n: number): Overview => ({
    bucket: "b", prefix: "", generated_at: String(n), status: { ...emptySummary(live.queues, live.runners) }, failures: [], failures_total: 0, folders: [], report: null, all_done: false,
  });
  const keeper = new OverviewKeeper({
    compute: () => {
      const n = ++computations;
      return new Promise<Overview>((resolve, reject) => pending.push({ resolve: () => resolve(overview(n)), reject }));
    },
    live: async () => {
      liveReads++;
      return live;
    },
    liveMs: 2000,
    minGapMs: 1000,
    maxAgeMs: opts.maxAgeMs ?? Infinity,
    now: () => clock,
  });
  const finish = async (error?: Error) => {
    for (const p of pending.splice(0)) (error ? p.reject(error) : p.resolve(overview(0)));
    await new Promise((r) => setImmediate(r));
  };
  return {
    keeper, finish,
    tick: (ms: number) => void (clock += ms),
    setLive: (l: Partial<LiveParts>) => void (live = { ...live, ...l }),
    counts: () => ({ computations, liveReads }),
  };
}

describe("OverviewKeeper", () => {
  it("lets concurrent first requests share one computation", async () => {
    const t = setUp();
    const served = Array.from({ length: 10 }, () => t.keeper.get());
    await t.finish();
    const all = await Promise.all(served);
    expect(t.counts().computations).toBe(1);
    expect(new Set(all.map((o) => o.generated_at)).size).toBe(1);
  });

  it("after a change serves the kept overview at once, marked refreshing, while one recomputation runs", async () => {
    const t = setUp();
    const first = t.keeper.get();
    await t.finish();
    await first;
    t.tick(5000);
    t.keeper.changed();
    const during = await Promise.all(Array.from({ length: 5 }, () => t.keeper.get()));
    expect(during.every((o) => o.refreshing && o.age_sec === 5)).toBe(true);
    expect(t.counts().computations).toBe(2);
    await t.finish();
    const after = await t.keeper.get();
    expect(after).toMatchObject({ refreshing: false, age_sec: 0 });
  });

  it("computes nothing while nothing changed, and patches runners' progress without recomputing", async () => {
    const t = setUp();
    t.setLive({ runners: [runner([["a.mkv", 1]])] });
    const first = t.keeper.get();
    await t.finish();
    await first;
    for (let i = 0; i < 20; i++) {
      t.tick(5000);
      t.setLive({ runners: [runner([["a.mkv", i + 2]])] });
      await t.keeper.get();
      await new Promise((r) => setImmediate(r));
    }
    expect(t.counts()).toEqual({ computations: 1, liveReads: 20 });
    expect((await t.keeper.get()).status.runners[0].jobs[0].out_time_sec).toBe(21);
  });

  it("recomputes when the queues or the runners' jobs differ from the kept ones", async () => {
    const t = setUp();
    const first = t.keeper.get();
    await t.finish();
    await first;
    t.tick(3000);
    t.setLive({ queues: { ...QUEUES, encode: { visible: 1, in_flight: 0 } } });
    await t.keeper.get();
    await new Promise((r) => setImmediate(r));
    expect(t.counts().computations).toBe(2);
  });

  it("waits out the gap after a computation: a busy library never keeps it computing", async () => {
    const t = setUp();
    const first = t.keeper.get();
    t.tick(4000); // a computation of 4 s: the next may start 8 s after it ended
    await t.finish();
    await first;
    t.keeper.changed();
    t.tick(1000);
    expect((await t.keeper.get()).refreshing).toBe(true);
    expect(t.counts().computations).toBe(1);
    t.tick(8000);
    await t.keeper.get();
    expect(t.counts().computations).toBe(2);
    t.keeper.stop();
  });

  it("without write events, recomputes once the kept one is older than the maximum age", async () => {
    const t = setUp({ maxAgeMs: 10_000 });
    const first = t.keeper.get();
    await t.finish();
    await first;
    t.tick(9000);
    await t.keeper.get();
    expect(t.counts().computations).toBe(1);
    t.tick(2000);
    await t.keeper.get();
    expect(t.counts().computations).toBe(2);
  });

  it("answers fresh() from the kept overview only when nothing changed, and else waits for a new one", async () => {
    const t = setUp();
    const first = t.keeper.get();
    await t.finish();
    const kept = await first;
    expect((await t.keeper.fresh()).generated_at).toBe(kept.generated_at);
    expect(t.counts()).toEqual({ computations: 1, liveReads: 1 });
    t.keeper.changed();
    const waiting = t.keeper.fresh();
    expect(t.counts().computations).toBe(2);
    await t.finish();
    expect((await waiting).generated_at).not.toBe(kept.generated_at);
  });

  it("goes on serving the kept overview when a recomputation fails, and says why", async () => {
    const t = setUp();
    const first = t.keeper.get();
    await t.finish();
    const kept = await first;
    t.tick(3000);
    t.keeper.changed();
    await t.keeper.get();
    await t.finish(new Error("ListObjectsV2: connection reset\nstack"));
    const served = await t.keeper.get();
    expect(served).toMatchObject({ generated_at: kept.generated_at, refresh_error: "ListObjectsV2: connection reset" });
    t.keeper.stop();
  });
});

describe("isAllDone", () => {
  it("is true only with nothing remaining, in progress, queued in the flow or running", () => {
    const done = emptySummary(QUEUES);
    done.compressed.count = 3;
    expect(isAllDone(done)).toBe(true);
    expect(isAllDone({ ...done, remaining: { count: 1, bytes: 1 } })).toBe(false);
    expect(isAllDone({ ...done, queues: { ...QUEUES, plan: { visible: 0, in_flight: 1 } } })).toBe(false);
    expect(isAllDone({ ...done, runners: [runner([["a.mkv", 0]])] })).toBe(false);
    // Failures in the dead-letter queue are not work left.
    expect(isAllDone({ ...done, queues: { ...QUEUES, encode_dlq: { visible: 2, in_flight: 0 } } })).toBe(true);
  });
});

describe("what a write means to the dashboard", () => {
  it("recounts after library objects, backups, records and reports; not after progress, previews or work files", () => {
    for (const key of ["films/a.mkv", "orig_video_to_delete/films/a.mkv", ".reelpress/manifest/films/a.mkv.json", ".reelpress/reports/latest.json"]) expect(countsChange(key), key).toBe(true);
    for (const key of [".reelpress/runners/gpu-1.json", ".reelpress/previews/films/a.mp4.montage.jpg", ".reelpress/work/j1/chunk-0001.mp4", ".reelpress/notify/library_done"]) expect(countsChange(key), key).toBe(false);
  });

  it("lists a file as queued while its record says probed or planned, and no longer after", () => {
    expect([queuedState("probed"), queuedState("planned")]).toEqual(["probed", "planned"]);
    for (const state of ["encoding", "compressed", "skipped", "failed", "ignored", undefined] as const) expect(queuedState(state), String(state)).toBeUndefined();
  });
});
