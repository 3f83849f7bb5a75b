// The embedded default: the library folder served over S3 by the folder store (store/), and fauxqs for the
// queues only, both behind one port. SQS requests are told apart by their protocol; everything else is S3.
import { mkdir } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { startFauxqs } from "fauxqs";
import { FolderTakenError, createS3HttpServer, openFolderStore, type FolderStore } from "../store/index.ts";
import { UserError } from "../shared/errors.ts";
import { importOldStore } from "./old-store.ts";

export type Embedded = {
  /** The library folder, served in place. */
  library: string;
  store: FolderStore;
  /** Objects moved in from a data folder of the first embedded store (fauxqs' own layout), at this start. */
  imported: { moved: number; left: string[] };
  endpoint: string;
  stop(): Promise<void>;
};

export type EmbeddedOptions = {
  dataDir: string;
  /** The folder served as the bucket; default `<dataDir>/library`. */
  library?: string;
  port: number;
  host?: string;
  bucket?: string;
  /** Required (and checked with SigV4) when the store listens beyond this machine. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
};

/**
 * SQS speaks JSON with an X-Amz-Target, or the older form-encoded query protocol, at "/" or a queue URL
 * ("/<account>/<queue>"). A form POST to the bucket's own path is S3's (a batch delete, say).
 */
export function isSqsRequest(req: { method?: string; url?: string; headers: http.IncomingHttpHeaders }, bucket: string): boolean {
  if (String(req.headers["x-amz-target"] ?? "").startsWith("AmazonSQS")) return true;
  if (req.method !== "POST" || !String(req.headers["content-type"] ?? "").startsWith("application/x-www-form-urlencoded")) return false;
  const path = (req.url ?? "/").split("?")[0];
  return path === "/" || /^\/\d{12}\/[^/]+$/.test(path) && path.split("/")[1] !== bucket;
}

/**
 * fauxqs listens on 0.0.0.0 whatever host it is given. Its queues must be reachable only through the
 * front port, which binds where the store binds and checks signatures as the store does, so its
 * listen is held to loopback.
 */
async function startQueuesOnLoopback(dataDir: string): Promise<Awaited<ReturnType<typeof startFauxqs>>> {
  const listen = net.Server.prototype.listen;
  net.Server.prototype.listen = function (this: net.Server, ...args: unknown[]) {
    const first = args[0] as { host?: string } | undefined;
    if (first && typeof first === "object" && first.host === "0.0.0.0") args[0] = { ...first, host: "127.0.0.1" };
    return (listen as (...a: unknown[]) => net.Server).apply(this, args);
  } as typeof listen;
  try {
    return await startFauxqs({ port: 0, host: "127.0.0.1", logger: false, dataDir });
  } finally {
    net.Server.prototype.listen = listen;
  }
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

export function isLoopback(host: string): boolean {
  return host === "127.0.0.1" || host === "localhost" || host === "::1";
}

export async function startEmbedded(opts: EmbeddedOptions): Promise<Embedded> {
  const dataDir = path.resolve(opts.dataDir);
  const bucket = opts.bucket ?? "reelpress";
  const host = opts.host ?? "127.0.0.1";
  if (!isLoopback(host) && !opts.credentials) {
    throw new UserError(`Listening on ${host} needs credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY for the store to check.`);
  }
  const library = path.resolve(opts.library ?? path.join(dataDir, "library"));
  await mkdir(dataDir, { recursive: true });
  const { store, handle } = await openFolderStore({ folder: library, bucket, credentials: isLoopback(host) || !opts.credentials ? undefined : [opts.credentials] }).catch((err) => {
    throw err instanceof FolderTakenError ? new UserError(err.message) : err;
  });
  const imported = await importOldStore(dataDir, store, bucket);
  // Listen on the public port first, so a taken port fails before anything else starts.
  let route: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const front = createS3HttpServer((req, res) => route(req, res));
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(opts.port, host, () => resolve());
  });
  const queues = await startQueuesOnLoopback(path.join(dataDir, "state"));
  route = (req, res) => (isSqsRequest(req, bucket) ? passThrough(queues.port, req, res) : handle(req, res));
  const shownHost = host === "0.0.0.0" ? "127.0.0.1" : host;
  const port = (front.address() as AddressInfo).port;
  return {
    library,
    store,
    imported,
    endpoint: `http://${shownHost}:${port}`,
    async stop() {
      front.closeAllConnections();
      await new Promise<void>((resolve) => front.close(() => resolve()));
      await queues.stop();
      await store.close();
    },
  };
}
