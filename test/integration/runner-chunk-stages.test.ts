// A chunked job with the runner told where the library folder is (REELPRESS_LIBRARY_DIR): it reads the
// source in place only when the file there is provably the job's version, stores and frees each split part
// (the job folder is measured through the runner's hook while the segmenter is paused on a finished part),
// and its runner status goes through the stages in order. Real store, real ffmpeg, a 4 s clip.
import { createHash } from "node:crypto";
import { readdirSync, statSync } from "node:fs";
import { appendFile, copyFile, mkdir, readFile, rename, rm, stat, symlink, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ListObjectsV2Command, type PutObjectCommandInput, type S3Client } from "@aws-sdk/client-s3";
import { startRunner, type Runner } from "../../gpu-runner/runner.ts";
import { libraryFolder, openInPlace } from "../../gpu-runner/source.ts";
import { countVideoFrames } from "../../shared/media/ffprobe.ts";
import { SourceChangedError, headObject, uploadFile } from "../../shared/io/objects.ts";
import { RunnerStatus } from "../../shared/schemas.ts";
import { makeVideo } from "../kit/fixtures.ts";
import { until } from "../kit/wait.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { planJob, recordPlan, sendJob } from "./runner-kit.ts";

type Event = { event: string } & Record<string, unknown>;
const sha = async (file: string) => createHash("sha256").update(await readFile(file)).digest("hex");

describe("chunked jobs read in place, free their parts and report stages (real store, real ffmpeg)", () => {
  let stack: TestStack;
  let runner: Runner;
  let source: string;
  const events: Event[] = [];
  /** Every runner status the runner wrote, in order. */
  const statuses: RunnerStatus[] = [];
  /** The job folder at each moment the runner says it is at its fullest: files and their sizes. */
  const fullest: Array<Record<string, number>> = [];

  beforeAll(async () => {
    stack = await startTestStack({ REELPRESS_FINGERPRINTS: "4" });
    // 4 s with a keyframe every second: two 2 s chunks.
    source = await makeVideo({ ext: "mkv", vcodec: "libx264", width: 160, height: 120, bitrate: "1500k", audio: true, extra: ["-g", "25"] });
    // The runner's S3 client, watched: each runner status it writes is recorded.
    const s3 = new Proxy(stack.s3, {
      get(target, prop, receiver) {
        if (prop !== "send") return Reflect.get(target, prop, receiver);
        return (cmd: { input: PutObjectCommandInput }, ...rest: unknown[]) => {
          if (cmd.constructor.name === "PutObjectCommand" && cmd.input.Key?.startsWith(".reelpress/runners/")) statuses.push(RunnerStatus.parse(JSON.parse(String(cmd.input.Body))));
          return (target.send as (...a: unknown[]) => unknown)(cmd, ...rest);
        };
      },
    }) as S3Client;
    runner = await startRunner({ ...stack, s3 }, {
      encoder: "x264",
      concurrency: 1,
      settings: { visibilitySec: 30, x264Preset: "ultrafast", chunks: { minSec: 2, chunkSec: 2 }, libraryDir: stack.embedded.library },
      log: (event, fields) => void events.push({ event, ...fields }),
      workBase: path.join(stack.dataDir, "work"),
      onFolderFull(dir) {
        fullest.push(Object.fromEntries(readdirSync(dir).map((f) => [f, statSync(path.join(dir, f)).size])));
      },
    });
  });
  afterAll(async () => {
    await runner?.stop();
    await stack?.stop();
  });

  const outcome = (key: string) => until(`the outcome of ${key}`, () => events.find((e) => e.key === key && /^job_(compressed|skipped|dropped|failed)$/.test(e.event)), 60_000);

  it("reads the source in place, frees each part once stored (peak ≤ 1.2× the source), and reports read, split, chunks, merge, publish", async () => {
    const job = await planJob(stack, source, "films/inplace.mkv");
    expect(await outcome(job.key)).toMatchObject({ event: "job_compressed", outputKey: "films/inplace.mp4" });
    expect(events.filter((e) => e.event === "job_note" && e.key === job.key && /downloading the source/.test(String(e.note)))).toEqual([]);

    // Each part was handed over while the segmenter was paused; by then every earlier part was gone.
    const chunks = Number(events.find((e) => e.event === "job_split")!.chunks);
    expect(chunks).toBe(2);
    expect(fullest).toHaveLength(chunks);
    fullest.forEach((files, k) => {
      expect(files).not.toHaveProperty("source");
      for (let earlier = 0; earlier < k; earlier++) expect(files).not.toHaveProperty(`seg-${String(earlier).padStart(4, "0")}.mkv`);
    });
    const sourceBytes = (await stat(source)).size;
    const peak = Math.max(...fullest.map((files) => Object.values(files).reduce((a, b) => a + b, 0)));
    expect(peak / sourceBytes).toBeLessThanOrEqual(1.2);

    // The stages this job went through, in the order the runner status said them; the percentage moved in read and split.
    const entries = statuses.flatMap((s) => s.jobs).filter((j) => j.job_id === job.jobId && j.stage);
    const order = entries.map((j) => j.stage).filter((s, i, all) => s !== all[i - 1]);
    expect([...new Set(order)]).toEqual(["read", "split", "chunks", "merge", "publish"]);
    expect(order.slice(0, 2)).toEqual(["read", "split"]);
    expect(entries.some((j) => (j.stage === "read" || j.stage === "split") && j.percent! > 0)).toBe(true);
    // Percent and ETA agree: below 100 % there is no ETA of 0.
    for (const j of entries) if (j.eta_sec !== undefined) expect(j.percent! < 100 ? j.eta_sec > 0 : j.eta_sec === 0).toBe(true);

    const out = path.join(stack.dataDir, "out.mp4");
    await copyFile(path.join(stack.embedded.library, job.outputKey), out);
    expect(await countVideoFrames(out, 30)).toBe(await countVideoFrames(source, 30));
  });

  it("refuses in place a file that is not the job's version (other bytes, a link, a linked folder, a FIFO), and one changed while read", async () => {
    const lib = await libraryFolder(stack.embedded.library);
    // Told a folder the store does not serve: one error sentence, at start.
    await expect(libraryFolder(path.join(stack.dataDir, "nowhere"))).rejects.toThrow(/^Bad setting REELPRESS_LIBRARY_DIR = ".*nowhere": must be the library folder the store serves, and it does not exist\.$/);
    await expect(libraryFolder(stack.dataDir)).rejects.toThrow(/it has no \.reelpress\/store\//);
    const root = stack.embedded.library;
    await uploadFile(stack, source, "check/a.mkv");
    const job = await recordPlan(stack, source, "check/a.mkv");
    const file = path.join(root, "check/a.mkv");
    const refused = async () => {
      const r = await openInPlace(lib, job);
      if ("source" in r) await r.source.close();
      return "refused" in r ? r.refused : "read in place";
    };
    expect(await refused()).toBe("read in place");

    // Swapped for another file after the check: ffmpeg still reads the file that was checked.
    const opened = await openInPlace(lib, job);
    if (!("source" in opened)) throw new Error(opened.refused);
    const original = await sha(file);
    await writeFile(path.join(root, "check/other.bin"), Buffer.alloc(job.size, 7));
    await rename(path.join(root, "check/other.bin"), file);
    expect(await sha(opened.source.file)).toBe(original);
    await opened.source.assertUnchanged();
    await opened.source.close();
    // Same size, other bytes (written behind the store's back): not the job's version.
    expect(await refused()).toMatch(/not the version the job is for/);

    // A link at the key, even to the job's own bytes; a linked folder on the way; a FIFO.
    await rm(file);
    await copyFile(source, path.join(root, "check/real.mkv"));
    await symlink("real.mkv", file);
    expect(await refused()).toMatch(/symbolic link/);
    await rm(file);
    await mkdir(path.join(root, "elsewhere"), { recursive: true });
    await copyFile(source, path.join(root, "elsewhere/a.mkv"));
    await rename(path.join(root, "check"), path.join(root, "check-real"));
    await symlink("elsewhere", path.join(root, "check"));
    expect(await refused()).toMatch(/symbolic link|not the version/);
    await rm(path.join(root, "check"));
    await mkdir(path.join(root, "check"));
    await execa("mkfifo", [file]);
    expect(await refused()).toMatch(/not a regular file|not the version|holds/);
    await rm(file);

    // Changed while read: caught before anything read from it is stored.
    await copyFile(source, file);
    const fresh = await recordPlan(stack, source, "check/a.mkv");
    const reading = await openInPlace(lib, fresh);
    if (!("source" in reading)) throw new Error(reading.refused);
    await appendFile(file, "more");
    await expect(reading.source.assertUnchanged()).rejects.toBeInstanceOf(SourceChangedError);
    await reading.source.close();
  });

  it("downloads the job's version when the key is a link (never reads through it) and still publishes it right", async () => {
    await uploadFile(stack, source, "films/linked.mkv");
    const job = await recordPlan(stack, source, "films/linked.mkv");
    // The store still serves the same file (same inode) through the link: the job's version, by download.
    const lib = stack.embedded.library;
    await rename(path.join(lib, "films/linked.mkv"), path.join(lib, "films/linked-real.mkv"));
    await symlink("linked-real.mkv", path.join(lib, "films/linked.mkv"));
    expect((await headObject(stack, job.key))?.etag).toBe(job.etag);
    fullest.length = 0;
    await sendJob(stack, job);
    expect(await outcome(job.key)).toMatchObject({ event: "job_compressed", outputKey: "films/linked.mp4" });
    expect(events.find((e) => e.event === "job_note" && e.key === job.key)?.note).toMatch(/downloading the source, not reading it in place: it is a symbolic link/);
    expect(Object.keys(fullest[0])).toContain("source");
    // The file the link led to is untouched; no work is left behind.
    expect(await sha(path.join(lib, "films/linked-real.mkv"))).toBe(await sha(source));
    const work = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.config.bucket, Prefix: ".reelpress/work/" }));
    expect(work.KeyCount).toBe(0);
  });
});
