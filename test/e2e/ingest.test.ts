// Every fixture of the test kit, uploaded with the AWS SDK to a running `reelpress dev --no-runner`,
// ends with the right decision and reason in its manifest record and the right jobs on the encode queue.
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClients, type Clients } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";
import { listRecords } from "../../shared/io/manifest.ts";
import { EncodeJob, type ManifestRecord } from "../../shared/schemas.ts";
import { headObject } from "../../shared/io/objects.ts";
import { BROKEN_FIXTURES, VIDEO_FIXTURES, brokenFixture, videoFixture, type VideoFixture } from "../kit/fixtures.ts";
import { startDev, freePort } from "../kit/cli.ts";

type Expected = { action: "encode" | "skip"; downscale?: boolean; mustSave?: number; reason: RegExp };

const EXPECTED: Record<VideoFixture, Expected> = {
  avi_mpeg4: { action: "encode", downscale: false, mustSave: 0, reason: /^not MP4 \(\.avi\), below 4K: H\.264 MP4$/ },
  mkv_h264: { action: "encode", downscale: false, mustSave: 0, reason: /^not MP4 \(\.mkv\), below 4K/ },
  mov_h264: { action: "encode", downscale: false, mustSave: 0, reason: /^not MP4 \(\.mov\), below 4K/ },
  webm_vp9: { action: "encode", downscale: false, mustSave: 0, reason: /^not MP4 \(\.webm\), below 4K/ },
  mp4_hevc8: { action: "encode", downscale: false, mustSave: 0, reason: /^MP4 HEVC: H\.264 for compatibility$/ },
  mp4_hevc10: { action: "encode", downscale: false, mustSave: 0, reason: /^MP4 HEVC: H\.264 for compatibility$/ },
  mp4_av1: { action: "encode", downscale: false, mustSave: 0, reason: /^MP4 AV1: H\.264 for compatibility$/ },
  mp4_h264_300k: { action: "skip", reason: /^MP4 H\.264 at 0\.3\d Mbit\/s, below 0\.50 Mbit\/s: skip$/ },
  mp4_h264_3m: { action: "encode", downscale: false, mustSave: 0.05, reason: /^MP4 H\.264 at 3\.\d\d Mbit\/s: H\.264, must save ≥ 5 %$/ },
  mp4_4k: { action: "encode", downscale: true, mustSave: 0, reason: /^MP4 H\.264, 4K 3840×2160: H\.264, downscale to 1080p$/ },
  mp4_4k_portrait: { action: "encode", downscale: true, mustSave: 0, reason: /^MP4 H\.264, 4K 2160×3840: H\.264, downscale to 1080p$/ },
  mp4_h264_noaudio: { action: "encode", downscale: false, mustSave: 0.05, reason: /^MP4 H\.264 at 0\.\d\d Mbit\/s: H\.264, must save ≥ 5 %$/ },
};

/** What ffprobe said (kept in `error`), and the sentence a person reads (`reason`). */
const BROKEN_REASON: Record<(typeof BROKEN_FIXTURES)[number], { error: RegExp; reason: RegExp }> = {
  "zero_bytes.mp4": { error: /empty object/, reason: /^empty file/ },
  "truncated.mp4": { error: /moov atom not found|invalid data/i, reason: /^incomplete or damaged MP4/ },
  "text.mkv": { error: /invalid data|EBML/i, reason: /^not a video file \(damaged or not Matroska\)$/ },
  "playlist.mp4": { error: /not on whitelist/i, reason: /^a playlist or other reference file/ },
  "audio_only.mp4": { error: /^no video stream$/, reason: /^no picture/ },
};

const keyOf = (name: VideoFixture) => `library/${name} clip.${VIDEO_FIXTURES[name].ext}`;
const skipKeyOf = (name: VideoFixture) => keyOf(name).replace(/(\.\w+)$/, "_skip$1");
const FINAL = new Set(["planned", "skipped", "failed", "compressed", "ignored"]);

describe("reelpress dev --no-runner: ingest end to end", () => {
  let dataDir: string;
  let dev: Awaited<ReturnType<typeof startDev>>;
  let clients: Clients;
  const records = new Map<string, ManifestRecord>();
  const jobs: EncodeJob[] = [];

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "reelpress-e2e-ingest-"));
    // Skips renamed `_skip` as compress v3 did (on dev's folder library only with this setting).
    const env = { ...process.env, AWS_ENDPOINT_URL: "", NO_COLOR: "1", REELPRESS_FINGERPRINTS: "8", REELPRESS_SKIP_RENAME: "true" };
    dev = await startDev(["--data-dir", dataDir, "--port", String(await freePort()), "--no-runner"], env);
    clients = makeClients(loadConfig({ AWS_ENDPOINT_URL: dev.endpoint }));
    const uploads: Array<[string, string]> = [
      ...(await Promise.all((Object.keys(VIDEO_FIXTURES) as VideoFixture[]).map(async (n) => [keyOf(n), await videoFixture(n)] as [string, string]))),
      ...(await Promise.all(BROKEN_FIXTURES.map(async (n) => [`broken/${n}`, await brokenFixture(n)] as [string, string]))),
    ];
    for (const [key, file] of uploads) {
      const { size } = await stat(file);
      await clients.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: size ? createReadStream(file) : "", ContentLength: size }));
    }
    const expectedKeys = [
      ...(Object.keys(EXPECTED) as VideoFixture[]).map((n) => (EXPECTED[n].action === "skip" ? skipKeyOf(n) : keyOf(n))),
      ...BROKEN_FIXTURES.map((n) => `broken/${n}`),
    ];
    const deadline = Date.now() + 90_000;
    for (;;) {
      records.clear();
      for await (const r of listRecords(clients)) records.set(r.key, r);
      if (expectedKeys.every((k) => FINAL.has(records.get(k)?.state ?? ""))) break;
      if (Date.now() > deadline) throw new Error(`not all objects were ingested: ${expectedKeys.filter((k) => !FINAL.has(records.get(k)?.state ?? "")).join(", ")}\n${dev.output()}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const url = await clients.queueUrl("reelpress-encode");
    for (;;) {
      const r = await clients.sqs.send(new ReceiveMessageCommand({ QueueUrl: url, MaxNumberOfMessages: 10, WaitTimeSeconds: 1 }));
      if (!r.Messages?.length) break;
      jobs.push(...r.Messages.map((m) => EncodeJob.parse(JSON.parse(m.Body!))));
      await clients.sqs.send(new DeleteMessageBatchCommand({ QueueUrl: url, Entries: r.Messages.map((m, i) => ({ Id: String(i), ReceiptHandle: m.ReceiptHandle })) }));
    }
  });

  afterAll(async () => {
    dev?.child.kill("SIGINT");
    await dev?.child;
    await rm(dataDir, { recursive: true, force: true });
  });

  it.each(Object.keys(EXPECTED) as VideoFixture[])("%s: right decision and reason in its record", async (name) => {
    const want = EXPECTED[name];
    if (want.action === "skip") {
      expect(await headObject(clients, keyOf(name))).toBeUndefined();
      expect(await headObject(clients, skipKeyOf(name))).toBeDefined();
      expect(records.get(keyOf(name))).toBeUndefined();
      const rec = records.get(skipKeyOf(name))!;
      expect(rec).toMatchObject({ state: "skipped", decision: { action: "skip" } });
      expect(rec.reason).toMatch(want.reason);
      expect(rec.fingerprints!.length).toBeGreaterThan(0);
      return;
    }
    const rec = records.get(keyOf(name))!;
    expect(rec).toMatchObject({ state: "planned", decision: { action: "encode", downscale: want.downscale, mustSave: want.mustSave } });
    expect(rec.reason).toMatch(want.reason);
    expect(rec.fingerprints!.length).toBeGreaterThanOrEqual(4);
    const head = (await headObject(clients, keyOf(name)))!;
    expect(jobs.filter((j) => j.key === keyOf(name))).toEqual([
      expect.objectContaining({ etag: head.etag, size: head.size, outputKey: keyOf(name).replace(/\.\w+$/, ".mp4"), downscale: want.downscale, mustSave: want.mustSave }),
    ]);
  });

  it.each(BROKEN_FIXTURES)("%s: failed with a one-line reason, object untouched", async (name) => {
    const key = `broken/${name}`;
    const rec = records.get(key)!;
    expect(rec.state).toBe("failed");
    expect(rec.reason).toMatch(BROKEN_REASON[name].reason);
    expect(rec.error).toMatch(BROKEN_REASON[name].error);
    expect(rec.reason).not.toContain("\n");
    const head = (await headObject(clients, key))!;
    expect(head).toMatchObject({ size: rec.size, etag: rec.etag });
  });

  it("queues exactly one job per encode fixture and nothing for the rest", () => {
    const encodeKeys = (Object.keys(EXPECTED) as VideoFixture[]).filter((n) => EXPECTED[n].action === "encode").map(keyOf);
    expect(jobs.map((j) => j.key).sort()).toEqual(encodeKeys.sort());
  });
});
