import { describe, expect, it } from "vitest";
import { UnreadableMediaError, probeMedia } from "../../shared/ffprobe.ts";
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
    ["zero_bytes.mp4", /empty|invalid/i],
    ["truncated.mp4", /moov atom not found|invalid data/i],
    ["text.mkv", /invalid data|EBML/i],
    ["playlist.mp4", /not on whitelist/i],
    ["audio_only.mp4", /no video stream/],
  ] as const)("rejects %s with one line", async (name, reason) => {
    expect(BROKEN_FIXTURES).toContain(name);
    const err = await probeMedia(await brokenFixture(name), { timeoutSec: 30 }).catch((e) => e);
    expect(err).toBeInstanceOf(UnreadableMediaError);
    expect(err.message).toMatch(reason);
    expect(err.message).not.toContain("\n");
  });
});
