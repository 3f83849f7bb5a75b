// Runner hosts: the env file example is a valid configuration that the deploy's runnerEnv covers,
// the systemd unit passes `systemd-analyze verify` (where present) and runs as a non-root user,
// and the image carries every folder the CLI imports, NVENC ffmpeg and a non-root user.
import { mkdtemp, readFile, readdir, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { reelpressEnv } from "../../infra/topology.ts";
import { loadConfig } from "../../shared/config.ts";
import { runnerSettings } from "../../gpu-runner/runner.ts";

const ROOT = path.resolve(import.meta.dirname, "../..");
const read = (file: string) => readFile(path.join(ROOT, file), "utf8");
const envExample = Object.fromEntries(
  (await read("gpu-runner/runner.env.example"))
    .split("\n")
    .filter((l) => /^[A-Z_]+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
);
const unit = await read("gpu-runner/reelpress-runner.service");
const dockerfile = await read("gpu-runner/Dockerfile");
const analyzer = await execa("systemd-analyze", ["--version"], { reject: false }).then((r) => r.exitCode === 0, () => false);

describe("gpu-runner/runner.env.example", () => {
  it("is a valid reelpress and runner configuration", () => {
    expect(loadConfig(envExample).queues.encode).toBe(envExample.REELPRESS_ENCODE_QUEUE);
    expect(runnerSettings(envExample).visibilitySec).toBe(Number(envExample.REELPRESS_RUNNER_VISIBILITY));
  });

  it("leaves backup retention and the reclaimable notice off unless set, and refuses a bad value in one sentence", () => {
    expect(runnerSettings({})).toMatchObject({ retentionDays: undefined, reclaimableNotifyBytes: undefined });
    expect(runnerSettings({ REELPRESS_BACKUP_RETENTION_DAYS: "30", REELPRESS_NOTIFY_RECLAIMABLE_GB: "10" })).toMatchObject({ retentionDays: 30, reclaimableNotifyBytes: 10 * 1024 ** 3 });
    expect(() => runnerSettings({ REELPRESS_BACKUP_RETENTION_DAYS: "0" })).toThrow(/^Bad setting REELPRESS_BACKUP_RETENTION_DAYS = "0": must be a positive number of days \(unset turns it off\)\.$/);
    expect(() => runnerSettings({ REELPRESS_NOTIFY_RECLAIMABLE_GB: "lots" })).toThrow(/^Bad setting REELPRESS_NOTIFY_RECLAIMABLE_GB = "lots"/);
  });

  it("sets every variable the deploy prints as runnerEnv", () => {
    const deployed = Object.keys(reelpressEnv("reelpress", "prod", "bucket-name", { backupPrefix: "orig_video_to_delete/" }));
    for (const name of deployed) expect(Object.keys(envExample), name).toContain(name);
  });
});

describe("gpu-runner/reelpress-runner.service", () => {
  it("runs `reelpress runner` as an unprivileged user, configured from the env file only", () => {
    expect(unit).toMatch(/^User=reelpress$/m);
    expect(unit).toMatch(/^EnvironmentFile=\/etc\/reelpress\/runner\.env$/m);
    expect(unit).toMatch(/^ExecStart=\/opt\/reelpress\/bin\/reelpress runner \$REELPRESS_RUNNER_ARGS$/m);
    // SIGTERM to the runner alone: it hands its jobs back before ffmpeg is killed.
    expect(unit).toMatch(/^KillSignal=SIGTERM$/m);
    expect(unit).toMatch(/^KillMode=mixed$/m);
  });

  it.skipIf(!analyzer)("passes systemd-analyze verify", async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-unit-"));
    try {
      // verify insists that ExecStart exists: point it at a binary this machine has.
      const file = path.join(dir, "reelpress-runner.service");
      await writeFile(file, unit.replace("/opt/reelpress/bin/reelpress", process.execPath));
      const r = await execa("systemd-analyze", ["verify", file], { reject: false });
      expect(r.stderr.split("\n").filter((l) => l.includes("reelpress-runner.service"))).toEqual([]);
      expect(r.exitCode).toBe(0);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("gpu-runner/Dockerfile", () => {
  it("builds on a CUDA base with an ffmpeg that has NVENC, NVDEC and scale_cuda, and runs as non-root", () => {
    expect(dockerfile).toMatch(/^FROM nvidia\/cuda:[\w.-]+$/m);
    for (const feature of ["h264_nvenc", "scale_cuda", "h264_cuvid"]) expect(dockerfile).toContain(`grep -q ${feature}`);
    expect(dockerfile).toMatch(/^USER reelpress$/m);
    expect(dockerfile).toMatch(/NVIDIA_DRIVER_CAPABILITIES=compute,video,utility/);
  });

  it("copies every top-level folder the CLI and runner import", async () => {
    const copied = [...dockerfile.matchAll(/^COPY (\S+) \1$/gm)].map((m) => m[1]);
    const needed = new Set<string>(["bin"]);
    for (const dir of ["cli", "gpu-runner", "shared", "functions"]) {
      for (const entry of await readdir(path.join(ROOT, dir), { recursive: true })) {
        if (!entry.endsWith(".ts")) continue;
        const file = path.join(ROOT, dir, entry);
        for (const m of (await readFile(file, "utf8")).matchAll(/from "(\.{1,2}\/[^"]+)"/g)) {
          needed.add(path.relative(ROOT, path.resolve(path.dirname(file), m[1])).split(path.sep)[0]);
        }
      }
    }
    for (const dir of needed) expect(copied, dir).toContain(dir);
  });
});
