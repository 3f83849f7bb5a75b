// The scale bench's synthetic library: manifest record `i` for any i, and a writer that puts records
// straight into the folder's layout (the record file and the store's sidecar beside it, as a write
// through the store leaves them), a hundred times faster than writing them through the store, so a
// library of 10⁶ records takes minutes to make. Everything that reads them goes through the real store.
import { createHash } from "node:crypto";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { manifestKeyFor } from "../shared/rules/naming.ts";
import { ManifestRecord, type ManifestState } from "../shared/schemas.ts";
import { STORE_PREFIX } from "../store/folder/layout.ts";
import { randomHash } from "../test/kit/dedup-synthetic.ts";
import { seededRandom } from "../test/kit/random.ts";

const STATES: Array<[ManifestState, number]> = [["probed", 0.55], ["compressed", 0.3], ["skipped", 0.08], ["failed", 0.05], ["encoding", 0.02]];

/** Record `i`: a key in one of 100 folders, a size of its own (no hashing), frames of its own content. */
export function recordFor(i: number): ManifestRecord {
  const r = seededRandom(i + 1);
  let x = r();
  const state = STATES.find(([, share]) => (x -= share) < 0)?.[0] ?? "probed";
  const key = `lib/f${String(i % 100).padStart(2, "0")}/v${i}${state === "skipped" ? "_skip" : ""}.mp4`;
  const size = 1_000_000 + i;
  const durationSec = 30 + (i % 600);
  const source = key.replace(/\.mp4$/, ".avi");
  return ManifestRecord.parse({
    key, size, etag: `"${i.toString(16).padStart(32, "0")}"`, state, lastModified: "2024-01-01T00:00:00.000Z", updatedAt: "2024-01-02T00:00:00.000Z",
    media: { formatName: "mov,mp4,m4a,3gp,3g2,mj2", durationSec, video: { codec: "h264", width: 1920, height: 1080 }, audio: [], subtitles: [], tags: {} },
    // Frames of its own content: no two records match, as in a library with few duplicates.
    fingerprints: Array.from({ length: 16 }, (_, k) => ({ t: (k * durationSec) / 16, hash: randomHash(r), flip: randomHash(r), dark: false })),
    ...(state === "compressed" ? { savedBytes: 500_000, source: { key: source, size: size + 500_000, etag: "x", backupKey: `orig_video_to_delete/${source}` } } : {}),
    ...(state === "failed" ? { error: "moov atom not found" } : {}),
  });
}

/**
 * Writes records `from`…`to - 1` into the library folder `root` as the folder store would: the JSON file
 * at its key and, under the store's meta folder, the sidecar with its MD5 ETag and the file's identity.
 */
export function writeRecordFiles(root: string, from: number, to: number): void {
  const made = new Set<string>();
  for (let i = from; i < to; i++) {
    const record = recordFor(i);
    const key = manifestKeyFor(record.key);
    const body = JSON.stringify(record);
    const file = path.join(root, ...key.split("/"));
    const sidecar = path.join(root, ...STORE_PREFIX.split("/").filter(Boolean), "meta", ...key.split("/")) + ".json";
    for (const dir of [path.dirname(file), path.dirname(sidecar)]) {
      if (!made.has(dir)) mkdirSync(dir, { recursive: true });
      made.add(dir);
    }
    writeFileSync(file, body);
    const st = statSync(file);
    const etag = `"${createHash("md5").update(body).digest("hex")}"`;
    const side = { etag, headers: { "content-type": "application/json" }, metadata: {}, checksums: {}, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
    writeFileSync(sidecar, JSON.stringify({ versions: [side] }));
  }
}
