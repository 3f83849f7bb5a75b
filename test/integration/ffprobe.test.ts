import { describe, expect, it } from "vitest";
import { readableReason } from "../../shared/rules/failure-reasons.ts";
import { UnreadableMediaError, probeMedia } from "../../shared/media/ffprobe.ts";
import { BROKEN_FIXTURES, brokenFixture, videoFixture } from "../kit/fixtures.ts";

describe("probeMedia (real ffprobe)", () => {
  it("reads codec, size, depth, bitrate and audio", async () => {
    const hevc10 = await probeMedia(await videoFixture("mp4_hevc10"), { timeoutSec: 30 });
    expect(hevc10.video).toMatchObject({ codec: "hevc", width: 320, height: 240, bitDepth: 10 });
    expect(hevc10.audio).toEqual([]);
    const avi = await probeMedia(await videoFixture("avi_mpeg4"), { timeoutSec: 30 });
    expect(avi).toMatchObject({ formatName: "avi", video: { codec: "mpeg4", bitDepth: 8 }, audio: [{ codec: "mp3" }] });
    expect(avi.durationSec).toBeCloseTo(4, 0);
    expect(avi.bitrate).toBeGreaterThan(0);
  });

  it.each([
    // Without the object's size, ffprobe sees an MP4 with no index.
    ["zero_bytes.mp4", /empty|invalid|moov/i, "incomplete or damaged MP4 (cut short, or its index is missing)"],
    ["truncated.mp4", /moov atom not found|invalid data/i, "incomplete or damaged MP4 (cut short, or its index is missing)"],
    ["text.mkv", /invalid data|EBML/i, "not a video file (damaged or not Matroska)"],
    ["playlist.mp4", /not on whitelist/i, "a playlist or other reference file named like a video; only real video files are read"],
    ["audio_only.mp4", /no video stream/, "no picture: the file holds no video stream (audio only, or data)"],
  ] as const)("rejects %s with one line, which the reasons table turns into a sentence", async (name, reason, sentence) => {
    expect(BROKEN_FIXTURES).toContain(name);
    const err = await probeMedia(await brokenFixture(name), { timeoutSec: 30 }).catch((e) => e);
    expect(err).toBeInstanceOf(UnreadableMediaError);
    expect(err.message).toMatch(reason);
    expect(err.message).not.toContain("\n");
    expect(readableReason(err.message)).toBe(sentence);
  });
});
