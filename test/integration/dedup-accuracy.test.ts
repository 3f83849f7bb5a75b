// The real dedup on a real corpus: generated variants of four sources and hard negatives, uploaded to
// the folder store with manifest records made by the real probe and fingerprint code.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { GetObjectCommand } from "@aws-sdk/client-s3";
import { listRecords } from "../../shared/io/manifest.ts";
import { dedupOptions } from "../../shared/dedup/options.ts";
import type { StageStat } from "../../shared/dedup/pipeline.ts";
import { LATEST_REPORT_KEY, buildAndStoreReport } from "../../shared/dedup/run.ts";
import { DedupReport } from "../../shared/schemas.ts";
import { makeCorpus, uploadCorpus } from "../kit/dedup-corpus.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

/** Byte-identical copies: which one is kept depends on upload timing (oldest wins), so any of them may stand for all. */
const COPIES: Record<string, string> = { "test/parts-6m.mp4": "test/master.mp4", "test/parts-8m.mp4": "test/master.mp4", "mandel/renamed-copy.mp4": "mandel/master.mp4" };

function shape(report: DedupReport): string[] {
  return report.groups
    .map((g) => {
      const keys = [g.winner.key, ...g.losers.map((l) => l.key)].map((k) => (g.type === "exact" ? k : (COPIES[k] ?? k)));
      return `${g.type}: ${keys.sort().join(" ")}`;
    })
    .sort();
}

const EXPECTED = [
  "exact: mandel/master.mp4 mandel/renamed-copy.mp4",
  "exact: test/master.mp4 test/parts-6m.mp4 test/parts-8m.mp4",
  "subset: mandel/clip.mp4 mandel/master.mp4",
  "visual: bars/master.mp4 bars/pillarbox.mov bars/small.mp4",
  "visual: life/25fps-remux.mp4 life/25fps.mkv life/av1.mp4 life/fade-in.mp4 life/letterbox.mp4 life/master.mp4 life/trimmed-tail.mp4",
  "visual: mandel/hevc.mp4 mandel/master.mp4 mandel/mirrored.mp4 mandel/remux.mkv mandel/small.mp4 mandel/trimmed-head.mp4",
  "visual: test/master.mp4 test/remux.mkv test/vp9.webm",
];

describe("dedup accuracy (real ffmpeg, folder store, manifest)", () => {
  let stack: TestStack;
  let sizes: Map<string, number>;
  beforeAll(async () => {
    const [corpus, s] = await Promise.all([makeCorpus(), startTestStack()]);
    stack = s;
    await uploadCorpus(stack, corpus);
    sizes = new Map();
    for await (const r of listRecords(stack)) sizes.set(r.key, r.size);
  });
  afterAll(() => stack?.stop());

  it("finds every expected group and no other, reading only objects whose size collides", async () => {
    const { report, key } = await buildAndStoreReport(stack, dedupOptions({ quality: 5 }));
    expect(shape(report)).toEqual(EXPECTED);
    // The master of each source is kept, never a trimmed, re-encoded or smaller copy.
    for (const g of report.groups.filter((g) => g.type !== "exact")) expect(COPIES[g.winner.key] ?? g.winner.key).toMatch(/\/master\.mp4$/);
    const subset = report.groups.find((g) => g.type === "subset")!;
    expect(subset.metadata.matches).toMatchObject({ "mandel/clip.mp4": { offset_sec: expect.closeTo(2.5, 0) } });
    const mirrored = report.groups.flatMap((g) => Object.entries((g.metadata.matches ?? {}) as Record<string, { flipped: boolean }>)).filter(([, m]) => m.flipped);
    expect(mirrored.map(([k]) => k)).toEqual(["mandel/mirrored.mp4"]);

    const stage = (name: string) => (report.summary.stages as StageStat[]).find((s) => s.stage === name)!;
    // Sizes shared: mandel master+copy, the three test copies, the two padded negatives.
    expect(stage("size")).toMatchObject({ input: sizes.size, output: 7 });
    expect(stage("partial_hash").input).toBe(7);
    // The negatives differ in their partial hash and are never read whole.
    expect(stage("sha256").input).toBe(5);
    const collided = ["mandel/master.mp4", "mandel/renamed-copy.mp4", "test/master.mp4", "test/parts-6m.mp4", "test/parts-8m.mp4", "negatives/gradients.mkv", "negatives/counter.mkv"];
    const partial = collided.reduce((n, k) => n + Math.min(sizes.get(k)!, 12 * 1024 ** 2), 0);
    expect(stage("partial_hash").bytes_read).toBe(partial);
    // A full read only where the partial one did not already cover the whole object.
    const readWhole = collided.slice(0, 5).filter((k) => sizes.get(k)! > 12 * 1024 ** 2);
    expect(readWhole.length).toBeGreaterThan(0);
    expect(report.summary.bytes_read).toBe(partial + readWhole.reduce((n, k) => n + sizes.get(k)!, 0));

    // Every loser appears once, no winner is also a loser, and the summary adds up.
    const losers = report.groups.flatMap((g) => g.losers.map((l) => l.key));
    expect(new Set(losers).size).toBe(losers.length);
    for (const g of report.groups) expect(losers).not.toContain(g.winner.key);
    expect(report.summary.total_losers).toBe(losers.length);
    expect(report.summary.bytes_reclaimable).toBe(losers.reduce((n, k) => n + sizes.get(k)!, 0));
    for (const g of report.groups) for (const l of g.losers) expect(l.reason.length).toBeGreaterThan(5);

    // Stored twice: under its time and as latest.
    expect(key).toMatch(/^\.reelpress\/reports\/\d{4}-\d\d-\d\dT[\d:.]+Z\.json$/);
    for (const k of [key, LATEST_REPORT_KEY]) {
      const body = await (await stack.s3.send(new GetObjectCommand({ Bucket: stack.config.bucket, Key: k }))).Body!.transformToString();
      expect(DedupReport.parse(JSON.parse(body))).toEqual(report);
    }
  });

  it("writes hashes back, so the next report reads nothing, and only colliding objects were hashed", async () => {
    const hashed: string[] = [];
    for await (const r of listRecords(stack)) if (r.partialHash) hashed.push(r.key);
    expect(hashed.sort()).toEqual(["mandel/master.mp4", "mandel/renamed-copy.mp4", "negatives/counter.mkv", "negatives/gradients.mkv", "test/master.mp4", "test/parts-6m.mp4", "test/parts-8m.mp4"]);
    const { report } = await buildAndStoreReport(stack, dedupOptions({ quality: 5 }));
    expect(report.summary.bytes_read).toBe(0);
    expect(shape(report)).toEqual(EXPECTED);
  });

  it("follows the quality level and the flip setting", async () => {
    const exactOnly = (await buildAndStoreReport(stack, dedupOptions({ quality: 2 }))).report;
    expect(shape(exactOnly)).toEqual(EXPECTED.filter((g) => g.startsWith("exact")));
    const noFlip = (await buildAndStoreReport(stack, dedupOptions({ quality: 4, flip: false }))).report;
    const mandel = noFlip.groups.find((g) => g.type === "visual" && g.winner.key === "mandel/master.mp4")!;
    expect(mandel.losers.map((l) => l.key)).not.toContain("mandel/mirrored.mp4");
    expect(noFlip.groups.map((g) => g.type)).not.toContain("subset");
  });
});
