// CLI bench: `upload` throughput and peak memory on a big file (memory must not grow with the file),
// `status` time on a library of many objects with their manifest records, and the CPU a command's
// start-up costs, through bin/reelpress (cli/boot.mjs's caches) and with Node alone, side by side.
import { mkdtemp, readFile, rm, truncate, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { execa } from "execa";
import { patchRecord } from "../shared/io/manifest.ts";
import { REELPRESS } from "../test/kit/cli.ts";
import { startTestStack } from "../test/kit/stack.ts";

const MiB = 1024 ** 2;

/** Runs the CLI and samples its resident memory from /proc until it exits. */
async function runMeasured(args: string[], env: NodeJS.ProcessEnv): Promise<{ seconds: number; peakRssMiB: number; stdout: string }> {
  const started = performance.now();
  const child = execa(REELPRESS, args, { env, reject: false });
  let peak = 0;
  const sample = setInterval(async () => {
    // bin/reelpress execs node, so the child pid is the CLI itself.
    const status = await readFile(`/proc/${child.pid}/status`, "utf8").catch(() => "");
    const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
    peak = Math.max(peak, kb / 1024);
  }, 50);
  const r = await child;
  clearInterval(sample);
  if (r.exitCode !== 0) throw new Error(`reelpress ${args.join(" ")} failed: ${r.stderr}`);
  return { seconds: (performance.now() - started) / 1000, peakRssMiB: peak, stdout: String(r.stdout) };
}

const ROOT = path.resolve(import.meta.dirname, "..");

/** User + system CPU seconds of one run of `command` (bash's `times` after it: its children's line). */
async function cpuOf(command: string): Promise<number> {
  const r = await execa("bash", ["-c", `${command} >/dev/null; times`], { cwd: ROOT });
  const [user, sys] = r.stdout.trim().split("\n").at(-1)!.split(" ").map((t) => {
    const [, m, s] = /(\d+)m([\d.]+)s/.exec(t)!;
    return Number(m) * 60 + Number(s);
  });
  return user + sys;
}

{
  const runs = { boot: [] as number[], plain: [] as number[] };
  await cpuOf("bin/reelpress status --help");
  for (let i = 0; i < 5; i++) {
    runs.boot.push(await cpuOf("bin/reelpress status --help"));
    runs.plain.push(await cpuOf("bin/node22 --disable-warning=ExperimentalWarning cli/main.ts status --help"));
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[xs.length >> 1];
  console.log("| start-up of `status --help` | CPU s (median of 5) |\n|---|---|");
  console.log(`| bin/reelpress (stripped sources and compiled code cached) | ${median(runs.boot).toFixed(2)} |`);
  console.log(`| Node alone (strips and compiles every file) | ${median(runs.plain).toFixed(2)} |`);
  console.log(`| ratio | ${(median(runs.boot) / median(runs.plain)).toFixed(2)} |\n`);
}

const stack = await startTestStack();
const dir = await mkdtemp(path.join(os.tmpdir(), "rp-bench-cli-"));
try {
  console.log("| upload of one file | seconds | MiB/s | peak RSS of the CLI |\n|---|---|---|---|");
  for (const sizeMiB of [64, 512]) {
    const file = path.join(dir, `big-${sizeMiB}.mkv`);
    await writeFile(file, "");
    await truncate(file, sizeMiB * MiB);
    const r = await runMeasured(["upload", file, "--prefix", "bench"], stack.env);
    console.log(`| ${sizeMiB} MiB | ${r.seconds.toFixed(2)} | ${(sizeMiB / r.seconds).toFixed(0)} | ${r.peakRssMiB.toFixed(0)} MiB |`);
  }

  const N = 2000;
  for (let i = 0; i < N; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, N - i) }, async (_, j) => {
        const key = `lib/f${(i + j) % 20}/v${i + j}.mp4`;
        const r = await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: "x".repeat(100) }));
        await patchRecord(stack, key, { size: 100, etag: r.ETag!, state: (i + j) % 3 === 0 ? "compressed" : "probed" });
      }),
    );
  }
  const r = await runMeasured(["status", "--json"], stack.env);
  const summary = JSON.parse(r.stdout);
  console.log(`\n| status over | seconds | objects/s | peak RSS |\n|---|---|---|---|`);
  console.log(`| ${N} objects + ${N} records (${summary.compressed.count} compressed) | ${r.seconds.toFixed(2)} | ${(N / r.seconds).toFixed(0)} | ${r.peakRssMiB.toFixed(0)} MiB |`);
} finally {
  await stack.stop();
  await rm(dir, { recursive: true, force: true });
}
