import { describe, expect, it } from "vitest";
import { UnsafeKeyError, backupKeyFor, keyKind, manifestKeyFor, outputKeyFor, skipKeyFor, thumbnailKeyFor } from "../../shared/rules/naming.ts";
import { montageKeyFor } from "../../gpu-runner/job-state.ts";
import { keyFilterReason } from "../../shared/steps/probe.ts";
import { UNSAFE_KEYS, keyLabel } from "../../store/test/unsafe-keys.ts";

// The store refuses these keys itself (store/test/safe-key.test.ts); every key reelpress derives from one must too.
describe("naming helpers with unsafe keys", () => {
  it.each(UNSAFE_KEYS.map((k) => [keyLabel(k), k]))("refuses %s", (_, key) => {
    expect(keyKind(key, "orig_video_to_delete/")).toBe("unsafe");
    expect(keyFilterReason(key, "orig_video_to_delete/")).toMatch(/not a safe relative path/);
    for (const helper of [outputKeyFor, skipKeyFor, manifestKeyFor, montageKeyFor, thumbnailKeyFor, (k: string) => backupKeyFor(k, "orig/")]) {
      expect(() => helper(key)).toThrow(UnsafeKeyError);
    }
  });
});
