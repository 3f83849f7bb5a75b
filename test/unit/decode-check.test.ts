import { describe, expect, it } from "vitest";
import { decodeError, missingFrames, progressFrames } from "../../shared/media/decode-check.ts";

describe("the decode check's rules", () => {
  it("takes the last frame count of a -progress stream", () => {
    expect(progressFrames("frame=12\nfps=0.0\nprogress=continue\nframe=150\nprogress=end\n")).toBe(150);
    expect(progressFrames("bitrate=N/A\nprogress=end\n")).toBeUndefined();
  });

  it("fails a run that exited with an error or printed one, even with exit 0", () => {
    expect(decodeError({ exitCode: 0, stderr: "" })).toBeUndefined();
    expect(decodeError({ exitCode: 0, stderr: "[mov] stream 1, offset 0x5fa41: partial file\n" })).toBe("[mov] stream 1, offset 0x5fa41: partial file");
    expect(decodeError({ exitCode: 1, stderr: "" })).toBe("exit 1");
  });

  it("counts a frame short as missing, and a file that declares no count as failing", () => {
    expect(missingFrames(150, 150)).toBeUndefined();
    expect(missingFrames(91, 150)).toBe("only 91 of its 150 video frames decode");
    expect(missingFrames(undefined, 150)).toMatch(/no frame count/);
    expect(missingFrames(91, undefined)).toMatch(/declares no video frame count/);
  });
});
