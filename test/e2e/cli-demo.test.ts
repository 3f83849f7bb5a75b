import { access, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { reelpress } from "../kit/cli.ts";
import { CLIPS, QUICK_CLIPS, stallReason } from "../../cli/commands/demo.ts";
import { expectHelp, expectOneLineError, jsonLines } from "./cli-helpers.ts";

const exists = (p: string | URL) => access(p).then(() => true, () => false);
const hasReportCommand = await exists(new URL("../../cli/commands/report.ts", import.meta.url));

describe("reelpress demo", () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));
  const tempDir = async () => {
    const d = await mkdtemp(path.join(os.tmpdir(), "rp-demo-"));
    dirs.push(d);
    return d;
  };
  // The demo brings its own store: whatever this shell points at is ignored.
  const env = { ...process.env, NO_COLOR: "1", AWS_ENDPOINT_URL: "http://127.0.0.1:1", REELPRESS_BUCKET: "elsewhere" };

  it("has a clip for every decision-table row, duplicates and a non-video; --quick keeps every final state", () => {
    const shows = CLIPS.map((c) => c.shows).join("\n");
    for (const row of ["not MP4, 4K", "not MP4, below 4K", "MP4, 4K", "MP4 HEVC", "below 0.5 Mbit/s", "3 Mbit/s", "MP4 VP9", "exact duplicate", "visual duplicate", "failed"]) {
      expect(shows).toContain(row);
    }
    expect(QUICK_CLIPS.every((k) => CLIPS.some((c) => c.key === k))).toBe(true);
  });

  it("--quick runs the whole product on the embedded store: generate, upload, process, status, report", async () => {
    const dir = path.join(await tempDir(), "demo");
    const r = await reelpress(["demo", "--quick", "--data-dir", dir], { env, timeout: 240_000 });
    const out = r.stdout;
    expect(out).toMatch(/^1\/5 Starting the embedded store and the pipeline  \(data in .*\)\n    endpoint http:\/\/127\.0\.0\.1:\d+, bucket reelpress\n/);
    expect(out).toMatch(/\n2\/5 Making 4 clips with ffmpeg/);
    expect(out).toMatch(/\n3\/5 Uploading\n    4 file\(s\), .* to s3:\/\/reelpress\/demo\/\n/);
    expect(out).toMatch(/\n      compressed\s+1 /);
    expect(out).toMatch(/\n      skipped\s+2 /);
    expect(out).toMatch(/\n      failed\s+1 /);
    expect(out).toMatch(/\n      demo\/trip\/notes\.mkv  \S/);
    expect(out).toContain("    All 4 processed: ");
    expect(out).toContain(`'reelpress dev --data-dir ${path.join(dir, "store")}'`);
    // Not a terminal: progress and the pipeline's own log arrive as JSON lines.
    const events = jsonLines(r.stderr);
    expect(events.filter((e) => e.event === "demo.progress").at(-1)).toMatchObject({ processed: 4, expected: 4, remaining: 0 });
    if (hasReportCommand) {
      expect(r.exitCode, r.stderr.slice(-2000)).toBe(0);
      expect(out).toMatch(/\n5\/5 Duplicate report\n    \d+ group\(s\) of duplicates/);
      expect(out).toMatch(/\n {6}exact\s+keep demo\/.*low-bitrate.*_skip\.mp4/);
      expect(out).toContain(`HTML report: ${path.join(dir, "report.html")}`);
      expect(await exists(path.join(dir, "report.html"))).toBe(true);
    } else {
      // A build without dedup says so plainly instead of pretending.
      expect(r.exitCode).toBe(1);
      expect(out).toContain("This build has no 'reelpress report' command yet, so there is no duplicate report to show.");
    }
  });

  it("explains a stalled pipeline from the queues rather than waiting forever", () => {
    const zero = { count: 0, bytes: 0 };
    const base = { compressed: zero, skipped: zero, in_progress: zero, remaining: { count: 2, bytes: 9 }, failed: zero, saved_bytes: 0, runners: [],
      disk: { total_bytes: 9, library_bytes: 9, backup_bytes: 0, system_bytes: 0, reclaimable_bytes: 0 } };
    const q = (encode: number, plan = 0) => ({ ingest: { visible: 0, in_flight: 0 }, plan: { visible: plan, in_flight: 0 }, encode: { visible: encode, in_flight: 0 }, encode_dlq: { visible: 0, in_flight: 0 } });
    expect(stallReason({ ...base, queues: q(2) })).toMatch(/^2 encode job\(s\) wait in the encode queue and no runner takes them/);
    expect(stallReason({ ...base, queues: q(0, 1) })).toMatch(/plan queue and the strategy function does not take them/);
    expect(stallReason({ ...base, queues: q(0) })).toMatch(/^2 video\(s\) were never picked up/);
  });

  it("never wipes a folder it did not make, and answers --help and bad usage", async () => {
    const foreign = await tempDir();
    await mkdir(path.join(foreign, "mine"));
    await writeFile(path.join(foreign, "mine", "thesis.tex"), "precious");
    expectOneLineError(await reelpress(["demo", "--data-dir", foreign], { env }), 1, /is not empty and not a demo folder; pick a new one with --data-dir\.$/);
    expect(await exists(path.join(foreign, "mine", "thesis.tex"))).toBe(true);
    expectHelp(await reelpress(["demo", "--help"], { env }), "demo");
    expectOneLineError(await reelpress(["demo", "--timeout", "soon"], { env }), 2, /^--timeout must be a positive number of seconds/);
    expectOneLineError(await reelpress(["demo", "now"], { env }), 2, /^demo takes no arguments/);
  });
});
