import { describe, expect, it } from "vitest";
import { buildPass, montageArgs, montageGrid, montageTimes, targetSize, uprightFilters, usesNvdec, type PassSpec, pickVerifyTimes } from "../../gpu-runner/encode-args.ts";
import { selectAt } from "../../shared/media/fingerprint.ts";
import type { MediaInfo } from "../../shared/schemas.ts";

const media = (over: Omit<Partial<MediaInfo>, "video"> & { video?: Partial<MediaInfo["video"]> } = {}): MediaInfo => ({
  formatName: "matroska,webm",
  durationSec: 60,
  audio: [],
  subtitles: [],
  tags: {},
  ...over,
  video: { codec: "h264", width: 1920, height: 1080, pixFmt: "yuv420p", ...over.video },
});
const spec = (over: Partial<PassSpec> = {}): PassSpec => ({
  input: "/work/in.mkv",
  media: media(),
  encoder: "x264",
  downscale: false,
  sampleTimes: [1.5, 4.5],
  keyframeTimes: [1.5, 4.5],
  x264Preset: "medium",
  ...over,
});
const after = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
const graphOf = (args: string[]) => after(args, "-filter_complex");

describe("targetSize", () => {
  it("fits 4K into 1920×1080, portrait into 1080×1920, and keeps the aspect ratio", () => {
    expect(targetSize(3840, 2160, true)).toEqual({ width: 1920, height: 1080 });
    expect(targetSize(2160, 3840, true)).toEqual({ width: 1080, height: 1920 });
    expect(targetSize(4096, 2160, true)).toEqual({ width: 1920, height: 1012 });
    expect(targetSize(5120, 1440, true)).toEqual({ width: 1920, height: 540 });
  });
  it("never upscales and always gives even dimensions", () => {
    expect(targetSize(1280, 720, true)).toEqual({ width: 1280, height: 720 });
    expect(targetSize(641, 361, false)).toEqual({ width: 640, height: 360 });
    expect(targetSize(3841, 2161, true).width % 2).toBe(0);
    expect(targetSize(3841, 2161, true).height % 2).toBe(0);
  });
});

describe("montage", () => {
  it("is N×N with N = ⌊ln(duration/2 + 1)⌋ within 1..10", () => {
    expect(montageGrid(0)).toBe(1);
    expect(montageGrid(4)).toBe(1);
    expect(montageGrid(13)).toBe(2);
    expect(montageGrid(60)).toBe(3);
    expect(montageGrid(3600)).toBe(7);
    expect(montageGrid(1e9)).toBe(10);
  });
  it("samples the middle of each slice", () => {
    expect(montageTimes(40, 2)).toEqual([5, 15, 25, 35]);
    expect(montageTimes(10, 1)).toEqual([5]);
  });
});

describe("frame selection", () => {
  it("passes the first frame at or after each time, once per time", () => {
    expect(selectAt([2, 1, 2])).toBe("select='gte(t,1)*not(gte(prev_t,1))+gte(t,2)*not(gte(prev_t,2))'");
    expect(selectAt([])).toBe("select='0'");
  });
  it("turns stored pixels upright the way ffmpeg's autorotate does", () => {
    expect(uprightFilters(90)).toEqual(["transpose=cclock"]);
    expect(uprightFilters(-90)).toEqual(["transpose=clock"]);
    expect(uprightFilters(180)).toEqual(["hflip", "vflip"]);
    expect(uprightFilters(undefined)).toEqual([]);
  });
});

describe("buildPass with NVENC", () => {
  it("decodes on NVDEC, scales with scale_cuda to 8-bit, and encodes VBR+CQ with AQ and lookahead", () => {
    const plan = buildPass(spec({ encoder: "nvenc", downscale: true, media: media({ video: { codec: "hevc", width: 3840, height: 2160, pixFmt: "yuv420p10le" } }) }));
    const { args } = plan;
    expect(args.slice(args.indexOf("-hwaccel"), args.indexOf("-hwaccel") + 4)).toEqual(["-hwaccel", "cuda", "-hwaccel_output_format", "cuda"]);
    expect(graphOf(args)).toMatch(/^\[0:V:0\]scale_cuda=1920:1080:format=nv12,split=4/);
    expect(graphOf(args)).toContain("hwdownload,format=nv12");
    // The preview's frames are made small on the GPU before they are downloaded: 3840 → 960.
    expect(graphOf(args)).toContain("[pv]scale_cuda=960:540:format=nv12,hwdownload,format=nv12[pvd]");
    expect(after(args, "-c:v")).toBe("h264_nvenc");
    expect(after(args, "-rc")).toBe("vbr");
    expect(Number(after(args, "-cq"))).toBeGreaterThan(0);
    expect(after(args, "-b:v")).toBe("0");
    expect(after(args, "-spatial-aq")).toBe("1");
    expect(after(args, "-temporal-aq")).toBe("1");
    expect(Number(after(args, "-rc-lookahead"))).toBeGreaterThan(0);
    expect(plan.size).toEqual({ width: 1920, height: 1080 });
  });
  it("uploads CPU-decoded frames when NVDEC cannot decode the source", () => {
    const m = media({ video: { codec: "wmv2", pixFmt: "yuv420p" } });
    expect(usesNvdec(m)).toBe(false);
    const { args } = buildPass(spec({ encoder: "nvenc", media: m }));
    expect(args).not.toContain("-hwaccel");
    expect(graphOf(args)).toMatch(/^\[0:V:0\]format=nv12,hwupload_cuda,scale_cuda=1920:1080:format=nv12/);
  });
});

describe("the pass's quality sample", () => {
  it("taps the frames the encoder gets, selects every k-th and writes them raw with their times, bounded", () => {
    const plan = buildPass(spec({ qualitySample: { every: 3, maxFrames: 86 } }));
    const graph = after(plan.args, "-filter_complex");
    expect(graph).toMatch(/split=\d\[enc\]\[fp\]\[mt\](\[pv\])?\[qs\]/);
    expect(graph).toContain("[qs]select='not(mod(n,3))'[qso]");
    const tail = plan.args.slice(plan.args.indexOf("[qso]") - 1).join(" ");
    expect(tail).toBe("-map [qso] -fps_mode passthrough -frames:v 86 -c:v rawvideo -f nut quality-sample.nut");
    expect(plan.qualitySample).toEqual({ every: 3, maxFrames: 86 });
    // NVENC's frames come back from the GPU, already scaled there as the encoder's are.
    expect(after(buildPass(spec({ encoder: "nvenc", qualitySample: { every: 3, maxFrames: 86 } })).args, "-filter_complex")).toContain("[qs]select='not(mod(n,3))',hwdownload,format=nv12[qso]");
    expect(buildPass(spec()).args).not.toContain("[qso]");
  });
});

describe("buildPass with libx264", () => {
  it("encodes CRF on the CPU, 8-bit 4:2:0, scaling only when needed", () => {
    const { args } = buildPass(spec({ x264Preset: "ultrafast" }));
    expect(after(args, "-c:v")).toBe("libx264");
    expect(after(args, "-preset")).toBe("ultrafast");
    expect(after(args, "-crf")).toBe("23");
    expect(graphOf(args)).toMatch(/^\[0:V:0\]format=yuv420p,split=4/);
    const odd = buildPass(spec({ media: media({ video: { width: 641, height: 361 } }) }));
    expect(graphOf(odd.args)).toMatch(/^\[0:V:0\]scale=640:360,format=yuv420p/);
  });
  it("keeps rotation as a display matrix and turns only the fingerprint and montage frames", () => {
    const { args } = buildPass(spec({ media: media({ video: { rotation: 90 } }) }));
    expect(args.indexOf("-noautorotate")).toBeLessThan(args.indexOf("-i"));
    const graph = graphOf(args);
    expect(graph.split(";")[0]).not.toContain("transpose");
    expect(graph.split(";")[1]).toMatch(/format=gray,transpose=cclock\[fpo\]$/);
    // Tiles are sized so that, once turned, the long side is upright: 1920×1080 stored → 180×320 shown.
    expect(graph.split(";")[2]).toContain("scale=320:180,transpose=cclock");
  });
});

describe("streams", () => {
  it("copies audio MP4 can hold and converts the rest to AAC", () => {
    const plan = buildPass(spec({ media: media({ audio: [{ codec: "aac" }, { codec: "pcm_s16le" }, { codec: "opus" }, { codec: "wmav2" }] }) }));
    expect(plan.audioCodecs).toEqual(["copy", "aac", "copy", "aac"]);
    expect(after(plan.args, "-c:a:1")).toBe("aac");
    expect(after(plan.args, "-c:a:0")).toBe("copy");
  });
  it("converts text subtitles to mov_text and drops bitmap ones with a note", () => {
    const plan = buildPass(spec({ media: media({ subtitles: [{ codec: "subrip" }, { codec: "hdmv_pgs_subtitle" }, { codec: "ass" }] }) }));
    expect(plan.keptSubtitles).toBe(2);
    expect(plan.args.join(" ")).toContain("-map 0:s:0 -map 0:s:2 -c:s mov_text");
    expect(plan.notes).toEqual(["subtitle stream 1 (hdmv_pgs_subtitle) dropped: MP4 holds text subtitles only"]);
  });
  it("forces keyframes where verification decodes the output (IDR on NVENC), and none without times", () => {
    const x264 = buildPass(spec()).args;
    expect(after(x264, "-force_key_frames")).toBe("1.500000,4.500000");
    expect(x264).not.toContain("-forced-idr");
    expect(after(buildPass(spec({ encoder: "nvenc" })).args, "-forced-idr")).toBe("1");
    expect(buildPass(spec({ keyframeTimes: [] })).args).not.toContain("-force_key_frames");
  });

  it("verifies at a few evenly spread frames with a picture, never dark ones", () => {
    const prints = Array.from({ length: 16 }, (_, i) => ({ t: i + 0.5, hash: "0".repeat(16), dark: i < 4 }));
    expect(pickVerifyTimes(prints)).toEqual([5.5, 8.5, 11.5, 14.5]);
    expect(pickVerifyTimes(prints.slice(0, 6))).toEqual([4.5, 5.5]);
    expect(pickVerifyTimes(prints.slice(0, 4))).toEqual([]);
  });

  it("tags the container, reads through the whitelists and reconnects only over HTTP", () => {
    const local = buildPass(spec()).args;
    expect(after(local, "-metadata")).toBe("comment=compressed_h264_v4");
    expect(local).toContain("-protocol_whitelist");
    expect(local).toContain("-format_whitelist");
    expect(local).not.toContain("-reconnect");
    expect(buildPass(spec({ input: "https://bucket.example/x?sig" })).args).toContain("-reconnect");
  });
  it("writes the three outputs with relative names only (ffmpeg runs in the job folder)", () => {
    const { args } = buildPass(spec());
    expect(args).toContain("output.mp4");
    expect(args).toContain("fingerprints.gray");
    // The montage's frames, tiled after the pass (a tile in the pass would hold back ffmpeg's progress).
    expect(args).toContain("montage-tiles.nut");
    expect(graphOf(args)).not.toContain("tile=");
    expect(montageArgs(3)).toEqual(expect.arrayContaining(["montage-tiles.nut", "tile=3x3", "montage.jpg"]));
    expect(graphOf(args)).toContain("file=fingerprints.txt");
  });
});
