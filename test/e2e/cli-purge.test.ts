import { ListObjectsV2Command, PutObjectCommand } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { headObject } from "../../shared/io/objects.ts";
import { reelpress } from "../kit/cli.ts";
import { publishedOutput } from "../kit/published.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { expectHelp, expectOneLineError } from "./cli-helpers.ts";

const BACKUPS = "orig_video_to_delete/";

describe("reelpress purge", () => {
  let stack: TestStack;
  const put = async (key: string, body: Buffer, metadata?: Record<string, string>) =>
    (await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: body, Metadata: metadata }))).ETag!;

  beforeAll(async () => {
    stack = await startTestStack();
    await publishedOutput(stack, "lib/a.avi", "lib/a.mp4", 3000, 1000);
    await publishedOutput(stack, "lib/c.mkv", "lib/c.mp4", 2000, 500);
    // Replaced after the publish by other bytes of the same size: not the backup the publish proved.
    await put(`${BACKUPS}lib/c.mkv`, Buffer.alloc(2000, "other"));
    // An apply move and a file someone put there: nothing ties them to an output.
    await put(`${BACKUPS}lib/moved.mp4`, Buffer.alloc(700, 1));
  });
  afterAll(() => stack.stop());

  const list = async () => (await stack.s3.send(new ListObjectsV2Command({ Bucket: "reelpress", Prefix: BACKUPS }))).Contents?.map((o) => o.Key).sort();

  it("status --json says what the disk holds, what the backups hold and what a purge would free", async () => {
    const r = await reelpress(["status", "--json"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    const { disk, saved_bytes } = JSON.parse(r.stdout);
    expect(saved_bytes).toBe(3500);
    // As the records say (status reads no listing): the backups their outputs name, an apply move not
    // among them, each vouched for by its record; purge checks each one and keeps the replaced c.mkv.
    expect(disk).toMatchObject({ library_bytes: 1500, backup_bytes: 5000, reclaimable_bytes: 5000 });
    expect(disk.total_bytes).toBe(1500 + 5000 + disk.system_bytes);
  });

  it("--dry-run lists what it would delete and what stays, with why, and deletes nothing", async () => {
    const r = await reelpress(["purge", "--older-than", "0", "--dry-run"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/would delete  orig_video_to_delete\/lib\/a\.avi  2\.9 KiB, original of lib\/a\.mp4/);
    expect(r.stdout).toMatch(/keep +orig_video_to_delete\/lib\/c\.mkv  .*it changed since the publish that made it/);
    expect(r.stdout).toMatch(/keep +orig_video_to_delete\/lib\/moved\.mp4  .*no compressed output names it/);
    expect(r.stdout).toContain("Would delete 1 backup(s), freeing 2.9 KiB; keeping 2.");
    expect(await list()).toHaveLength(3);
  });

  it("keeps a backup younger than --older-than", async () => {
    const r = await reelpress(["purge", "--older-than", "1", "--yes"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/keep +orig_video_to_delete\/lib\/a\.avi  .*younger than 1 day/);
    expect(r.stdout).toContain("Would delete 0 backup(s), freeing 0 B; keeping 3.");
    expect(await list()).toHaveLength(3);
  });

  it("refuses to delete off a terminal without --yes, after listing", async () => {
    const r = await reelpress(["purge", "--older-than", "0"], { env: stack.env });
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toContain("Would delete 1 backup(s)");
    expect(r.stderr.trim()).toMatch(/^Refusing to delete backups without a confirmation; run with --yes/);
    expect(await list()).toHaveLength(3);
  });

  it("--yes deletes only the backup tied to a verified output", async () => {
    const r = await reelpress(["purge", "--older-than", "0", "--yes"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/deleted +orig_video_to_delete\/lib\/a\.avi/);
    expect(r.stdout).toContain("Deleted 1 backup(s), freed 2.9 KiB.");
    expect(await list()).toEqual([`${BACKUPS}lib/c.mkv`, `${BACKUPS}lib/moved.mp4`]);
    expect(await headObject(stack, "lib/a.mp4")).toBeDefined();
    const status = JSON.parse((await reelpress(["status", "--json"], { env: stack.env })).stdout);
    // The purge noted on lib/a.mp4's record that its backup is gone.
    expect(status.disk).toMatchObject({ backup_bytes: 2000, reclaimable_bytes: 2000 });
  });

  it("answers --help and bad usage with one sentence", async () => {
    expectHelp(await reelpress(["purge", "--help"], { env: stack.env }), "purge");
    expectOneLineError(await reelpress(["purge"], { env: stack.env }), 2, /^purge needs --older-than DAYS/);
    expectOneLineError(await reelpress(["purge", "--older-than", "1.5"], { env: stack.env }), 2, /--older-than takes a whole number of days/);
    expectOneLineError(await reelpress(["purge", "--older-than", "x"], { env: stack.env }), 2, /--older-than takes a whole number of days/);
    expectOneLineError(await reelpress(["purge", "--older-than", "1", "--dry-run", "--yes"], { env: stack.env }), 2, /do not go together/);
  });
});
