// Pure: ffprobe/ffmpeg error text → one sentence a person understands. The raw text stays in the
// manifest record's `error`; this sentence goes in `reason`, in `status`, the dashboard and notifications.

/** A sentence, or one that names the container the key's extension promises. */
type Rule = { match: RegExp; sentence: string | ((container: string | undefined) => string) };

const CONTAINERS: Record<string, string> = {
  mkv: "Matroska", webm: "WebM", mp4: "MP4", m4v: "MP4", mov: "QuickTime", avi: "AVI", wmv: "Windows Media",
  flv: "Flash Video", mpeg: "MPEG", mpg: "MPEG", ts: "MPEG-TS", mts: "MPEG-TS", m2ts: "MPEG-TS",
};

/** First match wins, so the specific rules come before the generic ones. */
export const FAILURE_RULES: readonly Rule[] = [
  // About the runner's own output, whatever ffmpeg said of it: never worded as if the original were damaged.
  { match: /output failed verification/, sentence: "the encoded copy failed its checks, so it was not published; the original is untouched" },
  { match: /^empty object \(0 bytes\)/, sentence: "empty file (0 bytes)" },
  { match: /not on (format )?whitelist|Format (hls|concat|\w+) not/i, sentence: "a playlist or other reference file named like a video; only real video files are read" },
  { match: /EBML header parsing failed/, sentence: "not a video file (damaged or not Matroska)" },
  { match: /moov atom not found/, sentence: "incomplete or damaged MP4 (cut short, or its index is missing)" },
  { match: /^no video stream$/, sentence: "no picture: the file holds no video stream (audio only, or data)" },
  { match: /video stream has no dimensions/, sentence: "damaged video stream (it has no picture size)" },
  { match: /no frame could be decoded|Invalid NAL unit|error while decoding|corrupt/i, sentence: "damaged video: its pictures do not decode" },
  { match: /Decoder \(codec \w+\) not found|Unknown decoder|unsupported codec/i, sentence: "its video codec is not one this ffmpeg can decode" },
  { match: /made no progress for \d+(\.\d+)?s/, sentence: "reading it made no progress, the same way on every try (a damaged file, or a store that stopped answering)" },
  { match: /Server returned 403|Forbidden/i, sentence: "the store refused to let it be read (403)" },
  { match: /Server returned 404|404 Not Found/i, sentence: "it was gone before it could be read" },
  { match: /Connection refused|Connection timed out|Network is unreachable/i, sentence: "the store could not be reached while reading it" },
  { match: /No space left on device/i, sentence: "the runner ran out of disk space" },
  { match: /already holds another object/, sentence: "the output name is taken by another file, which is never overwritten" },
  {
    match: /Invalid data found when processing input|could not find codec parameters|ffprobe could not read it/i,
    sentence: (container) => (container ? `not a video file (damaged or not ${container})` : "not a video file, or damaged beyond reading"),
  },
];

const MAX_RAW = 200;

/** The sentence for `raw` (about object `key`); text no rule knows is shown as it is, on one line. */
export function readableReason(raw: string, key = ""): string {
  const rule = FAILURE_RULES.find((r) => r.match.test(raw));
  if (rule) return typeof rule.sentence === "string" ? rule.sentence : rule.sentence(CONTAINERS[/\.(\w+)$/.exec(key)?.[1]?.toLowerCase() ?? ""]);
  const line = raw.split("\n")[0].trim();
  return line.length > MAX_RAW ? `${line.slice(0, MAX_RAW - 1)}…` : line || "failed for an unknown reason";
}
