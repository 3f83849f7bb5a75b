// kill -9 of `reelpress runner` processes while they split, encode chunks and merge a chunked job: in the end
// there is exactly one output, correct (every frame of the source), the original in the backup byte for
// byte, and no work object left. Kill times come from a seeded generator; the seed is printed
// (REELPRESS_CHAOS_SEED=<seed> replays a run).
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { execa, type ResultPromise } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { workKeys } from "../../gpu-runner/chunked/plan.ts";
import { countVideoFrames } from "../../shared/media/ffprobe.ts";
import { readRecord } from "../../shared/io/manifest.ts";
import { backupKeyFor } from "../../shared/rules/naming.ts";
import { MergeClaim } from "../../shared/schemas.ts";
import { headObject, presignedGetUrl, readJson } from "../../shared/io/objects.ts";
import { REELPRESS } from "../kit/cli.ts";
import { vfrVideo } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { until } from "../kit/wait.ts";
import { planJob } from "../integration/runner-kit.ts";
import { seededRandom } from "../kit/random.ts";


describe("chaos: kill -9 runners during chunk encodes and the merge", () => {
  let stack: TestStack;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const runners: ResultPromise[] = [];
  const logs = new Map<ResultPromise, string>();

  beforeAll(async () => {
    stack = await startTestStack({ REELPRESS_ENCODE_QUEUE: "chunk-chaos-encode", REELPRESS_FINGERPRINTS: "4" });
    // Being killed is not failing: repeated kills must not park a chunk in the dead-letter queue.
    const dlq = `arn:aws:sqs:us-east-1:000000000000:${stack.config.queues.encodeDlq}`;
    await stack.sqs.send(new SetQueueAttributesCommand({
      QueueUrl: await stack.queueUrl("chunk-chaos-encode"),
      Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq, maxReceiveCount: "1000" }) },
    }));
    tmp = await mkdtemp(path.join(os.tmpdir(), "reelpress-chunk-chaos-"));
    env = { ...stack.env, REELPRESS_RUNNER_VISIBILITY: "3", REELPRESS_X264_PRESET: "ultrafast", REELPRESS_CHUNK_MIN_SEC: "6", REELPRESS_CHUNK_SEC: "1", TMPDIR: tmp };
  });
  afterAll(async () => {
    for (const r of runners) r.kill("SIGKILL");
    await stack.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  const start = () => {
    const child = execa(REELPRESS, ["runner", "--encoder", "x264"], { env, reject: false });
    runners.push(child);
    logs.set(child, "");
    child.stderr!.on("data", (d: Buffer) => logs.set(child, logs.get(child) + d.toString()));
    return child;
  };
  /** Kills `child`; returns the last thing it logged (what it was doing when it died). */
  const kill = async (child: ResultPromise) => {
    child.kill("SIGKILL");
    expect((await child).signal).toBe("SIGKILL");
    if (runners.includes(child)) runners.splice(runners.indexOf(child), 1);
    const lines = logs.get(child)!.split("\n").filter((l) => l.startsWith("{"));
    return lines.length ? JSON.parse(lines[lines.length - 1]).event : "starting";
  };

  it("ends with exactly one correct output and no work objects", async () => {
    const seed = Number(process.env.REELPRESS_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
    console.log(`chunked chaos seed ${seed} (REELPRESS_CHAOS_SEED=${seed} replays it)`);
    const rand = seededRandom(seed);
    const source = await vfrVideo();
    const job = await planJob(stack, source, "films/film.mkv");
    const keys = workKeys(job.jobId);
    start();
    start();

    const claimed = () => readJson(stack, keys.mergeClaim, MergeClaim);
    const finished = async () => {
      const output = await headObject(stack, job.outputKey);
      const work = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.config.bucket, Prefix: keys.dir }));
      return output?.metadata["reelpress-state"] === "compressed_h264_v4" && (work.KeyCount ?? 0) === 0 && (await readRecord(stack, job.outputKey))?.record.chunks;
    };

    // While it splits and encodes chunks: a runner at work killed after a random while, three times, each restarted.
    const kills: string[] = [];
    for (let i = 0; i < 3; i++) {
      // Wrapped: a child process is a promise, which `until` would wait on.
      const { victim } = await until("a runner at work", async () => {
        if (await claimed()) return { victim: undefined };
        const busy = runners.find((r) => logs.get(r)!.includes('"event":"job_started"'));
        return busy && { victim: busy };
      }, 60_000, 20);
      if (!victim) break;
      const delay = Math.round(rand() * 800);
      await new Promise((r) => setTimeout(r, delay));
      kills.push(`${delay} ms into work, after ${await kill(victim)}`);
      start();
    }
    // During the merge: the runner holding the claim (its id holds its pid), killed once the claim is there.
    const claim = await until("the merge claim, or the output", async () => (await claimed()) ?? ((await finished()) ? ("finished" as const) : undefined), 60_000, 20);
    const merger = claim === "finished" ? undefined : runners.find((r) => r.pid === Number(claim.runnerId.split(":").at(-2)));
    if (merger) {
      const delay = Math.round(rand() * 400);
      await new Promise((r) => setTimeout(r, delay));
      kills.push(`merging, ${delay} ms after the claim, after ${await kill(merger)}`);
      start();
    }
    console.log(`kills: ${kills.join("; ")}`);
    await until(`the job to finish (seed ${seed})`, finished, 90_000, 200);

    const listed = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.config.bucket, Prefix: "films/" }));
    expect(listed.Contents!.map((o) => o.Key), `seed ${seed}`).toEqual([job.outputKey]);
    const out = path.join(tmp, "out.mp4");
    await execa("curl", ["-sf", "-o", out, await presignedGetUrl(stack, job.outputKey)]);
    expect(await countVideoFrames(out, 30)).toBe(await countVideoFrames(source, 30));
    const sha = async (stream: NodeJS.ReadableStream) => {
      const h = createHash("sha256");
      await pipeline(stream, h);
      return h.digest("hex");
    };
    const backup = await stack.s3.send(new GetObjectCommand({ Bucket: stack.config.bucket, Key: backupKeyFor(job.key, stack.config.backupPrefix) }));
    expect(await sha(backup.Body as NodeJS.ReadableStream)).toBe(await sha(createReadStream(source)));
    const all = await stack.s3.send(new ListObjectsV2Command({ Bucket: stack.config.bucket, Prefix: ".reelpress/work/" }));
    expect(all.KeyCount).toBe(0);
  });
});
