// `reelpress report` and `reelpress apply` as a user runs them, against the folder store: dry run, the
// refusal without --force off a terminal, moves to the backup prefix, skipped changed files,
// untouched winners, a second run that changes nothing, and --delete.
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { patchRecord, readRecord } from "../../shared/io/manifest.ts";
import { DedupReport } from "../../shared/schemas.ts";
import { headObject } from "../../shared/io/objects.ts";
import { execa } from "execa";
import { REELPRESS, reelpress } from "../kit/cli.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { expectOneLineError, hasScript } from "./cli-helpers.ts";

describe("reelpress report + apply", () => {
  let stack: TestStack;
  let dir: string;
  const put = async (key: string, fill: number, size = 200_000) => {
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.config.bucket, Key: key, Body: Buffer.alloc(size, fill) }));
    const head = (await headObject(stack, key))!;
    await patchRecord(stack, key, { size: head.size, etag: head.etag, lastModified: head.lastModified?.toISOString(), state: "probed" });
    return head;
  };
  const etag = async (key: string) => (await headObject(stack, key))?.etag;

  beforeAll(async () => {
    stack = await startTestStack();
    dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-apply-"));
    await put("a/one.mp4", 1);
    await put("a/two.mp4", 1);
    await put("a/three.mp4", 1);
    await put("b/one.mkv", 2, 150_000);
    await put("b/two.mkv", 2, 150_000);
    await put("solo.mp4", 3, 150_000);
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("reports, dry-runs, refuses without --force, applies, and is safe to run again", async () => {
    const file = path.join(dir, "dupes.json");
    const built = await reelpress(["report", "--quality", "2", "--out", file], { env: stack.env });
    expect(built.exitCode, built.stderr).toBe(0);
    const report = DedupReport.parse(JSON.parse(built.stdout));
    expect(DedupReport.parse(JSON.parse(await readFile(file, "utf8")))).toEqual(report);
    expect(report.groups.map((g) => [g.winner.key, g.losers.map((l) => l.key).sort()])).toEqual([
      ["a/one.mp4", ["a/three.mp4", "a/two.mp4"]],
      ["b/one.mkv", ["b/two.mkv"]],
    ]);
    const before = { a1: await etag("a/one.mp4"), b1: await etag("b/one.mkv") };

    const dry = await reelpress(["apply", file, "--dry-run"], { env: stack.env });
    expect(dry.exitCode).toBe(0);
    expect(dry.stdout).toContain("would move    a/two.mp4 → orig_video_to_delete/a/two.mp4");
    expect(dry.stdout).toMatch(/Would move under orig_video_to_delete\/ 3 file\(s\), reclaiming 5\d\d\.\d KiB\./);
    expect(await etag("a/two.mp4")).toBeDefined();

    expectOneLineError(await reelpress(["apply", file], { env: stack.env }), 2, /--force/);
    expect(await etag("a/two.mp4")).toBeDefined();

    // Changed after the report: must be left alone.
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.config.bucket, Key: "a/three.mp4", Body: Buffer.alloc(200_000, 9) }));
    const applied = await reelpress(["apply", file, "--force"], { env: stack.env });
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/skipped\s+a\/three\.mp4: it changed since the report/);
    expect(applied.stdout).toMatch(/Moved 2 file\(s\), reclaimed 341\.8 KiB; skipped 1/);
    expect(await headObject(stack, "a/two.mp4")).toBeUndefined();
    expect(await headObject(stack, "b/two.mkv")).toBeUndefined();
    expect((await headObject(stack, "orig_video_to_delete/a/two.mp4"))?.size).toBe(200_000);
    expect((await headObject(stack, "orig_video_to_delete/b/two.mkv"))?.size).toBe(150_000);
    expect(await readRecord(stack, "a/two.mp4")).toBeUndefined();
    expect(await etag("a/three.mp4")).toBeDefined();
    expect({ a1: await etag("a/one.mp4"), b1: await etag("b/one.mkv") }).toEqual(before);

    const again = await reelpress(["apply", file, "--force"], { env: stack.env });
    expect(again.exitCode).toBe(0);
    expect(again.stdout).toMatch(/done\s+a\/two\.mp4/);
    expect(again.stdout).toMatch(/Moved 0 file\(s\)/);
    expect((await headObject(stack, "orig_video_to_delete/a/two.mp4"))?.size).toBe(200_000);
  });

  it("deletes with --delete, from the latest stored report", async () => {
    await put("c/one.mp4", 5, 120_000);
    await put("c/two.mp4", 5, 120_000);
    expect((await reelpress(["report", "--quality", "2"], { env: stack.env })).exitCode).toBe(0);
    const r = await reelpress(["apply", "latest", "--force", "--delete"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deleted\s+c\/two\.mp4/);
    expect(await headObject(stack, "c/two.mp4")).toBeUndefined();
    expect(await headObject(stack, "orig_video_to_delete/c/two.mp4")).toBeUndefined();
    expect(await headObject(stack, "c/one.mp4")).toBeDefined();
  });

  it("skips a loser whose winner changed since the report", async () => {
    await put("d/one.mp4", 6, 110_000);
    await put("d/two.mp4", 6, 110_000);
    const file = path.join(dir, "d.json");
    expect((await reelpress(["report", "--quality", "2", "--out", file], { env: stack.env })).exitCode).toBe(0);
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.config.bucket, Key: "d/one.mp4", Body: Buffer.alloc(110_000, 8) }));
    const r = await reelpress(["apply", file, "--force"], { env: stack.env });
    expect(r.stdout).toMatch(/skipped\s+d\/two\.mp4: the file kept in its place, d\/one\.mp4, changed since the report/);
    expect(await headObject(stack, "d/two.mp4")).toBeDefined();
  });

  it.runIf(hasScript)("asks on a terminal, and does nothing unless told yes", async () => {
    await put("e/one.mp4", 4, 100_000);
    await put("e/two.mp4", 4, 100_000);
    const file = path.join(dir, "e.json");
    expect((await reelpress(["report", "--quality", "2", "--out", file], { env: stack.env })).exitCode).toBe(0);
    // util-linux `script` runs it on a pseudo-terminal and types what `input` holds.
    const onTty = (answer: string) =>
      execa("script", ["-qec", `${REELPRESS} apply ${file}`, "/dev/null"], { env: { ...stack.env, SHELL: "/bin/sh" }, input: answer, reject: false, timeout: 60_000 });
    const no = await onTty("n\n");
    expect(String(no.stdout)).toMatch(/Move under orig_video_to_delete\/ \d+ file\(s\), .*\? \[y\/N\]/);
    expect(String(no.stdout)).toContain("Nothing changed.");
    expect(await headObject(stack, "e/two.mp4")).toBeDefined();
    const yes = await onTty("y\n");
    expect(String(yes.stdout)).toMatch(/moved\s+e\/two\.mp4/);
    expect(await headObject(stack, "e/two.mp4")).toBeUndefined();
  });

  it("rejects what is not a report, and bad settings, in one sentence", async () => {
    const bogus = path.join(dir, "bogus.json");
    await writeFile(bogus, JSON.stringify({ hello: 1 }));
    expectOneLineError(await reelpress(["apply", bogus, "--dry-run"], { env: stack.env }), 1, /not a reelpress report/);
    expectOneLineError(await reelpress(["apply", path.join(dir, "missing.json")], { env: stack.env }), 1, /Cannot read report/);
    expectOneLineError(await reelpress(["report", "--quality", "7"], { env: stack.env }), 2, /quality/);
    expectOneLineError(await reelpress(["report", "--policy", "random"], { env: stack.env }), 2, /policy/);
  });
});
