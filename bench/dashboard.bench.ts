// Dashboard bench: the CPU `dev` spends while a tab is open and the library is idle, as CPU seconds over
// a window (process.cpuUsage: the folder store, the queues and the dashboard share this process, as in
// `dev`), side by side with the old behaviour (a 2 s cache counted from when a computation starts), and
// how long a page opened just after a write waits for its first answer.
// `npm run bench -- dashboard`; BENCH_DASHBOARD_N (objects with records, default 2000) and
// BENCH_DASHBOARD_WINDOW_S (default 30) change its size.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { startDashboard } from "../cli/dashboard.ts";
import { type Overview, dashboardOverview } from "../shared/dashboard/overview.ts";
import { patchRecord } from "../shared/io/manifest.ts";
import type { Clients } from "../shared/io/clients.ts";
import { startTestStack } from "../test/kit/stack.ts";

const N = Number(process.env.BENCH_DASHBOARD_N ?? 2000);
const WINDOW_MS = Number(process.env.BENCH_DASHBOARD_WINDOW_S ?? 30) * 1000;
/** What the page waits between two reads of /api/overview. */
const TAB_EVERY_MS = 5000;

/** The dashboard as it was: every request after 2 s from the last computation's start computes again. */
async function startOldDashboard(clients: Clients, count: () => void) {
  let cached: { at: number; overview: Promise<Overview> } | undefined;
  const server = http.createServer(async (_req, res) => {
    if (!cached || Date.now() - cached.at > 2000) {
      count();
      cached = { at: Date.now(), overview: dashboardOverview(clients) };
    }
    res.end(JSON.stringify(await cached.overview));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`, stop: () => new Promise<void>((r) => server.close(() => r())) };
}

/** CPU seconds this process spends over the window while `tabs` tabs poll `url` as the page does, and the computations made in it. */
async function measure(url: string | undefined, tabs: number, computations: () => number = () => 0): Promise<[number, number]> {
  // The first overview is computed before the window: what is measured is the tab kept open.
  if (url) await (await fetch(new URL("api/overview", url))).text();
  const before = process.cpuUsage();
  const counted = computations();
  const end = Date.now() + WINDOW_MS;
  await Promise.all(Array.from({ length: url ? tabs : 0 }, async (_, tab) => {
    await new Promise((r) => setTimeout(r, (tab * TAB_EVERY_MS) / tabs));
    while (Date.now() < end) {
      await (await fetch(new URL("api/overview", url))).text();
      await new Promise((r) => setTimeout(r, TAB_EVERY_MS));
    }
  }));
  await new Promise((r) => setTimeout(r, Math.max(0, end - Date.now())));
  const used = process.cpuUsage(before);
  return [(used.user + used.system) / 1e6, computations() - counted];
}

const stack = await startTestStack();
try {
  for (let i = 0; i < N; i += 50) {
    await Promise.all(Array.from({ length: Math.min(50, N - i) }, async (_, j) => {
      const key = `lib/f${(i + j) % 20}/v${i + j}.mp4`;
      const r = await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: "x".repeat(100) }));
      await patchRecord(stack, key, { size: 100, etag: r.ETag!, state: (i + j) % 3 === 0 ? "compressed" : "skipped" });
    }));
  }
  // A page opened just after a write: the old dashboard computes before it answers, the kept one answers at once.
  const firstAnswer = async (url: string) => {
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: `lib/new-${Date.now()}.mp4`, Body: "x" }));
    await new Promise((r) => setTimeout(r, 2100));
    const t0 = performance.now();
    await (await fetch(new URL("api/overview", url))).text();
    return performance.now() - t0;
  };
  {
    const before = await startOldDashboard(stack, () => undefined);
    await (await fetch(new URL("api/overview", before.url))).text();
    const old = await firstAnswer(before.url);
    await before.stop();
    const now = await startDashboard(stack, { port: 0, host: "127.0.0.1", store: stack.embedded.store });
    await (await fetch(new URL("api/overview", now.url))).text();
    const kept = await firstAnswer(now.url);
    // The recomputation it started ends before anything else is measured.
    while (((await (await fetch(new URL("api/overview", now.url))).json()) as { refreshing: boolean }).refreshing) await new Promise((r) => setTimeout(r, 200));
    await now.stop();
    console.log(`\n| first answer of /api/overview after a write | ms |\n|---|---|\n| old: computed before answering | ${old.toFixed(0)} |\n| kept overview, marked refreshing | ${kept.toFixed(0)} |\n`);
  }
  console.log(`dev CPU while a tab is open and the library idle: ${N} objects with records, ${WINDOW_MS / 1000} s windows, each tab reading /api/overview every ${TAB_EVERY_MS / 1000} s\n`);
  console.log("| dashboard | tabs | CPU seconds | share of a core | overview computations |\n|---|---|---|---|---|");
  const row = (what: string, tabs: number, [cpu, computations]: [number, number]) =>
    console.log(`| ${what} | ${tabs} | ${cpu.toFixed(2)} | ${((100 * cpu * 1000) / WINDOW_MS).toFixed(1)} % | ${computations} |`);
  row("none (baseline: store and queues idle)", 0, await measure(undefined, 0));
  for (const tabs of [1, 3]) {
    let old = 0;
    const before = await startOldDashboard(stack, () => old++);
    row("old: 2 s cache from a computation's start", tabs, await measure(before.url, tabs, () => old));
    await before.stop();
    let kept = 0;
    const now = await startDashboard(stack, { port: 0, host: "127.0.0.1", store: stack.embedded.store, compute: () => (kept++, dashboardOverview(stack)) });
    row("kept overview, recomputed on store writes", tabs, await measure(now.url, tabs, () => kept));
    await now.stop();
  }
} finally {
  await stack.stop();
}
