import { mkdir, mkdtemp, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { spawn } from "node:child_process";
import { afterAll, describe, expect, it } from "vitest";
import { selectEncoder, testEncode } from "../../gpu-runner/encoder.ts";
import { createWorkRoot } from "../../gpu-runner/workdir.ts";

describe("the runner's host (real ffmpeg, real folders)", () => {
  const dirs: string[] = [];
  afterAll(() => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it("decides by a real test encode: without a CUDA device auto falls back to libx264 and says why", async () => {
    // This machine has no GPU: the NVENC test encode itself fails (ffmpeg still lists h264_nvenc).
    expect(await testEncode("nvenc")).toMatchObject({ status: "unavailable", reason: expect.stringMatching(/cuda|CUDA|device|nvenc/i) });
    expect(await testEncode("x264")).toEqual({ status: "ok" });
    const choice = await selectEncoder("auto");
    expect(choice.encoder).toBe("x264");
    expect(choice.reason).toMatch(/^NVENC test encode failed \(.+\); using libx264$/);
    await expect(selectEncoder("nvenc")).rejects.toThrow(/^NVENC is not usable here: .+; run with --encoder x264 or auto\.$/);
  });

  it("removes folders of dead runners at start, keeps live ones, and names job folders without keys", async () => {
    const base = await mkdtemp(path.join(os.tmpdir(), "reelpress-work-"));
    dirs.push(base);
    // PIDs above the kernel's pid_max never run.
    const dead = path.join(base, "run-99999999-abc");
    await mkdir(path.join(dead, "job-1"), { recursive: true });
    await writeFile(path.join(dead, "job-1", "output.mp4"), "half an encode");
    // What the dead runner left paused there (a split's ffmpeg): ended, not left waiting forever.
    const paused = spawn("sleep", ["60"], { cwd: path.join(dead, "job-1"), stdio: "ignore" });
    const ended = new Promise((resolve) => paused.on("exit", (_code, signal) => resolve(signal)));
    paused.kill("SIGSTOP");
    const live = path.join(base, `run-${process.ppid}-def`);
    await mkdir(live);
    await mkdir(path.join(base, "unrelated"));
    const root = await createWorkRoot(base);
    expect(root.removed).toEqual(["run-99999999-abc"]);
    expect(await ended).toBe("SIGKILL");
    expect((await readdir(base)).sort()).toEqual([path.basename(root.dir), path.basename(live), "unrelated"].sort());
    const job = await root.jobDir();
    expect(path.dirname(job)).toBe(root.dir);
    expect(path.basename(job)).toMatch(/^job-\d+$/);
    await root.dispose();
    expect(await readdir(base)).not.toContain(path.basename(root.dir));
  });
});
