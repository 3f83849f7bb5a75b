import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { UnreadableMediaError } from "../../shared/media/ffprobe.ts";
import { fingerprintVideo } from "../../shared/media/fingerprint.ts";
import { hammingDistance } from "../../shared/media/phash.ts";
import type { FrameFingerprint } from "../../shared/schemas.ts";
import { presignedGetUrl, uploadFile } from "../../shared/io/objects.ts";
import { brokenFixture, makeVideo } from "../kit/fixtures.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

const base = { ext: "mp4", vcodec: "libx264", durationSec: 6 } as const;
const opts = { durationSec: 6, count: 8, timeoutSec: 30 };
const distances = (a: FrameFingerprint[], b: FrameFingerprint[], field: "hash" | "flip" = "hash") => a.map((f, i) => hammingDistance(f.hash, b[i][field]!));

/** Serves one file with Range support and counts the bytes it sends. */
async function countingServer(file: string) {
  const { size } = await stat(file);
  let sent = 0;
  const server = http.createServer((req, res) => {
    const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? "");
    const start = m ? Number(m[1]) : 0;
    const end = m && m[2] ? Math.min(size - 1, Number(m[2])) : size - 1;
    res.writeHead(m ? 206 : 200, { "content-length": end - start + 1, "accept-ranges": "bytes", ...(m ? { "content-range": `bytes ${start}-${end}/${size}` } : {}) });
    if (req.method === "HEAD") return res.end();
    const stream = createReadStream(file, { start, end });
    stream.on("data", (chunk) => (sent += chunk.length));
    stream.pipe(res);
    res.on("close", () => stream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v.mp4`, size, sent: () => sent, close: () => new Promise((r) => server.close(r)) };
}

describe("fingerprintVideo (real ffmpeg)", () => {
  let stack: TestStack;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack?.stop());

  it("matches re-encodes, letterbox and pillarbox, and flips through `flip`", async () => {
    const [src, hevc, letterbox, pillarbox, flipped] = await Promise.all([
      makeVideo(base),
      makeVideo({ ...base, vcodec: "libx265", pixFmt: "yuv420p", filter: "scale=192:144" }),
      makeVideo({ ...base, filter: "scale=320:180,pad=320:240:0:30" }),
      makeVideo({ ...base, filter: "scale=240:240,pad=320:240:40:0" }),
      makeVideo({ ...base, filter: "hflip" }),
    ]);
    const [a, h, lb, pb, fl] = await Promise.all([src, hevc, letterbox, pillarbox, flipped].map((f) => fingerprintVideo(f, opts)));
    expect(a.map((f) => f.t)).toEqual([0.375, 1.125, 1.875, 2.625, 3.375, 4.125, 4.875, 5.625]);
    for (const d of [...distances(a, h), ...distances(a, lb), ...distances(a, pb)]) expect(d).toBeLessThanOrEqual(8);
    expect(Math.min(...distances(a, fl))).toBeGreaterThan(12);
    for (const d of distances(a, fl, "flip")) expect(d).toBeLessThanOrEqual(8);
  });

  it("reads a presigned URL the same as the local file", async () => {
    const file = await makeVideo(base);
    await uploadFile(stack, file, "dir/a b.mp4");
    const remote = await fingerprintVideo(await presignedGetUrl(stack, "dir/a b.mp4"), opts);
    expect(remote).toEqual(await fingerprintVideo(file, opts));
  });

  it("reads only a small part of a long video over HTTP", async () => {
    // Large enough that what the socket buffers hold when ffmpeg drops a connection stays small beside it.
    // Lossless noise makes ~180 MB in a second or two: large beside what socket buffers take in
    // (several MB per dropped connection on loopback), so "read only around the seek points" shows.
    const file = await makeVideo({ ext: "mp4", vcodec: "libx264", width: 640, height: 480, durationSec: 40, fps: 10, filter: "noise=alls=30:allf=t", extra: ["-qp", "0", "-g", "20"] });
    const server = await countingServer(file);
    try {
      const frames = await fingerprintVideo(server.url, { durationSec: 40, count: 2, timeoutSec: 30 });
      expect(frames).toHaveLength(2);
      // Each seek reads up to a GOP (~9 MB here) and what loopback buffers take in (more under load).
      expect(server.sent()).toBeLessThan(server.size / 2);
    } finally {
      await server.close();
    }
  });

  it("leaves out times past the end and keeps the rest", async () => {
    const file = await makeVideo(base);
    // A duration twice too long: the later half of the seeks find nothing.
    const frames = await fingerprintVideo(file, { ...opts, durationSec: 12 });
    expect(frames.map((f) => f.t)).toEqual([0.75, 2.25, 3.75, 5.25]);
    expect(frames.map((f) => f.hash)).toEqual((await fingerprintVideo(file, { ...opts, count: 4 })).map((f) => f.hash));
  });

  it("rejects what is not a video", async () => {
    await expect(fingerprintVideo(await brokenFixture("playlist.mp4"), opts)).rejects.toBeInstanceOf(UnreadableMediaError);
    await expect(fingerprintVideo(await brokenFixture("text.mkv"), opts)).rejects.toThrow(/no frame/);
  });
});
