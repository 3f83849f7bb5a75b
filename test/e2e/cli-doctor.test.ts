import { chmod, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reelpress } from "../kit/cli.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { SGR, expectHelp, expectOneLineError, hasScript, reelpressInTty } from "./cli-helpers.ts";

const NAMES = ["node", "ffmpeg", "ffprobe", "nvenc", "libx264", "endpoint", "credentials", "bucket", "queues", "summary", "watches"];
type Check = { name: string; status: string; detail: string; fix?: string };

describe("reelpress doctor", () => {
  let stack: TestStack;
  let fakeBin: string;
  beforeAll(async () => {
    stack = await startTestStack();
    // An ffmpeg that is on the PATH but broken, as after a half-done upgrade.
    fakeBin = await mkdtemp(path.join(os.tmpdir(), "rp-doctor-"));
    for (const tool of ["ffmpeg", "ffprobe"]) {
      await writeFile(path.join(fakeBin, tool), "#!/bin/sh\necho 'error while loading shared libraries: libavdevice.so.59' >&2\nexit 127\n");
      await chmod(path.join(fakeBin, tool), 0o755);
    }
  });
  afterAll(async () => {
    await stack.stop();
    await rm(fakeBin, { recursive: true, force: true });
  });

  it("passes on a healthy setup: one line per check, NVENC judged by a real test encode", async () => {
    const r = await reelpress(["doctor"], { env: stack.env });
    expect(r.exitCode, r.stdout).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines.slice(0, NAMES.length).map((l) => l.slice(6).split(" ")[0])).toEqual(NAMES);
    expect(lines.at(-1)).toBe("All set: reelpress can run here.");
    expect(r.stdout).toMatch(/\nok    ffmpeg       ffmpeg version \S+/);
    expect(r.stdout).toMatch(/\nok    bucket       reelpress is there and readable\n/);
    expect(r.stdout).toMatch(/failed encodes go to reelpress-encode-dlq/);
    // Without a GPU the test encode fails and says why; with one it succeeds. Either way libx264 works here.
    expect(r.stdout).toMatch(/\n(ok    nvenc        one-frame h264_nvenc test encode succeeded|warn  nvenc        not usable \(.+\); runners use libx264  → .+)\n/);
    expect(r.stdout).not.toMatch(SGR);
  });

  it("--json gives every check with its status, detail and fix", async () => {
    const r = await reelpress(["doctor", "--json"], { env: stack.env });
    const out = JSON.parse(r.stdout) as { ok: boolean; checks: Check[] };
    expect(out.ok).toBe(true);
    expect(out.checks.map((c) => c.name)).toEqual(NAMES);
    expect(out.checks.find((c) => c.name === "libx264")).toEqual({ name: "libx264", status: "ok", detail: "one-frame test encode succeeded" });
  });

  it("fails with exit 1 and says what to do for a broken ffmpeg, a missing bucket and a missing queue", async () => {
    const env = { ...stack.env, PATH: `${fakeBin}:${stack.env.PATH}`, REELPRESS_PLAN_QUEUE: "nope-plan" };
    const r = await reelpress(["doctor", "--bucket", "not-there"], { env });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/\nFAIL  ffmpeg       exits with 127  → install ffmpeg \(Debian\/Ubuntu: apt-get install -y ffmpeg\)/);
    expect(r.stdout).toMatch(/\nFAIL  ffprobe      exits with 127  → install ffmpeg/);
    expect(r.stdout).toMatch(/\nFAIL  (nvenc|libx264) .* → /);
    expect(r.stdout).toMatch(/\nFAIL  bucket       not-there does not exist  → 'reelpress dev' creates it/);
    expect(r.stdout).toMatch(/\nFAIL  queues       missing: nope-plan  → /);
    expect(r.stdout).toMatch(/\n\d check\(s\) failed; fix them as shown after each →\.$/);
    expect(r.stderr).toBe("");
  });

  it("does not check bucket and queues on an endpoint that does not answer", async () => {
    const r = await reelpress(["doctor", "--endpoint", "http://127.0.0.1:1"], { env: stack.env });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/\nFAIL  endpoint     http:\/\/127\.0\.0\.1:1 does not answer \(ECONNREFUSED\)  → start 'reelpress dev'/);
    expect(r.stdout).toMatch(/\nskip  bucket /);
  });

  it.skipIf(!hasScript)("colours its marks on a terminal unless NO_COLOR is set", async () => {
    expect((await reelpressInTty(["doctor"], stack.env)).screen).not.toMatch(SGR);
    const { NO_COLOR: _, ...colourEnv } = stack.env;
    expect((await reelpressInTty(["doctor"], colourEnv)).screen).toMatch(SGR);
  });

  it("answers --help and bad usage", async () => {
    expectHelp(await reelpress(["doctor", "--help"], { env: stack.env }), "doctor");
    expectOneLineError(await reelpress(["doctor", "now"], { env: stack.env }), 2, /^doctor takes no arguments/);
  });
});
