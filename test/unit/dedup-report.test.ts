import { describe, expect, it } from "vitest";
import { planApply } from "../../cli/dedup-apply.ts";
import type { CountingHasher } from "../../shared/dedup/pipeline.ts";
import { findDuplicates } from "../../shared/dedup/pipeline.ts";
import { renderReportHtml } from "../../cli/report-html.ts";
import { dedupOptions } from "../../shared/dedup/options.ts";
import { buildReport } from "../../shared/dedup/report.ts";
import { DedupReport } from "../../shared/schemas.ts";
import { entriesOf, fingerprintsOf, randomContent, syntheticRecord } from "../kit/dedup-synthetic.ts";
import { seededRandom } from "../kit/random.ts";

/** Contents by key; hashing costs the object's size. */
function hasherOver(contents: Record<string, string>): CountingHasher {
  const bytesRead = { partial: 0, full: 0 };
  return {
    bytesRead,
    async partial(e) {
      bytesRead.partial += Math.min(e.size, 100);
      return `p:${contents[e.key]}`;
    },
    async full(e) {
      bytesRead.full += e.size;
      return `f:${contents[e.key]}`;
    },
  };
}

async function scenario() {
  const r = seededRandom(42);
  const content = randomContent(r, 300, 5);
  const fp = (o: Parameters<typeof fingerprintsOf>[1]) => fingerprintsOf(content, o, r);
  const entries = entriesOf([
    // The 720p file and its byte-identical copy lose to the 1080p re-encode: the copy goes with it.
    syntheticRecord("lib/720p.mp4", { size: 1000, width: 1280, height: 720, durationSec: 300, fingerprints: fp({ durationSec: 300 }) }),
    syntheticRecord("backup/720p copy.mp4", { size: 1000, width: 1280, height: 720, durationSec: 300, fingerprints: fp({ durationSec: 300 }) }),
    syntheticRecord("lib/1080p.mp4", { size: 3000, width: 1920, height: 1080, durationSec: 300, fingerprints: fp({ durationSec: 300, noise: 3 }) }),
    syntheticRecord("lib/clip.mp4", { size: 400, width: 1920, height: 1080, durationSec: 120, fingerprints: fp({ durationSec: 120, start: 100, noise: 2 }) }),
    syntheticRecord("lib/other.mp4", { size: 1000, durationSec: 300, fingerprints: fingerprintsOf(randomContent(r, 300, 5), { durationSec: 300 }, r) }),
  ]);
  const contents = { "lib/720p.mp4": "A", "backup/720p copy.mp4": "A", "lib/other.mp4": "B" };
  return { entries, hasher: hasherOver(contents) };
}

describe("findDuplicates + buildReport", () => {
  it("keeps the longer video of a subset only for real content: a black or test-card lead-in leaves it to the policy", async () => {
    const r = seededRandom(7);
    const content = randomContent(r, 60, 5);
    const card = randomContent(r, 10, 10);
    const testCard = [...fingerprintsOf(card, { durationSec: 10, count: 3 }, r), ...fingerprintsOf(content, { durationSec: 60, count: 13 }, r).map((f) => ({ ...f, t: f.t + 10 }))];
    const entries = entriesOf([
      syntheticRecord("lib/plain.mp4", { size: 900, durationSec: 60, bitrate: 4e6, fingerprints: fingerprintsOf(content, { durationSec: 60 }, r) }),
      // 10 s of black in front, at a lower bitrate.
      syntheticRecord("lib/black-intro.mp4", { size: 1000, durationSec: 70, bitrate: 2e6, fingerprints: fingerprintsOf(content, { durationSec: 70, start: -10, noise: 2 }, r) }),
      // 10 s of one still picture in front.
      syntheticRecord("lib/test-card.mp4", { size: 1100, durationSec: 70, bitrate: 2e6, fingerprints: testCard }),
      // 20 s more of the film itself: a real superset.
      syntheticRecord("lib/longer.mp4", { size: 1200, durationSec: 80, bitrate: 2e6, fingerprints: fingerprintsOf(randomContent(r, 20, 5), { durationSec: 20, count: 4 }, r).concat(fingerprintsOf(content, { durationSec: 60, count: 12 }, r).map((f) => ({ ...f, t: f.t + 20 }))) }),
    ]);
    const { groups } = await findDuplicates(entries, dedupOptions({ quality: 5 }), hasherOver({}));
    const shape = groups.map((g) => [g.type, g.winner.key, g.losers.map((l) => l.entry.key).sort()]);
    expect(shape).toEqual([["subset", "lib/longer.mp4", ["lib/black-intro.mp4", "lib/plain.mp4", "lib/test-card.mp4"]]]);
    // Without the real superset, the lead-ins lose to the better copy on the policy's terms.
    const { groups: noSuperset } = await findDuplicates(entries.slice(0, 3), dedupOptions({ quality: 5 }), hasherOver({}));
    expect(noSuperset.map((g) => [g.type, g.winner.key, g.losers.map((l) => l.entry.key).sort()])).toEqual([["visual", "lib/plain.mp4", ["lib/black-intro.mp4", "lib/test-card.mp4"]]]);
    expect(noSuperset[0].losers.map((l) => l.reason).join("\n")).toMatch(/lower codec-aware bitrate/);
  });

  it("folds an exact group into the visual group its winner lost, and reports the clip as a subset", async () => {
    const { entries, hasher } = await scenario();
    const options = dedupOptions({ quality: 5 });
    const { groups, stages } = await findDuplicates(entries, options, hasher);
    const report = buildReport(groups, { bucket: "lib", options, stages, records: entries.length, startedAt: new Date("2025-01-02T03:04:05Z"), elapsedMs: 1234 });
    expect(DedupReport.parse(report)).toEqual(report);
    const shape = report.groups.map((g) => [g.type, g.winner.key, g.losers.map((l) => l.key).sort()]);
    expect(shape).toEqual([
      ["visual", "lib/1080p.mp4", ["backup/720p copy.mp4", "lib/720p.mp4"]],
      ["subset", "lib/1080p.mp4", ["lib/clip.mp4"]],
    ]);
    const visual = report.groups[0];
    expect(visual.winner).toMatchObject({ uri: "s3://lib/lib/1080p.mp4", size: 3000, reason: expect.stringMatching(/^best_quality: 1920×1080/) });
    // Of the identical pair, the one whose key sorts first stood for both in the visual stage.
    expect(visual.losers.find((l) => l.key === "lib/720p.mp4")!.reason).toMatch(/^exact duplicate of backup\/720p copy\.mp4, which also goes: byte-identical copy/);
    expect(visual.losers.find((l) => l.key === "backup/720p copy.mp4")).toMatchObject({ distance: expect.any(Number), reason: expect.stringMatching(/same picture .*lower resolution/) });
    expect(report.groups[1].winner.reason).toMatch(/^longest: contains the others/);
    expect(report.summary).toMatchObject({
      total_groups: 2,
      total_losers: 3,
      bytes_reclaimable: 2400,
      scan_time: "2025-01-02T03:04:05.000Z",
      elapsed_sec: 1.234,
      groups_by_type: { exact: 0, visual: 1, subset: 1 },
      // Same size: 720p pair and other.mp4 are read in part; only the pair whose parts agree in full.
      bytes_read: 300 + 2000,
    });
    expect((report.summary.stages as Array<{ stage: string }>).map((s) => s.stage)).toEqual(["size", "recorded_hashes", "partial_hash", "sha256", "candidates", "visual", "subset"]);
  });

  it("plans each loser once and never a winner, and the page escapes what it shows", async () => {
    const { entries, hasher } = await scenario();
    const options = dedupOptions({ quality: 5 });
    const { groups, stages } = await findDuplicates(entries, options, hasher);
    const report = buildReport(groups, { bucket: "lib", options, stages, records: 5, startedAt: new Date(), elapsedMs: 1 });
    const { actions, refused } = planApply(report, "move", "orig/");
    expect(actions.map((a) => [a.key, a.to]).sort()).toEqual([
      ["backup/720p copy.mp4", "orig/backup/720p copy.mp4"],
      ["lib/720p.mp4", "orig/lib/720p.mp4"],
      ["lib/clip.mp4", "orig/lib/clip.mp4"],
    ]);
    expect(refused).toEqual([]);
    // A hand-edited report that removes a file another group keeps: refused.
    const edited = structuredClone(report);
    edited.groups[1].losers.push({ ...edited.groups[1].losers[0], key: "lib/1080p.mp4" });
    expect(planApply(edited, "delete", "orig/").refused).toEqual([{ key: "lib/1080p.mp4", why: "another group keeps it" }]);
    edited.groups[0].winner.key = "<script>alert(1)</script>.mp4";
    const html = renderReportHtml(edited);
    expect(html).not.toContain("<script>alert");
    expect(html).toContain("&#60;script&#62;");
  });
});
