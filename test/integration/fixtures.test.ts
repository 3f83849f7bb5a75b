import { stat } from "node:fs/promises";
import { execa } from "execa";
import { describe, expect, it } from "vitest";
import { BROKEN_FIXTURES, VIDEO_FIXTURES, brokenFixture, videoFixture, type VideoFixture } from "../kit/fixtures.ts";

async function ffprobe(file: string) {
  const r = await execa("ffprobe", ["-v", "error", "-show_format", "-show_streams", "-of", "json", file], { reject: false });
  return { ok: r.exitCode === 0, json: r.exitCode === 0 ? JSON.parse(r.stdout) : undefined };
}

const expected: Record<VideoFixture, { codec: string; w: number; h: number; audio: boolean; format: RegExp }> = {
  avi_mpeg4: { codec: "mpeg4", w: 320, h: 240, audio: true, format: /avi/ },
  mkv_h264: { codec: "h264", w: 320, h: 240, audio: true, format: /matroska/ },
  mov_h264: { codec: "h264", w: 320, h: 240, audio: true, format: /mov/ },
  webm_vp9: { codec: "vp9", w: 320, h: 240, audio: true, format: /webm/ },
  mp4_hevc8: { codec: "hevc", w: 320, h: 240, audio: true, format: /mp4/ },
  mp4_hevc10: { codec: "hevc", w: 320, h: 240, audio: false, format: /mp4/ },
  mp4_av1: { codec: "av1", w: 320, h: 240, audio: false, format: /mp4/ },
  mp4_h264_300k: { codec: "h264", w: 640, h: 360, audio: false, format: /mp4/ },
  mp4_h264_3m: { codec: "h264", w: 640, h: 360, audio: true, format: /mp4/ },
  mp4_4k: { codec: "h264", w: 3840, h: 2160, audio: false, format: /mp4/ },
  mp4_4k_portrait: { codec: "h264", w: 2160, h: 3840, audio: true, format: /mp4/ },
  mp4_h264_noaudio: { codec: "h264", w: 320, h: 240, audio: false, format: /mp4/ },
};

describe("test kit fixtures", () => {
  it.each(Object.keys(VIDEO_FIXTURES) as VideoFixture[])("%s is the real video it claims to be", async (name) => {
    const file = await videoFixture(name);
    const { ok, json } = await ffprobe(file);
    expect(ok).toBe(true);
    const v = json.streams.find((s: { codec_type: string }) => s.codec_type === "video");
    const want = expected[name];
    expect(v.codec_name).toBe(want.codec);
    expect([v.width, v.height]).toEqual([want.w, want.h]);
    expect(json.streams.some((s: { codec_type: string }) => s.codec_type === "audio")).toBe(want.audio);
    expect(json.format.format_name).toMatch(want.format);
    if (name === "mp4_hevc10") expect(v.pix_fmt).toBe("yuv420p10le");
  });

  it("makes the two bitrates the decision table turns on", async () => {
    const low = (await ffprobe(await videoFixture("mp4_h264_300k"))).json;
    const high = (await ffprobe(await videoFixture("mp4_h264_3m"))).json;
    expect(Number(low.format.bit_rate)).toBeLessThan(500_000);
    expect(Number(low.format.bit_rate)).toBeGreaterThan(200_000);
    expect(Number(high.format.bit_rate)).toBeGreaterThan(2_500_000);
  });

  it("caches by recipe: the second call is the same file", async () => {
    const a = await videoFixture("mkv_h264");
    const before = await stat(a);
    const b = await videoFixture("mkv_h264");
    expect(b).toBe(a);
    expect((await stat(b)).mtimeMs).toBe(before.mtimeMs);
  });

  it.each(BROKEN_FIXTURES)("%s has no video stream ffprobe can read", async (name) => {
    const file = await brokenFixture(name);
    const { ok, json } = await ffprobe(file);
    const hasVideo = ok && json.streams?.some((s: { codec_type: string }) => s.codec_type === "video");
    expect(hasVideo).toBeFalsy();
  });
});
