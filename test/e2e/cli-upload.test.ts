import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, HeadObjectCommand, ListMultipartUploadsCommand } from "@aws-sdk/client-s3";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REELPRESS, reelpress } from "../kit/cli.ts";
import { videoFixture } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { SGR, expectHelp, expectOneLineError, hasScript, jsonLines, reelpressInTty } from "./cli-helpers.ts";

const md5 = (b: Uint8Array) => createHash("md5").update(b).digest("hex");

describe("reelpress upload", () => {
  let stack: TestStack;
  let dir: string;
  let library: string;
  beforeAll(async () => {
    stack = await startTestStack();
    dir = await mkdtemp(path.join(os.tmpdir(), "rp-upload-"));
    // holiday/ a.mp4, sub/b c.MKV (a real video each), notes.txt; plus a 12 MiB file that needs two parts.
    library = path.join(dir, "holiday");
    await mkdir(path.join(library, "sub"), { recursive: true });
    await copyFile(await videoFixture("mp4_h264_noaudio"), path.join(library, "a.mp4"));
    await copyFile(await videoFixture("mkv_h264"), path.join(library, "sub", "b c.MKV"));
    await writeFile(path.join(library, "notes.txt"), "not a video");
    await writeFile(path.join(dir, "big.mov"), Buffer.alloc(12 * 1024 ** 2, 7));
  });
  afterAll(async () => {
    await stack.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const object = async (key: string) =>
    new Uint8Array(await (await stack.s3.send(new GetObjectCommand({ Bucket: "reelpress", Key: key }))).Body!.transformToByteArray());

  it("uploads folders recursively and files, keeping relative paths under --prefix, and lists what it skipped", async () => {
    const r = await reelpress(["upload", library, path.join(dir, "big.mov"), "--prefix", "lib", "--json"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout);
    expect(summary.uploaded.map((u: { key: string }) => u.key).sort()).toEqual(["lib/big.mov", "lib/holiday/a.mp4", "lib/holiday/sub/b c.MKV"]);
    expect(summary.skipped).toEqual([{ path: path.join(library, "notes.txt"), reason: "not a supported video (.txt)" }]);
    expect(summary).toMatchObject({ failed: [], not_uploaded: [], interrupted: false });
    expect(summary.bytes).toBe(summary.uploaded.reduce((n: number, u: { size: number }) => n + u.size, 0));
    for (const [file, key] of [[path.join(library, "sub", "b c.MKV"), "lib/holiday/sub/b c.MKV"], [path.join(dir, "big.mov"), "lib/big.mov"]]) {
      expect(md5(await object(key))).toBe(md5(await readFile(file)));
    }
    // 12 MiB went up in 8 MiB parts: a multipart ETag; the content type follows the extension.
    const head = await stack.s3.send(new HeadObjectCommand({ Bucket: "reelpress", Key: "lib/big.mov" }));
    expect(head.ETag).toMatch(/-2"$/);
    expect(head.ContentType).toBe("video/quicktime");
  });

  it("writes JSON lines to a non-terminal stderr and a human summary to stdout", async () => {
    const r = await reelpress(["upload", library, "--prefix", "again"], { env: stack.env });
    expect(r.exitCode, r.stderr).toBe(0);
    const events = jsonLines(r.stderr);
    expect(events.find((e) => e.event === "upload.skipped")).toMatchObject({ path: path.join(library, "notes.txt") });
    expect(events.filter((e) => e.event === "upload.file").map((e) => e.key).sort()).toEqual(["again/holiday/a.mp4", "again/holiday/sub/b c.MKV"]);
    expect(events.every((e) => typeof e.time === "string")).toBe(true);
    expect(r.stdout).toMatch(/^Uploaded 2 file\(s\), .* to s3:\/\/reelpress\/again\/ in [\d.]+s\.\nSkipped 1:\n  .*notes\.txt  not a supported video/);
    expect(r.stdout).not.toMatch(SGR);
  });

  it.skipIf(!hasScript)("draws one progress bar on a terminal, in colour unless NO_COLOR is set", async () => {
    const plain = await reelpressInTty(["upload", path.join(dir, "big.mov"), "--prefix", "tty"], stack.env);
    expect(plain.exitCode, plain.screen).toBe(0);
    expect(plain.screen).toMatch(/\r1\/1 files \[█+\] 100%  12\.0 MiB\/12\.0 MiB  .*\/s  ETA \d+:\d\d/);
    expect(plain.screen).not.toMatch(SGR);
    expect(plain.screen).not.toContain('{"time"');
    const { NO_COLOR: _, ...colourEnv } = stack.env;
    const coloured = await reelpressInTty(["upload", path.join(dir, "big.mov"), "--prefix", "tty"], colourEnv);
    expect(coloured.screen).toMatch(SGR);
  });

  it("on Ctrl+C aborts the upload in flight and leaves neither an object nor a pending multipart upload", async () => {
    const huge = path.join(dir, "huge.mkv");
    await writeFile(huge, "");
    await truncate(huge, 256 * 1024 ** 2);
    const child = execa(REELPRESS, ["upload", huge, "--prefix", "interrupted"], { env: stack.env, reject: false });
    let err = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        // Interrupt once the first part is up, so the multipart upload exists.
        if (/"upload.progress","loaded":[1-9]/.test(err)) resolve();
      });
      child.on("exit", () => reject(new Error(`upload ended before it could be interrupted:\n${err}`)));
    });
    child.kill("SIGINT");
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(130);
    expect(String(r.stdout)).toMatch(/Uploaded 0 file\(s\)[\s\S]*Not uploaded 1 \(nothing partial was left behind\):\n  .*huge\.mkv/);
    await expect(stack.s3.send(new HeadObjectCommand({ Bucket: "reelpress", Key: "interrupted/huge.mkv" }))).rejects.toMatchObject({ name: "NotFound" });
    const uploads = await stack.s3.send(new ListMultipartUploadsCommand({ Bucket: "reelpress", Prefix: "interrupted/" }));
    expect(uploads.Uploads ?? []).toEqual([]);
  });

  it("answers --help, and bad usage or missing things with one sentence and the right exit status", async () => {
    expectHelp(await reelpress(["upload", "--help"], { env: stack.env }), "upload");
    expectOneLineError(await reelpress(["upload"], { env: stack.env }), 2, /^Name at least one file or folder/);
    expectOneLineError(await reelpress(["upload", library, "--frobnicate"], { env: stack.env }), 2, /^Unknown option '--frobnicate'/);
    expectOneLineError(await reelpress(["upload", path.join(dir, "nope.mp4")], { env: stack.env }), 1, /^No such file or folder: .*nope\.mp4\.$/);
    expectOneLineError(await reelpress(["upload", path.join(dir, "big.mov"), "--bucket", "no-such-bucket"], { env: stack.env }), 1, /^Bucket 'no-such-bucket' does not exist at http/);
    const twice = await reelpress(["upload", path.join(library, "a.mp4"), path.join(library, "a.mp4")], { env: stack.env });
    expectOneLineError(twice, 2, /would both upload to 'a\.mp4'/);
    const down = await reelpress(["upload", path.join(dir, "big.mov")], { env: { ...stack.env, AWS_ENDPOINT_URL: "http://127.0.0.1:9" } });
    expectOneLineError(down, 1, /^Cannot reach http:\/\/127\.0\.0\.1:9 .*ECONNREFUSED/);
  });
});
