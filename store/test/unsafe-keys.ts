// Keys that could name a file outside the folder or alias another key: the store's tests and reelpress's
// naming tests refuse the same list.
export const UNSAFE_KEYS = [
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

/** A short, printable test name for a key. */
export const keyLabel = (key: string) => JSON.stringify(key).slice(0, 40);
