// A busy machine or a slow store is never a verdict on a file: media processes are stopped only when
// they make no progress (no CPU time, no bytes read), not when they take long.
import { createReadStream } from "node:fs";
import { stat } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countVideoFrames, probeMedia } from "../../shared/media/ffprobe.ts";
import { MediaStalledError, runMedia } from "../../shared/media/run.ts";
import { makeVideo } from "../kit/fixtures.ts";

describe("media processes under load (real ffprobe, a real throttled HTTP server)", () => {
  let server: http.Server;
  let url: string;
  let size: number;
  let stall = false;
  beforeAll(async () => {
    // A few MB, served at about 400 kB/s: several seconds, far longer than the one second allowed below.
    const file = await makeVideo({ ext: "mkv", vcodec: "libx264", bitrate: "6000k", cbr: true, durationSec: 4, filter: "noise=alls=40:allf=t" });
    size = (await stat(file)).size;
    server = http.createServer((req, res) => {
      if (stall) return; // accepts, then never answers: a store that stopped
      const range = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? "");
      const start = range ? Number(range[1]) : 0;
      const end = range && range[2] ? Number(range[2]) : size - 1;
      res.writeHead(range ? 206 : 200, { "content-length": end - start + 1, "accept-ranges": "bytes", ...(range ? { "content-range": `bytes ${start}-${end}/${size}` } : {}) });
      const body = createReadStream(file, { start, end, highWaterMark: 16 * 1024 });
      body.on("data", (chunk) => {
        body.pause();
        res.write(chunk, () => setTimeout(() => body.resume(), 40));
      });
      body.on("end", () => res.end());
      res.on("close", () => body.destroy());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/video.mkv`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it("a process that keeps working is never stopped, however long it takes", async () => {
    const r = await runMedia("sh", ["-c", "i=0; while [ $i -lt 400000 ]; do i=$((i+1)); done"], { stallSec: 1 });
    expect(r.stalled).toBe(false);
    expect(r.exitCode).toBe(0);
  });

  it("a process that makes no progress is stopped and said to have stalled", async () => {
    const r = await runMedia("sleep", ["60"], { stallSec: 1 });
    expect(r.stalled).toBe(true);
  });

  it("ffprobe over a slow store reads the file, past a one-second allowance, as long as bytes arrive", async () => {
    expect((await probeMedia(url, { timeoutSec: 1, sizeBytes: size })).video.codec).toBe("h264");
    // Counting packets reads every byte through the throttled server: about 3 MB at 400 kB/s.
    expect(await countVideoFrames(url, 1)).toBe(100);
  });

  it("a store that stops answering is a stall (retried), not an unreadable file", async () => {
    stall = true;
    try {
      await expect(probeMedia(url, { timeoutSec: 1, sizeBytes: size })).rejects.toBeInstanceOf(MediaStalledError);
    } finally {
      stall = false;
    }
  });
});
