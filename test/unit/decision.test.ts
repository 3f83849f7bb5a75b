import { describe, expect, it } from "vitest";
import { bitrateOf, decide, is4k, isCompressedMedia, isCompressedMetadata } from "../../shared/rules/decision.ts";
import type { MediaInfo } from "../../shared/schemas.ts";

function media(codec: string, width: number, height: number, extra: Partial<MediaInfo> = {}): MediaInfo {
  return {
    formatName: "mov,mp4,m4a,3gp,3g2,mj2",
    durationSec: 10,
    bitrate: 2_000_000,
    video: { codec, width, height },
    audio: [],
    subtitles: [],
    tags: {},
    ...extra,
  };
}

describe("decide: every row of the decision table", () => {
  it.each([
    // [key, codec, w, h, bitrate, action, downscale, mustSave, reason]
    ["a.mkv", "hevc", 3840, 2160, 9e6, "encode", true, 0, /not MP4 \(\.mkv\), 4K 3840×2160: H\.264, downscale/],
    ["a.avi", "mpeg4", 320, 240, 9e5, "encode", false, 0, /not MP4 \(\.avi\), below 4K: H\.264 MP4/],
    ["a.mov", "h264", 1920, 1080, 1e5, "encode", false, 0, /not MP4 \(\.mov\), below 4K/],
    ["rec/show.ts", "mpeg2video", 720, 576, 5e6, "encode", false, 0, /not MP4 \(\.ts\), below 4K: H\.264 MP4/],
    ["a.m2ts", "h264", 1920, 1080, 2e7, "encode", false, 0, /not MP4 \(\.m2ts\), below 4K: H\.264 MP4/],
    ["a.mp4", "vp9", 3840, 2160, 1e5, "encode", true, 0, /MP4 VP9, 4K 3840×2160: H\.264, downscale/],
    ["a.mp4", "h264", 3840, 2160, 1e5, "encode", true, 0, /MP4 H\.264, 4K/],
    ["a.mp4", "hevc", 1920, 1080, 1e5, "encode", false, 0, /MP4 HEVC: H\.264 for compatibility/],
    ["a.mp4", "av1", 1920, 1080, 1e5, "encode", false, 0, /MP4 AV1: H\.264 for compatibility/],
    ["a.mp4", "h264", 640, 360, 300_000, "skip", false, 0, /MP4 H\.264 at 0\.30 Mbit\/s, below 0\.50 Mbit\/s: skip/],
    ["a.mp4", "h264", 640, 360, 3e6, "encode", false, 0.05, /MP4 H\.264 at 3\.00 Mbit\/s: H\.264, must save ≥ 5 %/],
    ["a.mp4", "vp9", 640, 360, 3e6, "encode", false, 0.05, /MP4 VP9: H\.264, must save ≥ 5 %/],
    ["a.mp4", "mpeg4", 640, 360, 1e5, "encode", false, 0.05, /MP4 MPEG-4: H\.264, must save/],
  ] as const)("%s %s %ix%i @%d → %s", (key, codec, w, h, bitrate, action, downscale, mustSave, reason) => {
    const d = decide(media(codec, w, h, { bitrate }), key);
    expect(d).toMatchObject({ action, downscale, mustSave });
    expect(d.reason).toMatch(reason);
  });
});

describe("decide: boundaries", () => {
  it("0.5 Mbit/s exactly is encoded (must save), one bit less is skipped", () => {
    expect(decide(media("h264", 640, 360, { bitrate: 500_000 }), "a.mp4")).toMatchObject({ action: "encode", mustSave: 0.05 });
    expect(decide(media("h264", 640, 360, { bitrate: 499_999 }), "a.mp4").action).toBe("skip");
  });

  it("4K starts at 3840 wide or 2160 high, in either orientation", () => {
    expect(is4k(3840, 1600)).toBe(true);
    expect(is4k(3839, 1600)).toBe(false);
    expect(is4k(2880, 2160)).toBe(true);
    expect(is4k(2880, 2159)).toBe(false);
    expect(is4k(2160, 3840)).toBe(true);
    expect(is4k(1080, 1920)).toBe(false);
    expect(decide(media("h264", 3840, 1600, { bitrate: 1e5 }), "wide.mp4")).toMatchObject({ action: "encode", downscale: true });
    expect(decide(media("h264", 3839, 2159, { bitrate: 1e5 }), "nearly.mp4")).toMatchObject({ action: "skip", downscale: false });
  });

  it("portrait 2160×3840 is 4K and downscaled", () => {
    const d = decide(media("hevc", 2160, 3840), "phone.mp4");
    expect(d).toMatchObject({ action: "encode", downscale: true, mustSave: 0 });
    expect(d.reason).toContain("2160×3840");
    expect(decide(media("h264", 2160, 3840), "phone.MOV")).toMatchObject({ action: "encode", downscale: true });
  });

  it("a missing container bitrate comes from size and duration, and without either the 5 % guard applies", () => {
    const noRate = media("h264", 640, 360, { bitrate: undefined, durationSec: 8 });
    expect(bitrateOf(noRate, 400_000)).toBe(400_000);
    expect(decide(noRate, "a.mp4", 400_000).action).toBe("skip");
    expect(decide(noRate, "a.mp4", 500_000)).toMatchObject({ action: "encode", mustSave: 0.05 });
    const d = decide({ ...noRate, durationSec: 0 }, "a.mp4");
    expect(d).toMatchObject({ action: "encode", mustSave: 0.05 });
    expect(d.reason).toMatch(/bitrate unknown/);
  });

  it("upper-case extensions are the same containers", () => {
    expect(decide(media("h264", 640, 360, { bitrate: 3e5 }), "DIR/A.MP4").action).toBe("skip");
    expect(decide(media("h264", 640, 360, { bitrate: 3e5 }), "DIR/A.Mp4").action).toBe("skip");
    expect(decide(media("h264", 640, 360, { bitrate: 3e5 }), "DIR/A.MKV").reason).toMatch(/not MP4 \(\.mkv\)/);
  });
});

describe("decide: state and legacy rules", () => {
  it("ignores what already carries the v4 mark, under any tag name", () => {
    const d = decide(media("h264", 640, 360, { tags: { comment: "compressed_h264_v4" } }), "a.mp4");
    expect(d.action).toBe("ignore");
    expect(decide(media("h264", 640, 360, { tags: { "reelpress-state": "compressed_h264_v4" } }), "a_compressed.mp4").action).toBe("ignore");
    expect(isCompressedMedia(media("h264", 1, 1, { tags: { title: "compressed_h264_v4 of a trip" } }))).toBe(false);
    expect(isCompressedMetadata({ "reelpress-state": "compressed_h264_v4" })).toBe(true);
    expect(isCompressedMetadata({ "reelpress-state": "compressed_hevc_v2" })).toBe(false);
  });

  it("re-encodes v2 outputs (tag) and _compressed files without the v4 tag to H.264, whatever their bitrate", () => {
    const v2 = decide(media("hevc", 640, 360, { bitrate: 1e5, tags: { comment: "compressed_hevc_v2" } }), "old.mp4");
    expect(v2).toMatchObject({ action: "encode", downscale: false, mustSave: 0 });
    expect(v2.reason).toMatch(/legacy v2 output/);
    const renamed = decide(media("h264", 640, 360, { bitrate: 1e5 }), "dir/old_compressed.MP4");
    expect(renamed).toMatchObject({ action: "encode", mustSave: 0 });
    expect(renamed.reason).toMatch(/legacy _compressed file without the v4 tag/);
    expect(decide(media("hevc", 3840, 2160, { tags: { comment: "compressed_hevc_v2" } }), "old_compressed.mkv")).toMatchObject({ downscale: true });
  });
});
