import { describe, expect, it } from "vitest";
import { UnsafeKeyError, safeKey, unsafeKeyReason } from "../../store/safe-key.ts";
import { backupKeyFor, keyKind, manifestKeyFor, outputKeyFor, skipKeyFor, thumbnailKeyFor } from "../../shared/rules/naming.ts";
import { montageKeyFor } from "../../gpu-runner/job-state.ts";
import { keyFilterReason } from "../../shared/steps/probe.ts";

const UNSAFE = [
  "../x.mp4",
  "../../../../../../../../tmp/x.txt",
  "a/../../b.mp4",
  "a/./b.mp4",
  "a/..",
  "/etc/passwd",
  "a\\..\\b.mp4",
  "a\u0000b.mp4",
  "a\nb.mp4",
  "a\u007fb.mp4",
  "a//b.mp4",
  "dir/",
  "",
  `${"x".repeat(256)}.mp4`,
  "d/".repeat(520),
];

describe("safe keys", () => {
  it.each(UNSAFE.map((k) => [JSON.stringify(k).slice(0, 40), k]))("refuses %s", (_, key) => {
    expect(unsafeKeyReason(key)).toBeTypeOf("string");
    expect(() => safeKey(key)).toThrow(UnsafeKeyError);
    expect(keyKind(key, "orig_video_to_delete/")).toBe("unsafe");
    expect(keyFilterReason(key, "orig_video_to_delete/")).toMatch(/not a safe relative path/);
    for (const helper of [outputKeyFor, skipKeyFor, manifestKeyFor, montageKeyFor, thumbnailKeyFor, (k: string) => backupKeyFor(k, "orig/")]) {
      expect(() => helper(key)).toThrow(UnsafeKeyError);
    }
  });

  it.each(["a.mp4", "dir/sub/été 日本 (2).mkv", "..a/b..c/...mp4", "x y+z%20#1.mov", ".hidden/a.mp4"])("accepts %s", (key) => {
    expect(unsafeKeyReason(key)).toBeUndefined();
    expect(safeKey(key)).toBe(key);
  });

  it("says what is wrong in one line", () => {
    expect(() => safeKey("a/../b")).toThrow(`Refused key "a/../b": the key has a '..' segment.`);
  });
});
