import { describe, expect, it } from "vitest";
import {
  backupKeyFor, decodeEventKey, isSkipKey, isSystemKey, isVideoKey, keyFromManifestKey, keyKind,
  legacyCompressedKeyFor, manifestKeyFor, normalizePrefix, nthName, outputKeyFor, skipKeyFor,
} from "../../shared/rules/naming.ts";

const BACKUP = "orig_video_to_delete/";

describe("naming", () => {
  it.each([
    ["dir/a.avi", "dir/a.mp4"],
    ["a.MKV", "a.mp4"],
    ["deep/er/still/x y+z%20#1.mov", "deep/er/still/x y+z%20#1.mp4"],
    ["films/été 日本.webm", "films/été 日本.mp4"],
    ["a.b.c.mp4", "a.b.c.mp4"],
    ["dvr/news.ts", "dvr/news.mp4"],
    ["AVCHD/00001.M2TS", "AVCHD/00001.mp4"],
  ])("output key of %s is %s", (key, out) => expect(outputKeyFor(key)).toBe(out));

  it.each([
    ["dir/a.mp4", "dir/a_skip.mp4"],
    ["dir/A B.MP4", "dir/A B_skip.MP4"],
    ["x+y%z#.mkv", "x+y%z#_skip.mkv"],
  ])("skip key of %s is %s", (key, out) => {
    expect(skipKeyFor(key)).toBe(out);
    expect(isSkipKey(out)).toBe(true);
    expect(isSkipKey(key)).toBe(false);
  });

  it("numbers taken derived names from 2 on, keeping folder and extension", () => {
    expect(nthName("dir/a_skip.mp4", 1)).toBe("dir/a_skip.mp4");
    expect(nthName("dir/a_skip.mp4", 2)).toBe("dir/a_skip (2).mp4");
    expect(nthName("orig_video_to_delete/x y/a.b.AVI", 3)).toBe("orig_video_to_delete/x y/a.b (3).AVI");
    expect(nthName("a.mkv", 2)).toBe("a (2).mkv");
    expect(isSkipKey(nthName("dir/a_skip.mp4", 12))).toBe(true);
    expect(keyKind("dir/a_skip (2).MP4", BACKUP)).toBe("skipped");
    expect(isSkipKey("dir/a (2).mp4")).toBe(false);
    expect(isSkipKey("dir/a_skip (x).mp4")).toBe(false);
  });

  it("recognises video extensions in any case and nothing else", () => {
    for (const k of ["a.mp4", "a.MP4", "b/c.Mkv", "d.mpeg", "e.MPG", "f.m4v", "g.wmv", "h.flv", "i.webm", "j.avi", "k.mov", "rec/show.ts", "l.MTS", "m.m2ts"]) expect(isVideoKey(k)).toBe(true);
    for (const k of ["a.txt", "mp4", "a.mp4.part", "dir.mp4/readme", "a.m3u8", ""]) expect(isVideoKey(k)).toBe(false);
  });

  it("treats .reelpress/ and the backup prefix as system keys", () => {
    expect(isSystemKey(".reelpress/manifest/a.mp4.json", BACKUP)).toBe(true);
    expect(isSystemKey("orig_video_to_delete/dir/a.mp4", BACKUP)).toBe(true);
    expect(isSystemKey("orig_video_to_delete/dir/a.mp4", "/orig_video_to_delete")).toBe(true);
    expect(isSystemKey("orig_video_to_delete_not/a.mp4", BACKUP)).toBe(false);
    expect(isSystemKey("dir/.reelpress/a.mp4", BACKUP)).toBe(false);
    expect(keyKind("a_skip.mp4", BACKUP)).toBe("skipped");
    expect(keyKind("notes.txt", BACKUP)).toBe("unsupported");
    expect(keyKind("ok/a.MOV", BACKUP)).toBe("video");
    expect(keyKind(".reelpress/previews/a.mp4", BACKUP)).toBe("system");
  });

  it("puts backups, manifest records and legacy renames where the design says", () => {
    expect(backupKeyFor("dir/a b.mkv", BACKUP)).toBe("orig_video_to_delete/dir/a b.mkv");
    expect(backupKeyFor("a.mkv", "bk")).toBe("bk/a.mkv");
    expect(manifestKeyFor("dir/ü+#.mp4")).toBe(".reelpress/manifest/dir/ü+#.mp4.json");
    expect(keyFromManifestKey(manifestKeyFor("dir/ü+#.mp4"))).toBe("dir/ü+#.mp4");
    expect(keyFromManifestKey("other/x.json")).toBeUndefined();
    expect(legacyCompressedKeyFor("a/b.mkv")).toBe("a/b_compressed.mkv");
    expect(normalizePrefix("/a/b//")).toBe("a/b/");
    expect(normalizePrefix("")).toBe("");
  });

  it("decodes keys the way S3 events encode them", () => {
    expect(decodeEventKey("dir/my+video+%2B1.mp4")).toBe("dir/my video +1.mp4");
    expect(decodeEventKey("caf%C3%A9/%23hash%25.MKV")).toBe("café/#hash%.MKV");
    expect(decodeEventKey(encodeURIComponent("日本/a b.mp4").replace(/%20/g, "+"))).toBe("日本/a b.mp4");
  });
});
