import { describe, expect, it } from "vitest";
import { FAILURE_RULES, readableReason } from "../../shared/rules/failure-reasons.ts";

describe("readable failure reasons", () => {
  it.each([
    ["Truncating packet of size 9067 to 23; EBML header parsing failed; Invalid data found when processing input", "not a video file (damaged or not Matroska)"],
    ["moov atom not found; Invalid data found when processing input", "incomplete or damaged MP4 (cut short, or its index is missing)"],
    ["Format hls not on format whitelist 'mov,mp4'", "a playlist or other reference file named like a video; only real video files are read"],
    ["Protocol 'file' not on whitelist 'http,https'!", "a playlist or other reference file named like a video; only real video files are read"],
    ["no video stream", "no picture: the file holds no video stream (audio only, or data)"],
    ["empty object (0 bytes)", "empty file (0 bytes)"],
    ["ffprobe made no progress for 60s", "reading it made no progress, the same way on every try (a damaged file, or a store that stopped answering)"],
    ["output failed verification: content differs: 1/4 frames match", "the encoded copy failed its checks, so it was not published; the original is untouched"],
    ["output failed verification: it does not decode: [h264 @ 0x55d] error while decoding MB 3 4", "the encoded copy failed its checks, so it was not published; the original is untouched"],
    ["output failed verification: moov atom not found", "the encoded copy failed its checks, so it was not published; the original is untouched"],
    ["Invalid data found when processing input", "not a video file, or damaged beyond reading"],
  ])("%s → a sentence", (raw, sentence) => {
    expect(readableReason(raw)).toBe(sentence);
  });

  it("names the container the file's extension promises, where ffmpeg only says the data is invalid", () => {
    expect(readableReason("Invalid data found when processing input", "home/list.mkv")).toBe("not a video file (damaged or not Matroska)");
    expect(readableReason("Invalid data found when processing input", "a/b.AVI")).toBe("not a video file (damaged or not AVI)");
    expect(readableReason("Invalid data found when processing input", "dvr/show.ts")).toBe("not a video file (damaged or not MPEG-TS)");
    expect(readableReason("Invalid data found when processing input", "a/b.xyz")).toBe("not a video file, or damaged beyond reading");
  });

  it("shows text no rule knows as its first line, bounded", () => {
    expect(readableReason("backup x.avi has 3 bytes, the source 4\nat line 2")).toBe("backup x.avi has 3 bytes, the source 4");
    expect(readableReason("x".repeat(500))).toHaveLength(200);
    expect(readableReason("")).toBe("failed for an unknown reason");
  });

  it("every sentence is one line a person reads: no ffmpeg jargon such as EBML or moov", () => {
    for (const { sentence } of FAILURE_RULES) {
      for (const text of typeof sentence === "string" ? [sentence] : [sentence(undefined), sentence("MP4")]) expect(text).not.toMatch(/\n|EBML|moov|whitelist|demux/);
    }
  });
});
