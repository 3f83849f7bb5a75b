// kill -9 the runner at random moments, restart it, and check after every kill that nothing was lost:
// each original is at its key or in the backup prefix byte for byte, and every other library object is a
// tagged output. In the end every job finishes.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { isCompressedMedia } from "../../shared/decision.ts";
import { probeMedia } from "../../shared/ffprobe.ts";
import { readRecord } from "../../shared/manifest.ts";
import { backupKeyFor } from "../../shared/naming.ts";
import type { EncodeJob } from "../../shared/schemas.ts";
import { headObject, presignedGetUrl } from "../../shared/storage.ts";
import { REELPRESS, reelpress } from "../kit/cli.ts";
import { VIDEO_FIXTURES, videoFixture, type VideoFixture } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { planJob } from "../integration/runner-kit.ts";

const TRIALS = 10;
/** New keys (avi, mkv → mp4) and in-place replacements (mp4 → mp4), the riskier kind. */
const ROTATION: VideoFixture[] = ["avi_mpeg4", "mp4_hevc8", "mkv_h264", "mp4_av1"];

describe("chaos: kill -9 the runner at random moments", () => {
  let stack: TestStack;
  let tmp: string;
  let env: NodeJS.ProcessEnv;
  const originals = new Map<string, { sha: string; job: EncodeJob }>();

  beforeAll(async () => {
    stack = await startTestStack({ REELPRESS_ENCODE_QUEUE: "chaos-encode", REELPRESS_FINGERPRINTS: "4" });
    // Being killed is not failing: the dead-letter limit is raised so that repeated kills of one job do not park it.
    const dlq = `arn:aws:sqs:us-east-1:000000000000:${stack.config.queues.encodeDlq}`;
    await stack.sqs.send(
      new SetQueueAttributesCommand({
        QueueUrl: await stack.queueUrl("chaos-encode"),
        Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlq, maxReceiveCount: "1000" }) },
      }),
    );
    tmp = await mkdtemp(path.join(os.tmpdir(), "reelpress-chaos-"));
    env = { ...stack.env, REELPRESS_RUNNER_VISIBILITY: "3", REELPRESS_X264_PRESET: "ultrafast", TMPDIR: tmp };
  });
  afterAll(async () => {
    await stack.stop();
    await rm(tmp, { recursive: true, force: true });
  });

  const sha = async (stream: NodeJS.ReadableStream) => {
    const h = createHash("sha256");
    await pipeline(stream, h);
    return h.digest("hex");
  };
  const objectSha = async (key: string) => sha((await stack.s3.send(new GetObjectCommand({ Bucket: "reelpress", Key: key }))).Body as NodeJS.ReadableStream);
  const etagOf = async (key: string) => (await headObject(stack, key))?.etag;

  /**
   * The invariants that must hold at any instant, whatever the runner was doing when it died. Between
   * kills content is compared by ETag (the MD5 of a single-part upload, kept by copies); at the end, byte for byte.
   */
  const checkNothingLost = async (when: string) => {
    for (const [key, { job }] of originals) {
      const kept = (await etagOf(key)) === job.etag || (await etagOf(backupKeyFor(key, stack.config.backupPrefix))) === job.etag;
      expect(kept, `${when}: the original of ${key} is neither at its key nor in the backup`).toBe(true);
    }
    const listed = await stack.s3.send(new ListObjectsV2Command({ Bucket: "reelpress", Prefix: "chaos/" }));
    for (const o of listed.Contents ?? []) {
      if (originals.get(o.Key!)?.job.etag === o.ETag) continue;
      const head = await headObject(stack, o.Key!);
      expect(head?.metadata["reelpress-state"], `${when}: ${o.Key} is neither an original nor a tagged output`).toBe("compressed_h264_v4");
    }
  };

  /** Starts a runner and resolves once it has begun a job. */
  const runnerAtWork = async () => {
    const child = execa(REELPRESS, ["runner", "--encoder", "x264"], { env, reject: false });
    let err = "";
    await new Promise<void>((resolve, reject) => {
      child.stderr!.on("data", (d: Buffer) => {
        err += d.toString();
        if (err.includes('"event":"job_started"')) resolve();
      });
      void child.then(() => reject(new Error(`runner exited:\n${err}`)));
    });
    // Wrapped: returning the child itself from an async function would wait for it to exit.
    return { child, stderr: () => err };
  };

  it(`loses nothing over ${TRIALS} kills, and every job finishes after a restart`, async () => {
    const delays: number[] = [];
    // How long a job takes here, learnt from the runs so far, so that kills spread over a whole job.
    let jobMs = 1000;
    for (let trial = 0; trial < TRIALS; trial++) {
      // A new job per trial besides what earlier kills left, so every runner has work when it dies.
      const fixture = ROTATION[trial % ROTATION.length];
      const file = await videoFixture(fixture);
      const job = await planJob(stack, file, `chaos/t${trial}-${fixture}.${VIDEO_FIXTURES[fixture].ext}`);
      originals.set(job.key, { sha: await sha(createReadStream(file)), job });
      // Killed anywhere in a job's life: probe, encode, verify, backup, upload, manifest, delete.
      const { child: runner, stderr } = await runnerAtWork();
      const delay = Math.round(Math.random() * jobMs);
      delays.push(delay);
      await new Promise((r) => setTimeout(r, delay));
      runner.kill("SIGKILL");
      expect((await runner).signal).toBe("SIGKILL");
      const finished = stderr().split("\n").filter((l) => l.includes('"event":"job_compressed"'));
      if (finished.length) jobMs = Math.round(1000 * JSON.parse(finished[0]).seconds);
      await checkNothingLost(`after kill ${trial + 1}, ${delay} ms into a job`);
    }

    const last = await reelpress(["runner", "--encoder", "x264", "--once"], { env });
    expect(last.exitCode, last.stderr).toBe(0);
    await checkNothingLost("at the end");
    for (const [key, { sha: original, job }] of originals) {
      const head = await headObject(stack, job.outputKey);
      expect(head?.metadata, `${key} (kills at ${delays.join(", ")} ms)`).toMatchObject({ "reelpress-state": "compressed_h264_v4", "reelpress-source-etag": job.etag });
      expect(await objectSha(backupKeyFor(key, stack.config.backupPrefix))).toBe(original);
      if (job.outputKey !== key) expect(await headObject(stack, key)).toBeUndefined();
      expect((await readRecord(stack, job.outputKey))?.record).toMatchObject({ state: "compressed", etag: head!.etag });
      expect(isCompressedMedia(await probeMedia(await presignedGetUrl(stack, job.outputKey), { timeoutSec: 30 }))).toBe(true);
    }
    // Work folders of killed runners were cleared by the next one to start.
    expect(await readdir(path.join(tmp, "reelpress-runner"))).toEqual([]);
  });
});
