import { describe, expect, it } from "vitest";
import { UnsafeKeyError, safeKey, unsafeKeyReason } from "../safe-key.ts";
import { UNSAFE_KEYS, keyLabel } from "./unsafe-keys.ts";

describe("safe keys", () => {
  it.each(UNSAFE_KEYS.map((k) => [keyLabel(k), k]))("refuses %s", (_, key) => {
    expect(unsafeKeyReason(key)).toBeTypeOf("string");
    expect(() => safeKey(key)).toThrow(UnsafeKeyError);
  });

  it.each(["a.mp4", "dir/sub/été 日本 (2).mkv", "..a/b..c/...mp4", "x y+z%20#1.mov", ".hidden/a.mp4"])("accepts %s", (key) => {
    expect(unsafeKeyReason(key)).toBeUndefined();
    expect(safeKey(key)).toBe(key);
  });

  it("says what is wrong in one line", () => {
    expect(() => safeKey("a/../b")).toThrow(`Refused key "a/../b": the key has a '..' segment.`);
  });
});
