// Every fixture of the test kit, uploaded with the AWS SDK to a running `reelpress dev` (with its
// runner), ends compressed (tagged, playable, original in the backup prefix) or, where it must save
// 5 % and cannot, skipped: on dev's folder library under its own name, its record saying so.
import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { pipeline } from "node:stream/promises";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeClients, type Clients } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";
import { isCompressedMedia } from "../../shared/rules/decision.ts";
import { probeMedia, safeInputArgs } from "../../shared/media/ffprobe.ts";
import { readRecord } from "../../shared/io/manifest.ts";
import { backupKeyFor, outputKeyFor, skipKeyFor } from "../../shared/rules/naming.ts";
import type { ManifestRecord } from "../../shared/schemas.ts";
import { headObject, presignedGetUrl } from "../../shared/io/objects.ts";
import { startDev } from "../kit/cli.ts";
import { VIDEO_FIXTURES, makeVideo, videoFixture, type VideoFixture } from "../kit/fixtures.ts";
import { GRAIN } from "../integration/runner-kit.ts";

/** How each upload must end: compressed, `_skip` (by the strategy or by the runner), or either for must-save rows. */
const OUTCOME: Record<VideoFixture | "grain", "compressed" | "skipped" | "saves-or-skips"> = {
  avi_mpeg4: "compressed",
  mkv_h264: "compressed",
  mov_h264: "compressed",
  webm_vp9: "compressed",
  mp4_hevc8: "compressed",
  mp4_hevc10: "compressed",
  mp4_av1: "compressed",
  mp4_4k: "compressed",
  mp4_4k_portrait: "compressed",
  mp4_h264_3m: "compressed",
  mp4_h264_300k: "skipped",
  mp4_h264_noaudio: "saves-or-skips",
  grain: "skipped",
};

const sha256 = async (stream: NodeJS.ReadableStream) => {
  const h = createHash("sha256");
  await pipeline(stream, h);
  return h.digest("hex");
};

describe("reelpress dev: upload → probe → strategy → runner, end to end", () => {
  let dataDir: string;
  let dev: Awaited<ReturnType<typeof startDev>>;
  let clients: Clients;
  const files = new Map<string, string>();

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), "reelpress-e2e-runner-"));
    const env = { ...process.env, AWS_ENDPOINT_URL: "", NO_COLOR: "1", REELPRESS_FINGERPRINTS: "6", REELPRESS_X264_PRESET: "ultrafast" };
    dev = await startDev(["--data-dir", dataDir, "--port", "0"], env);
    clients = makeClients(loadConfig({ AWS_ENDPOINT_URL: dev.endpoint }));
    for (const name of Object.keys(OUTCOME) as Array<keyof typeof OUTCOME>) {
      const file = name === "grain" ? await makeVideo(GRAIN) : await videoFixture(name);
      const key = `runs/${name}.${name === "grain" ? "mp4" : VIDEO_FIXTURES[name].ext}`;
      files.set(key, file);
      await clients.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: createReadStream(file), ContentLength: (await stat(file)).size }));
    }
  });
  afterAll(async () => {
    dev?.child.kill("SIGTERM");
    await dev?.child;
    await rm(dataDir, { recursive: true, force: true });
  });

  /** The record where the upload ends: its output's (compressed) or its own (skipped, name kept). */
  const finalRecord = async (key: string): Promise<ManifestRecord | undefined> => {
    for (const k of new Set([outputKeyFor(key), key])) {
      const r = (await readRecord(clients, k))?.record;
      if (r && (r.state === "compressed" || r.state === "skipped")) return r;
    }
    const failed = (await readRecord(clients, key))?.record;
    if (failed?.state === "failed") throw new Error(`${key} failed: ${failed.error}\n${dev.output().slice(-3000)}`);
    return undefined;
  };

  it("ends every encode fixture compressed and every one that cannot save skipped under its own name", async () => {
    const results = new Map<string, ManifestRecord>();
    const deadline = Date.now() + 100_000;
    while (results.size < files.size) {
      if (Date.now() > deadline) throw new Error(`not finished: ${[...files.keys()].filter((k) => !results.has(k)).join(", ")}\n${dev.output().slice(-3000)}`);
      for (const key of files.keys()) {
        if (results.has(key)) continue;
        const r = await finalRecord(key);
        if (r) results.set(key, r);
      }
      await new Promise((r) => setTimeout(r, 500));
    }

    for (const [key, file] of files) {
      const name = path.basename(key).replace(/\.\w+$/, "") as keyof typeof OUTCOME;
      const rec = results.get(key)!;
      const want = OUTCOME[name];
      if (want !== "saves-or-skips") expect(rec.state, key).toBe(want);
      const original = await sha256(createReadStream(file));
      const bytesAt = async (k: string) => sha256((await clients.s3.send(new GetObjectCommand({ Bucket: "reelpress", Key: k }))).Body as NodeJS.ReadableStream);
      if (rec.state === "skipped") {
        expect(rec.key).toBe(key);
        expect(await headObject(clients, skipKeyFor(key)), key).toBeUndefined();
        expect(await bytesAt(rec.key), key).toBe(original);
        continue;
      }
      // Compressed: tagged in metadata and container, H.264 that decodes to the end, original backed up byte for byte.
      expect(rec.key).toBe(outputKeyFor(key));
      const head = await headObject(clients, rec.key);
      expect(head?.metadata["reelpress-state"]).toBe("compressed_h264_v4");
      const url = await presignedGetUrl(clients, rec.key);
      const media = await probeMedia(url, { timeoutSec: 30 });
      expect(isCompressedMedia(media), key).toBe(true);
      expect(media.video.codec).toBe("h264");
      expect(Math.max(media.video.width, media.video.height)).toBeLessThanOrEqual(1920);
      const decode = await execa("ffmpeg", ["-v", "error", "-xerror", ...safeInputArgs(url), "-f", "null", "-"], { reject: false });
      expect(decode.exitCode, `${key}: ${decode.stderr}`).toBe(0);
      expect(await bytesAt(backupKeyFor(key, "orig_video_to_delete/")), key).toBe(original);
      if (rec.key !== key) expect(await headObject(clients, key)).toBeUndefined();
      if (name === "mp4_h264_3m" || name === "mp4_h264_noaudio") expect(rec.savedBytes!, key).toBeGreaterThanOrEqual(0.05 * rec.source!.size);
    }
  });
});
