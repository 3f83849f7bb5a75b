// The probe's one sampling of frames: a local file decoded once gives the frames seeks would (so copies
// probed either way stay aligned), a presigned URL the same, and each writes a still.
import { mkdtemp, rm, stat } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnreadableMediaError, probeMedia } from "../../shared/media/ffprobe.ts";
import { fingerprintVideo, sampleTimes, seekBackSec } from "../../shared/media/fingerprint.ts";
import { sampleVideo } from "../../shared/media/sample.ts";
import { presignedGetUrl, uploadFile } from "../../shared/io/objects.ts";
import { brokenFixture, makeVideo } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

describe("sampleVideo (real ffmpeg)", () => {
  let stack: TestStack;
  let dir: string;
  beforeAll(async () => void ([stack, dir] = await Promise.all([startTestStack(), mkdtemp(path.join(os.tmpdir(), "reelpress-sample-"))])));
  afterAll(async () => {
    await stack?.stop();
    await rm(dir, { recursive: true, force: true });
  });
  const workDir = (name: string) => mkdtemp(path.join(dir, name));

  it("decodes a local file once into the frames seeks land on, and a presigned URL into the same", async () => {
    // x264's default GOP (250) on a short clip: one keyframe, so every seek decodes from the start.
    const file = await makeVideo({ ext: "mkv", vcodec: "libx264", durationSec: 6, fps: 30, audio: true });
    const media = await probeMedia(file, { timeoutSec: 30 });
    const times = sampleTimes(media.durationSec, 12);
    const local = await sampleVideo(file, media, { times, timeoutSec: 30, dir: await workDir("local-") });
    expect(local.fingerprints).toEqual(await fingerprintVideo(file, { durationSec: media.durationSec, count: 12, timeoutSec: 30 }));
    expect((await stat(local.thumbnail!)).size).toBeGreaterThan(1000);
    await uploadFile(stack, file, "s/a.mkv");
    const remote = await sampleVideo(await presignedGetUrl(stack, "s/a.mkv"), media, { times, timeoutSec: 30, dir: await workDir("remote-") });
    expect(remote.fingerprints).toEqual(local.fingerprints);
    expect(remote.picture).toEqual(local.picture);
    expect((await stat(remote.thumbnail!)).size).toBeGreaterThan(1000);
  });

  it("takes the same frames from an MPEG-TS by seeks as by one decode (a TS seek lands after its target)", async () => {
    // A DVR-like stream: B-frames, a keyframe every 2 s, a start time of about 1.4 s.
    const file = await makeVideo({ ext: "ts", vcodec: "libx264", durationSec: 8, fps: 25, audio: true, extra: ["-bf", "2", "-g", "50", "-sc_threshold", "0"] });
    const media = await probeMedia(file, { timeoutSec: 30 });
    expect(media.formatName).toBe("mpegts");
    const times = sampleTimes(media.durationSec, 6);
    const local = await sampleVideo(file, media, { times, timeoutSec: 30, dir: await workDir("ts-local-") });
    await uploadFile(stack, file, "s/a.ts");
    const remote = await sampleVideo(await presignedGetUrl(stack, "s/a.ts"), media, { times, timeoutSec: 30, dir: await workDir("ts-remote-") });
    expect(remote.fingerprints).toEqual(local.fingerprints);
    expect(await fingerprintVideo(file, { durationSec: media.durationSec, count: 6, timeoutSec: 30, seekBackSec: seekBackSec(media.formatName) })).toEqual(local.fingerprints);
  });

  it("leaves out times past the end; a file with no frame is unreadable", async () => {
    const file = await makeVideo({ ext: "mp4", vcodec: "libx264", durationSec: 6 });
    const media = await probeMedia(file, { timeoutSec: 30 });
    const sampled = await sampleVideo(file, media, { times: sampleTimes(12, 8), timeoutSec: 30, dir: await workDir("past-") });
    expect(sampled.fingerprints.map((f) => f.t)).toEqual([0.75, 2.25, 3.75, 5.25]);
    const text = await brokenFixture("text.mkv");
    await expect(sampleVideo(text, media, { times: [1], timeoutSec: 30, dir: await workDir("text-") })).rejects.toBeInstanceOf(UnreadableMediaError);
  });
});
