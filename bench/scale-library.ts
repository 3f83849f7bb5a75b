// The scale bench's synthetic library: manifest record `i` for any i, and a writer that puts records
// straight into the folder's layout (the record file and the store's sidecar beside it, as a write
// through the store leaves them), about ten times faster than writing them through the store, so a
// library of 10⁶ records takes minutes to make. Everything that reads them goes through the real store.
import { createHash } from "node:crypto";
import { mkdirSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { INDEX_SHARDS, type ShardEntry, encodeShard, shardKey, slimOf } from "../shared/io/record-index.ts";
import { packFrames } from "../shared/rules/frame-codec.ts";
import { manifestKeyFor } from "../shared/rules/naming.ts";
import { shardOf } from "../shared/rules/summary.ts";
import { ManifestRecord, type ManifestState } from "../shared/schemas.ts";
import { STORE_PREFIX } from "../store/folder/layout.ts";
import { randomHash } from "../test/kit/dedup-synthetic.ts";
import { seededRandom } from "../test/kit/random.ts";

const STATES: Array<[ManifestState, number]> = [["probed", 0.55], ["compressed", 0.3], ["skipped", 0.08], ["failed", 0.05], ["encoding", 0.02]];

const stateOf = (r: () => number) => {
  let x = r();
  return STATES.find(([, share]) => (x -= share) < 0)?.[0] ?? "probed";
};
const keyOf = (i: number, state = stateOf(seededRandom(i + 1))) => `lib/f${String(i % 100).padStart(2, "0")}/v${i}${state === "skipped" ? "_skip" : ""}.mp4`;

/** Record `i`: a key in one of 100 folders, a size of its own (no hashing), frames of its own content. */
export function recordFor(i: number): ManifestRecord {
  const r = seededRandom(i + 1);
  const state = stateOf(r);
  const key = keyOf(i, state);
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

/** Writes `body` at `key` into the library folder `root` as the folder store would: the file, and its sidecar with its MD5 ETag and the file's identity. */
function writeObjectFile(root: string, key: string, body: string | Buffer, made: Set<string>): { etag: string; bytes: number } {
  const file = path.join(root, ...key.split("/"));
  const sidecar = `${path.join(root, ...STORE_PREFIX.split("/").filter(Boolean), "meta", ...key.split("/"))}.json`;
  for (const dir of [path.dirname(file), path.dirname(sidecar)]) {
    if (!made.has(dir)) mkdirSync(dir, { recursive: true });
    made.add(dir);
  }
  writeFileSync(file, body);
  const st = statSync(file);
  const etag = `"${createHash("md5").update(body).digest("hex")}"`;
  const side = { etag, headers: { "content-type": key.endsWith(".bin") ? "application/octet-stream" : "application/json" }, metadata: {}, checksums: {}, size: st.size, mtimeMs: st.mtimeMs, ino: st.ino };
  writeFileSync(sidecar, JSON.stringify({ versions: [side] }));
  return { etag, bytes: st.size };
}

/**
 * Writes records `from`…`to - 1` into the library folder `root`. With `index`, also the record index that
 * a first `status` or `report` would build from them (reading every record through the store, over an
 * hour at 10⁶), shard by shard, with the record index's own encoder: then only reading it is measured.
 */
export function writeRecordFiles(root: string, from: number, to: number, opts: { index?: boolean } = {}): void {
  const made = new Set<string>();
  if (!opts.index) {
    for (let i = from; i < to; i++) {
      const record = recordFor(i);
      writeObjectFile(root, manifestKeyFor(record.key), JSON.stringify(record), made);
    }
    return;
  }
  if (from !== 0) throw new Error("an index is written for a whole library, from record 0");
  const byShard = Array.from({ length: INDEX_SHARDS }, () => [] as number[]);
  for (let i = from; i < to; i++) byShard[shardOf(keyOf(i), INDEX_SHARDS)].push(i);
  byShard.forEach((members, shard) => {
    const entries: ShardEntry[] = members.map((i) => {
      const record = recordFor(i);
      const { etag, bytes } = writeObjectFile(root, manifestKeyFor(record.key), JSON.stringify(record), made);
      return { key: record.key, etag, bytes, record: slimOf(record), frames: packFrames(record.fingerprints ?? []) };
    });
    // In the listing's order, as the index keeps them.
    entries.sort((a, b) => Buffer.compare(Buffer.from(manifestKeyFor(a.key)), Buffer.from(manifestKeyFor(b.key))));
    writeObjectFile(root, shardKey(shard), encodeShard(entries), made);
  });
}
