import { readFile } from "node:fs/promises";
import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { patchRecord, readRecord } from "../../shared/io/manifest.ts";
import { copyToFreeName, headObject } from "../../shared/io/objects.ts";
import { isV2Output } from "../../cli/commands/migrate.ts";
import { reelpress } from "../kit/cli.ts";
import { brokenFixture, makeVideo, videoFixture } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { expectHelp, expectOneLineError, jsonLines } from "./cli-helpers.ts";

/** What compress_v2 wrote: HEVC with its marker in the container's comment tag. */
const v2Video = (ext: "mp4" | "mkv") =>
  makeVideo({ ext, vcodec: "libx265", pixFmt: "yuv420p", durationSec: 1, extra: ["-metadata", "comment=compressed_hevc_v2"] });

describe("reelpress migrate", () => {
  let stack: TestStack;
  const put = async (key: string, file: string) =>
    stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: await readFile(file) }));
  const keys = async () =>
    ((await stack.s3.send(new ListObjectsV2Command({ Bucket: "reelpress" }))).Contents ?? []).map((o) => o.Key!).filter((k) => !k.startsWith(".reelpress/")).sort();

  beforeAll(async () => {
    stack = await startTestStack();
    await put("poker/a.mp4", await v2Video("mp4"));
    await put("poker/deep/b c.mkv", await v2Video("mkv"));
    await put("poker/plain.mp4", await videoFixture("mp4_h264_noaudio"));
    await put("poker/broken.mkv", await brokenFixture("text.mkv"));
    // A v2 file whose new name is taken by a different object: neither may be touched.
    await put("other/x.mp4", await v2Video("mp4"));
    await put("other/x_compressed.mp4", await videoFixture("mp4_h264_noaudio"));
    const a = (await headObject(stack, "poker/a.mp4"))!;
    await patchRecord(stack, "poker/a.mp4", { size: a.size, etag: a.etag, state: "probed" });
  });
  afterAll(() => stack.stop());

  it("tells v2 outputs by their container tag, not v4 ones that kept it", () => {
    expect(isV2Output({ comment: "compressed_hevc_v2" })).toBe(true);
    expect(isV2Output({ compressed_hevc_v2: "1" })).toBe(true);
    expect(isV2Output({ comment: "compressed_hevc_v2", "reelpress-state": "compressed_h264_v4" })).toBe(false);
    expect(isV2Output({ comment: "holiday" })).toBe(false);
  });

  it("--dry-run lists what it would rename and changes nothing", async () => {
    const before = await keys();
    const r = await reelpress(["migrate", "--dry-run", "--prefix", "poker", "--json"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ dry_run: true, interrupted: false, checked: 4, conflicts: [], errors: [] });
    expect(out.renamed.sort((x: { from: string }, y: { from: string }) => x.from.localeCompare(y.from))).toEqual([
      { from: "poker/a.mp4", to: "poker/a_compressed.mp4" },
      { from: "poker/deep/b c.mkv", to: "poker/deep/b c_compressed.mkv" },
    ]);
    expect(out.unreadable).toEqual([{ key: "poker/broken.mkv", error: expect.any(String) }]);
    expect(await keys()).toEqual(before);
  });

  it("renames v2 outputs, drops their stale manifest records, and finishes a rename cut short by a crash", async () => {
    // A crash between copy and delete left both names: the re-run must finish the job.
    await copyToFreeName(stack, "poker/deep/b c.mkv", "poker/deep/b c_compressed.mkv");
    const r = await reelpress(["migrate", "--prefix", "poker"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^Checked 4 of 4 video\(s\) under s3:\/\/reelpress\/poker\/: renamed 2\./);
    expect(r.stdout).toContain("1 could not be read by ffprobe and were left alone.");
    const events = jsonLines(r.stderr);
    expect(events.filter((e) => e.event === "migrate.renamed")).toHaveLength(2);
    expect((await keys()).filter((k) => k.startsWith("poker/"))).toEqual([
      "poker/a_compressed.mp4", "poker/broken.mkv", "poker/deep/b c_compressed.mkv", "poker/plain.mp4",
    ]);
    expect(await readRecord(stack, "poker/a.mp4")).toBeUndefined();
    // Re-running finds nothing left to do and probes only what was not renamed.
    const again = await reelpress(["migrate", "--prefix", "poker", "--json"], { env: stack.env });
    expect(JSON.parse(again.stdout)).toMatchObject({ checked: 2, renamed: [] });
  });

  it("never overwrites a different object that already has the new name, and says so with exit 1", async () => {
    const before = await headObject(stack, "other/x_compressed.mp4");
    const r = await reelpress(["migrate", "--prefix", "other/"], { env: stack.env });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain("1 not renamed: a different object already has the new name.");
    expect(jsonLines(r.stderr)).toContainEqual(expect.objectContaining({ event: "migrate.conflict", key: "other/x.mp4" }));
    expect(await headObject(stack, "other/x.mp4")).toBeDefined();
    expect((await headObject(stack, "other/x_compressed.mp4"))!.etag).toBe(before!.etag);
  });

  it("answers --help and bad usage", async () => {
    expectHelp(await reelpress(["migrate", "--help"], { env: stack.env }), "migrate");
    expectOneLineError(await reelpress(["migrate", "poker/"], { env: stack.env }), 2, /^migrate takes no arguments/);
    expectOneLineError(await reelpress(["migrate", "--dry-run", "--bucket", "gone-bucket"], { env: stack.env }), 1, /^Bucket 'gone-bucket' does not exist/);
  });
});
