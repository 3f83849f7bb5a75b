// Two and three runner processes (concurrency 2) on the same jobs, every job delivered twice, kill -9 at
// random instants: no original is ever lost, no derived key overwritten, one tagged output per source.
// Only against a store that honours conditional writes (the folder store): elsewhere it would prove nothing.
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readRecord } from "../../shared/io/manifest.ts";
import { freeOutputKey } from "../../shared/steps/strategy.ts";
import { headObject } from "../../shared/io/objects.ts";
import { chaosTable, honoursConditions, runChaos } from "../kit/chaos.ts";
import { reelpress } from "../kit/cli.ts";
import { makeVideo, videoFixture } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";
import { GRAIN, planJob } from "../integration/runner-kit.ts";

// Three in `npm test` keeps the suite short (the seed is random per run, so runs add up to many seeds);
// `npm run chaos -- --trials 100` is the full run.
const TRIALS = 3;
const SEED = Number(process.env.REELPRESS_CHAOS_SEED || Math.floor(Math.random() * 2 ** 31));

describe("never lose a file", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack({ REELPRESS_ENCODE_QUEUE: "chaos-encode", REELPRESS_FINGERPRINTS: "4" });
    // Against a store that ignores conditions every race "wins" and these tests would prove nothing.
    expect(await honoursConditions(stack), "the test store must refuse an If-None-Match: * write over an existing key").toBe(true);
  });
  afterAll(() => stack.stop());

  // About 12 s a trial on two busy cores: the lease and visibility of each killed job must run out.
  it(`chaos: ${TRIALS} trials of many runners, duplicate deliveries and kill -9, seed printed`, { timeout: 4 * 60_000 }, async () => {
    console.log(`chaos seed ${SEED} (replay: REELPRESS_CHAOS_SEED=${SEED})`);
    const results = await runChaos(stack, { seed: SEED, trials: TRIALS });
    console.log(chaosTable(SEED, results));
    expect(results.flatMap((r) => r.violations), `seed ${SEED}`).toEqual([]);
  });

  it("re-uploading different bytes to a key already compressed or skipped keeps every original", async () => {
    const env = { ...stack.env, REELPRESS_X264_PRESET: "ultrafast" };
    const sha = (b: Uint8Array) => createHash("sha256").update(b).digest("hex");
    const versions = {
      "re/a.avi": [await videoFixture("avi_mpeg4"), await makeVideo({ ext: "avi", vcodec: "mpeg4", durationSec: 3, source: "testsrc" })],
      "re/g.mp4": [await makeVideo({ ...GRAIN, durationSec: 4 }), await makeVideo({ ...GRAIN, durationSec: 3 })],
    };
    const originals: string[] = [];
    for (const round of [0, 1]) {
      for (const [key, files] of Object.entries(versions)) {
        originals.push(sha(await readFile(files[round])));
        // As the strategy plans it: the output goes to a free name when an earlier version's output is there.
        await planJob(stack, files[round], key, { outputKey: await freeOutputKey(stack, key) });
      }
      const r = await reelpress(["runner", "--encoder", "x264", "--once"], { env });
      expect(r.exitCode, r.stderr).toBe(0);
    }
    const listed = (await stack.s3.send(new ListObjectsV2Command({ Bucket: "reelpress" }))).Contents ?? [];
    const held = new Map<string, string>();
    for (const o of listed.filter((o) => o.Key!.includes("re/"))) {
      held.set(sha(await (await stack.s3.send(new GetObjectCommand({ Bucket: "reelpress", Key: o.Key! }))).Body!.transformToByteArray()), o.Key!);
    }
    for (const s of originals) expect(held.has(s), `an original (${s.slice(0, 8)}) is nowhere among ${[...held.values()].join(", ")}`).toBe(true);
    // The second backup of a.avi went to the next free name, and the output names it.
    expect(await headObject(stack, "orig_video_to_delete/re/a (2).avi")).toBeDefined();
    expect((await readRecord(stack, "re/a (2).mp4"))?.record.source?.backupKey).toBe("orig_video_to_delete/re/a (2).avi");
    // `status` names what went to a free name, and why.
    const status = await reelpress(["status", "--prefix", "re/"], { env });
    expect(status.stdout).toContain("Under a free name");
    expect(status.stdout).toMatch(/orig_video_to_delete\/re\/a \(2\)\.avi {2}backup of re\/a\.avi: orig_video_to_delete\/re\/a\.avi holds an earlier original/);
    expect(status.stdout).toMatch(/re\/a \(2\)\.mp4 {2}output of re\/a\.avi: re\/a\.mp4 holds another file/);
  });
});
