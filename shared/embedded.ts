// The embedded default: the fauxqs S3+SQS emulator as a real HTTP server in this process, file-backed.
//
// fauxqs answers every GET, ranged or not, by reading the whole object with readFileSync. ffprobe and
// ffmpeg read videos by many small ranges, so a large video would block this process (which also runs
// the functions and the runner) and hold the whole file in memory per request. A thin front server
// therefore streams plain object GETs straight from fauxqs' files, and passes everything else through.
import { mkdir, open, readFile } from "node:fs/promises";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { startFauxqs, type FauxqsServer } from "fauxqs";
import { unsafeKeyReason } from "../store/safe-key.ts";

export type Embedded = { server: FauxqsServer; endpoint: string; stop(): Promise<void> };

type StoredMeta = {
  contentType?: string;
  contentLength: number;
  etag: string;
  lastModified: string;
  metadata?: Record<string, string>;
  contentLanguage?: string;
  contentDisposition?: string;
  cacheControl?: string;
  contentEncoding?: string;
};

/** fauxqs' own file naming (fileS3Persistence.encodeKeyToPath). */
function storedPath(s3Dir: string, bucket: string, key: string): string {
  // eslint-disable-next-line no-control-regex
  const encoded = key.replace(/[<>:"|?*\\%\x00-\x1f]/g, (ch) => `%${ch.charCodeAt(0).toString(16).padStart(2, "0")}`);
  return path.join(s3Dir, "buckets", bucket, "objects", ...encoded.split("/"));
}

/** Small objects (manifest records, reports) stay with the emulator, which keeps them consistent. */
const STREAM_MIN_BYTES = 1024 * 1024;

/** Only what a presigned or SDK GetObject may carry; anything else is fauxqs' to answer. */
const PLAIN_QUERY = /^(x-id|X-Amz-[A-Za-z0-9-]+)$/i;
const LEFT_TO_FAUXQS = ["if-match", "if-none-match", "if-modified-since", "if-unmodified-since", "x-amz-checksum-mode"];

/** Parses a single "bytes=" range; undefined when it is absent, odd or unsatisfiable (fauxqs answers those). */
function byteRange(header: string | undefined, size: number): { start: number; end: number } | "whole" | undefined {
  if (!header) return "whole";
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  const start = m[1] === "" ? Math.max(0, size - Number(m[2])) : Number(m[1]);
  const end = m[1] === "" || m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  return start <= end && start < size ? { start, end } : undefined;
}

async function streamObject(s3Dir: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<boolean> {
  if (req.method !== "GET" || LEFT_TO_FAUXQS.some((h) => req.headers[h] !== undefined)) return false;
  const url = new URL(req.url ?? "/", "http://local");
  if ([...url.searchParams.keys()].some((k) => !PLAIN_QUERY.test(k))) return false;
  const [, bucket, ...rest] = url.pathname.split("/");
  if (!bucket || rest.length === 0) return false;
  const key = rest.map(decodeURIComponent).join("/");
  if (!key) return false;
  const file = storedPath(s3Dir, bucket, key);
  let meta: StoredMeta;
  try {
    meta = JSON.parse(await readFile(`${file}.meta.json`, "utf8"));
  } catch {
    return false;
  }
  const range = byteRange(req.headers.range, meta.contentLength);
  if (!range || meta.contentLength < STREAM_MIN_BYTES) return false;
  const { start, end } = range === "whole" ? { start: 0, end: meta.contentLength - 1 } : range;
  const headers: http.OutgoingHttpHeaders = {
    "content-type": meta.contentType ?? "application/octet-stream",
    "content-length": end - start + 1,
    etag: meta.etag,
    "last-modified": new Date(meta.lastModified).toUTCString(),
    "accept-ranges": "bytes",
  };
  if (range !== "whole") headers["content-range"] = `bytes ${start}-${end}/${meta.contentLength}`;
  if (meta.contentLanguage) headers["content-language"] = meta.contentLanguage;
  if (meta.contentDisposition) headers["content-disposition"] = meta.contentDisposition;
  if (meta.cacheControl) headers["cache-control"] = meta.cacheControl;
  if (meta.contentEncoding) headers["content-encoding"] = meta.contentEncoding;
  for (const [k, v] of Object.entries(meta.metadata ?? {})) headers[`x-amz-meta-${k}`] = v;
  // The emulator rewrites files in place: serve only if the version is still the one described.
  const handle = await open(`${file}.data`, "r");
  const again = JSON.parse(await readFile(`${file}.meta.json`, "utf8").catch(() => "{}")) as Partial<StoredMeta>;
  const size = await handle.stat().then((st) => st.size, () => -1);
  if (again.etag !== meta.etag || size !== meta.contentLength) {
    await handle.close();
    return false;
  }
  const body = handle.createReadStream({ start, end });
  body.on("error", () => res.destroy());
  // ffmpeg often hangs up mid-range: release the file then, not at garbage collection.
  res.on("close", () => body.destroy());
  res.writeHead(range === "whole" ? 200 : 206, headers);
  body.pipe(res);
  return true;
}

/** Keys the emulator would join to paths as they are: refused with S3's 400 before they reach it. */
function refusedKey(req: http.IncomingMessage): string | undefined {
  // The raw path: URL parsing would resolve the very ".." segments this looks for.
  const [, bucket, ...rest] = (req.url ?? "/").split("?")[0].split("/");
  const keys = [];
  if (bucket && rest.join("") !== "") keys.push(rest.map(decodeURIComponent).join("/"));
  const source = req.headers["x-amz-copy-source"];
  if (typeof source === "string") keys.push(decodeURIComponent(source.replace(/^\/?[^/]+\//, "").split("?")[0]));
  for (const key of keys) {
    const reason = unsafeKeyReason(key);
    if (reason) return reason;
  }
  return undefined;
}

function passThrough(target: number, req: http.IncomingMessage, res: http.ServerResponse): void {
  const upstream = http.request({ host: "127.0.0.1", port: target, method: req.method, path: req.url, headers: req.headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  req.pipe(upstream);
}

export async function startEmbedded(opts: { dataDir: string; port: number; host?: string }): Promise<Embedded> {
  const dataDir = path.resolve(opts.dataDir);
  const s3Dir = path.join(dataDir, "s3");
  await mkdir(s3Dir, { recursive: true });
  const host = opts.host ?? "127.0.0.1";
  // Listen on the public port first, so a taken port fails before anything else starts.
  const front = http.createServer();
  front.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(opts.port, host, () => resolve());
  });
  const server = await startFauxqs({
    port: 0,
    host: "127.0.0.1",
    logger: false,
    dataDir: path.join(dataDir, "state"),
    s3StorageDir: s3Dir,
    // The spy is how in-process S3 writes become ingest events (the emulator has no bucket notifications).
    messageSpies: { bufferSize: 10_000 },
    relaxedRules: { disableMinCopySourceSize: true },
  });
  front.on("request", (req, res) => {
    let refused: string | undefined;
    try {
      refused = refusedKey(req);
    } catch {
      refused = "the key is not valid URL encoding";
    }
    if (refused) {
      req.resume();
      res.writeHead(400, { "content-type": "application/xml" });
      res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>InvalidArgument</Code><Message>Refused key: ${refused}.</Message></Error>`);
      return;
    }
    streamObject(s3Dir, req, res).then(
      (served) => served || passThrough(server.port, req, res),
      () => passThrough(server.port, req, res),
    );
  });
  const shownHost = host === "0.0.0.0" ? "127.0.0.1" : host;
  const port = (front.address() as AddressInfo).port;
  return {
    server,
    endpoint: `http://${shownHost}:${port}`,
    async stop() {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await server.stop();
    },
  };
}
