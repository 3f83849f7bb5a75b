import { describe, expect, it } from "vitest";
import { ARCHIVE, COMPAT, DEFAULT_TABLE, ProfileError, parseProfiles, profileFor, profileRefusal, sameProfile } from "../../shared/rules/profiles.ts";
import { decide } from "../../shared/rules/decision.ts";
import { chooseForReencode } from "../../shared/rules/reencode.ts";
import { streamVerdict } from "../../gpu-runner/stream-savings.ts";
import { profileVideoArgs } from "../../gpu-runner/profile-args.ts";
import { videoEncoderArgs } from "../../gpu-runner/encode-args.ts";
import { type ArchivePlan, buildArchivePass } from "../../gpu-runner/archive-args.ts";
import { archiveProblems } from "../../gpu-runner/archive.ts";
import { type StreamInfo, streamsFrom } from "../../shared/media/streams.ts";
import type { ManifestRecord, MediaInfo } from "../../shared/schemas.ts";

const FILE = JSON.stringify({
  default: "compat",
  folders: { "films/": "archive", "films/kids": "small", anime: "anime" },
  profiles: {
    small: { encoder: "x264", quality: 28, preset: "fast", params: { keyint: "250", "aq-mode": 2 } },
    anime: { base: "compat", encoder: "x265", quality: 20, params: { "psy-rd": "1.5", sao: "0" } },
  },
});

const media = (codec: string, bitrate = 3e6): MediaInfo => ({ formatName: "mov,mp4", durationSec: 10, bitrate, video: { codec, width: 640, height: 360 }, audio: [], subtitles: [], tags: {} });

describe("profiles file", () => {
  const table = parseProfiles(FILE);

  it("gives each key its deepest folder's profile, else the default", () => {
    expect(profileFor(table, "films/a.avi").name).toBe("archive");
    expect(profileFor(table, "films/kids/b.mp4")).toMatchObject({ name: "small", base: "compat", encoder: "x264", quality: 28, preset: "fast", params: { keyint: "250", "aq-mode": "2" } });
    expect(profileFor(table, "anime/c.mkv")).toMatchObject({ name: "anime", encoder: "x265", quality: 20 });
    expect(profileFor(table, "animes/d.mkv").name).toBe("compat");
    expect(profileFor(DEFAULT_TABLE, "films/a.avi")).toEqual(COMPAT);
  });

  it.each<[string, unknown, RegExp]>([
    ["not JSON", "{", /^Bad \.reelpress\/profiles\.json: is not JSON \(.+\)\.$/],
    ["an unknown top-level field", { args: ["-i", "/etc/passwd"] }, /the file has "args", which is not allowed \(allowed: default, folders, profiles\)\.$/],
    ["a free-form argument list in a profile", { profiles: { p: { args: ["-f", "concat", "-i", "list.txt"] } } }, /profiles\.p has "args", which is not allowed/],
    ["a parameter that names a file", { profiles: { p: { params: { stats: "/tmp/x.log" } } } }, /profiles\.p\.params has "stats", which is not an allowed x264 parameter \(allowed: aq-mode,/],
    ["another parameter smuggled into a value", { profiles: { p: { params: { "aq-mode": "1:stats=/tmp/x" } } } }, /profiles\.p\.params\.aq-mode is "1:stats=\/tmp\/x", which is not a value it may have\.$/],
    ["a protocol in a value", { profiles: { p: { encoder: "x265", params: { me: "file:/etc/passwd" } } } }, /profiles\.p\.params\.me is "file:\/etc\/passwd"/],
    ["an x264 parameter on x265", { profiles: { p: { encoder: "x265", params: { trellis: "1" } } } }, /not an allowed x265 parameter/],
    ["an encoder not on the list", { profiles: { p: { encoder: "concat" } } }, /profiles\.p\.encoder is "concat"; must be "x264" or "x265"\.$/],
    ["a quality out of range", { profiles: { p: { quality: 60 } } }, /profiles\.p\.quality is 60; must be a whole number from 0/],
    ["an unknown preset", { profiles: { p: { preset: "-i /x" } } }, /profiles\.p\.preset is "-i \/x"; must be one of ultrafast,/],
    ["a redefined built-in", { profiles: { archive: { quality: 30 } } }, /profiles\.archive redefines a built-in profile/],
    ["a bad profile name", { profiles: { "../x": {} } }, /profiles has a profile named "\.\.\/x"/],
    ["a name from Object's prototype", { folders: { "a/": "constructor" } }, /folders\."a\/" names "constructor", which is not a profile/],
    ["a folder naming no profile", { folders: { "a/": "fast" } }, /folders\."a\/" names "fast", which is not a profile \(known: compat, archive\)\.$/],
    ["a folder outside the library", { folders: { "../up": "archive" } }, /folders has "\.\.\/up", which is not a library folder/],
    ["a folder under .reelpress/", { folders: { ".reelpress/x": "archive" } }, /which is not a library folder/],
    ["a default naming no profile", { default: "best" }, /default names "best", which is not a profile/],
  ])("refuses %s with one sentence", (_, raw, message) => {
    const parse = () => parseProfiles(typeof raw === "string" ? raw : JSON.stringify(raw));
    expect(parse).toThrow(ProfileError);
    expect(parse).toThrow(message);
    try {
      parse();
    } catch (err) {
      expect((err as Error).message.split(/\.\s/)).toHaveLength(1);
    }
  });

  it("checks a profile that arrives in a message or record as strictly as the file", () => {
    expect(profileRefusal(ARCHIVE)).toBeUndefined();
    expect(profileRefusal(profileFor(table, "anime/x.mkv"))).toBeUndefined();
    expect(profileRefusal({ ...ARCHIVE, quality: 30 })).toMatch(/differs from the built-in/);
    expect(profileRefusal({ ...COMPAT, name: "constructor" })).toBeUndefined();
    expect(profileRefusal({ ...COMPAT, name: "mine", params: { "x264opts": "stats=/etc/passwd" } })).toMatch(/not an allowed x264 parameter/);
    expect(sameProfile(undefined, COMPAT)).toBe(true);
    expect(sameProfile({ ...ARCHIVE, params: {} }, ARCHIVE)).toBe(true);
    expect(sameProfile({ ...ARCHIVE, params: { ref: "4" } }, ARCHIVE)).toBe(false);
  });
});

describe("decide with a profile", () => {
  it("names the profile on encode rows; compat stays the table of before", () => {
    expect(decide(media("hevc"), "a.mp4")).toMatchObject({ action: "encode", profile: COMPAT, reason: "MP4 HEVC: H.264 for compatibility" });
    expect(decide(media("h264", 3e5), "a.mp4", undefined, ARCHIVE)).toMatchObject({ action: "encode", mustSave: 0, downscale: false, profile: ARCHIVE, reason: expect.stringMatching(/^profile archive: /) });
    const small = profileFor(parseProfiles(FILE), "films/kids/a.mp4");
    expect(decide(media("h264"), "a.mp4", undefined, small)).toMatchObject({ mustSave: 0.05, profile: small, reason: expect.stringMatching(/^profile small: MP4 H\.264/) });
    // The skip row stays a skip, and outputs are never sources, whatever the profile.
    expect(decide(media("h264", 3e5), "a.mp4", undefined, small)).toMatchObject({ action: "skip" });
    expect(decide({ ...media("h264"), tags: { comment: "compressed_h264_v4" } }, "a.mkv", undefined, ARCHIVE)).toMatchObject({ action: "ignore" });
  });
});

describe("streamVerdict: the archive's per-stream rule", () => {
  it.each([
    [{ sourceBytes: 1000, sourceSec: 10, encodedBytes: 899, encodedSec: 10 }, "encoded"],
    [{ sourceBytes: 1000, sourceSec: 10, encodedBytes: 900, encodedSec: 10 }, "kept"],
    // Rates, not bytes: 5 s of output at the source's rate is not a saving.
    [{ sourceBytes: 1000, sourceSec: 10, encodedBytes: 500, encodedSec: 5 }, "kept"],
    [{ sourceBytes: 1000, sourceSec: 10, encodedBytes: 400, encodedSec: 5 }, "encoded"],
    [{ sourceBytes: 0, sourceSec: 10, encodedBytes: 0, encodedSec: 10 }, "kept"],
    [{ sourceBytes: 1000, sourceSec: 10, encodedBytes: 10, encodedSec: 0 }, "kept"],
  ] as const)("%o → %s", (m, action) => expect(streamVerdict(m).action).toBe(action));
});

describe("profile encoder options", () => {
  it("compat is the encode of before; others set only checked options", () => {
    expect(profileVideoArgs("x264", COMPAT, "medium")).toEqual(videoEncoderArgs("x264", "medium"));
    expect(profileVideoArgs("nvenc", COMPAT, "medium")).toEqual(videoEncoderArgs("nvenc", "medium"));
    const anime = profileFor(parseProfiles(FILE), "anime/a.mkv");
    expect(profileVideoArgs("x264", anime, "medium")).toEqual(["-c:v", "libx265", "-preset:v", "medium", "-crf:v", "20", "-tag:v", "hvc1", "-pix_fmt:v", "yuv420p", "-x265-params:v", "log-level=error:psy-rd=1.5:sao=0"]);
    expect(profileVideoArgs("x264", ARCHIVE, "medium", "0", "mkv")).toEqual(["-c:0", "libx264", "-preset:0", "veryslow", "-crf:0", "18"]);
    expect(profileVideoArgs("nvenc", ARCHIVE, "medium", "0", "mkv")).toEqual(expect.arrayContaining(["h264_nvenc", "p7", "-cq:0", "18"]));
    expect(() => profileVideoArgs("x264", { ...COMPAT, name: "x", params: { "stats": "/etc/passwd" } }, "medium")).toThrow(/profile refused/);
  });
});

describe("buildArchivePass", () => {
  const streams: StreamInfo[] = [
    { index: 0, type: "video", codec: "h264", attachedPic: false, windowBytes: 1 },
    { index: 1, type: "audio", codec: "pcm_s16le", attachedPic: false, windowBytes: 1 },
    { index: 2, type: "data", codec: "bin_data", attachedPic: false, windowBytes: 1 },
    { index: 3, type: "audio", codec: "aac", attachedPic: false, windowBytes: 1 },
    { index: 4, type: "subtitle", codec: "mov_text", attachedPic: false, windowBytes: 1 },
    { index: 5, type: "video", codec: "mjpeg", attachedPic: true, windowBytes: 1 },
  ];
  const verdicts = new Map([[0, { action: "encoded" as const, reason: "v" }], [1, { action: "encoded" as const, reason: "a" }], [3, { action: "kept" as const, reason: "k" }]]);
  const plan = buildArchivePass({ input: "in.mov", media: media("h264"), streams, verdicts, encoder: "x264", profile: ARCHIVE, x264Preset: "medium", sampleTimes: [1, 2] });

  it("keeps the source's order, encodes what the rule said, passes the rest through, tags the output", () => {
    expect(plan.streams.map((s) => [s.index, s.action, s.codec])).toEqual([[0, "encoded", "h264"], [1, "encoded", "opus"], [3, "kept", "aac"], [4, "kept", "subrip"], [5, "kept", "mjpeg"]]);
    expect(plan.notes).toEqual([expect.stringMatching(/^stream 2 \(data, bin_data\) dropped/)]);
    const a = plan.args.join(" ");
    expect(a).toContain("-map 0:0 -c:0 libx264 -preset:0 veryslow -crf:0 18 -fps_mode:0 passthrough -map 0:1 -c:1 libopus -b:1 128k -map 0:3 -c:2 copy -map 0:4 -c:3 srt -map 0:5 -c:4 copy");
    expect(a).toContain("-map_metadata 0 -map_chapters 0 -metadata reelpress-state=compressed_h264_v4 -metadata reelpress-profile=archive");
    expect(a).toMatch(/-f matroska output\.mkv/);
  });
});

describe("chooseForReencode", () => {
  const table = parseProfiles(JSON.stringify({ folders: { "films/": "archive" } }));
  const out = (key: string, extra: Partial<ManifestRecord> = {}): ManifestRecord => ({
    key, size: 1, etag: '"e"', state: "compressed", updatedAt: "", source: { key: key.replace(/\.\w+$/, ".avi"), size: 2, etag: '"s"', backupKey: `orig/${key}` }, ...extra,
  });
  it("picks outputs whose folder now names the profile and that were made otherwise, once", () => {
    const choices = chooseForReencode([
      out("films/a.mp4"),
      out("films/b.mkv", { encode: { profile: ARCHIVE } }),
      out("films/c.mp4", { reencode: { profile: "archive", restoredKey: "films/c.avi", at: "" } }),
      out("other/d.mp4"),
      { ...out("films/e.avi"), state: "planned" },
    ], table, "archive");
    expect(choices.map((c) => [c.record.key, c.action])).toEqual([["films/a.mp4", "restore"], ["films/b.mkv", "leave"], ["films/c.mp4", "leave"]]);
    expect(chooseForReencode([out("other/d.mp4")], table, "compat")).toMatchObject([{ action: "leave", reason: "already made with compat" }]);
  });
});

describe("streamsFrom: each stream's bytes in the first seconds", () => {
  it("counts packets before start + window, per stream, in file order", () => {
    const streams = streamsFrom({
      format: { start_time: "1.000000" },
      streams: [{ index: 0, codec_type: "video", codec_name: "h264" }, { index: 1, codec_type: "audio", codec_name: "aac" }, { index: 2, codec_type: "video", codec_name: "mjpeg", disposition: { attached_pic: 1 } }],
      packets: [
        { stream_index: 0, size: "100", pts_time: "1.0" }, { stream_index: 1, size: "10", pts_time: "1.5" },
        { stream_index: 0, size: "50", pts_time: "10.9" }, { stream_index: 0, size: "999", pts_time: "11.0" }, { stream_index: 1, size: "7", dts_time: "2.0" },
      ],
    }, 10);
    expect(streams.map((s) => [s.index, s.type, s.attachedPic, s.windowBytes])).toEqual([[0, "video", false, 150], [1, "audio", false, 17], [2, "video", true, 0]]);
  });
});

describe("archiveProblems", () => {
  const plan = { streams: [{ index: 0, type: "video", action: "encoded", codec: "h264", reason: "" }, { index: 1, type: "audio", action: "kept", codec: "aac", reason: "" }] } as ArchivePlan;
  const out = (codecs: Array<[StreamInfo["type"], string]>): StreamInfo[] => codecs.map(([type, codec], index) => ({ index, type, codec, attachedPic: false, windowBytes: 0 }));
  const tagged = { ...media("h264"), tags: { "reelpress-state": "compressed_h264_v4" } };
  it("wants the planned streams, in order, tagged, as long as the source", () => {
    expect(archiveProblems(out([["video", "h264"], ["audio", "aac"]]), tagged, media("h264"), plan)).toEqual([]);
    expect(archiveProblems(out([["audio", "aac"], ["video", "h264"]]), tagged, media("h264"), plan)).toEqual(["stream 0 is audio aac, expected video h264", "stream 1 is video h264, expected audio aac"]);
    expect(archiveProblems(out([["video", "h264"]]), { ...media("h264"), durationSec: 5 }, media("h264"), plan)).toEqual(["1 streams, expected 2", "the container tag is missing", "duration is 5.00 s, source 10.00 s"]);
  });
});
