// The embedded default: the library folder served over S3 by the folder store (store/), and fauxqs for the
// queues only, both behind one port. SQS requests are told apart by their protocol; everything else is S3.
// When the store requires signatures, SQS calls are checked with the same SigV4 before fauxqs sees them.
import { createHash } from "node:crypto";
import { mkdir } from "node:fs/promises";
import http from "node:http";
import net from "node:net";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { startFauxqs } from "fauxqs";
import {
  FolderTakenError,
  S3Error,
  admit,
  createS3HttpServer,
  openFolderStore,
  s3Error,
  verifySigV4,
  type ConnectionLimits,
  type Credentials,
  type FolderStore,
  type StoreCredential,
} from "../store/index.ts";
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
  /** The pipeline's: required (and checked with SigV4) when the store listens beyond this machine. */
  credentials?: Credentials;
  /** Credentials to give out for uploads: no queue calls, and no writes under `refusedWritePrefixes`. */
  uploader?: StoreCredential;
  /** The region signatures must name; us-east-1 by default. */
  region?: string;
  limits?: Partial<ConnectionLimits>;
};

/** SQS takes messages up to 1 MiB; a form-encoded call carries a little more around one. */
const MAX_SQS_BODY = 1024 * 1024 + 64 * 1024;

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

function forward(target: number, req: http.IncomingMessage, res: http.ServerResponse, body?: Buffer): void {
  const { "transfer-encoding": _, ...rest } = req.headers;
  const headers = body ? { ...rest, "content-length": String(body.length) } : req.headers;
  const upstream = http.request({ host: "127.0.0.1", port: target, method: req.method, path: req.url, headers }, (up) => {
    res.writeHead(up.statusCode ?? 502, up.headers);
    up.pipe(res);
  });
  upstream.on("error", () => {
    if (!res.headersSent) res.writeHead(502);
    res.end();
  });
  // A client that hangs up (a stopped runner's long poll) ends its forwarded call too.
  res.on("close", () => {
    if (!res.writableFinished) upstream.destroy();
  });
  if (body) upstream.end(body);
  else req.pipe(upstream);
}

/** An SQS error in the protocol the call used: JSON with an X-Amz-Target, else the query protocol's XML. */
function sqsError(req: http.IncomingMessage, res: http.ServerResponse, err: S3Error): void {
  const json = req.headers["x-amz-target"] !== undefined;
  const body = json
    ? JSON.stringify({ __type: err.code, message: err.message })
    : `<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>${err.code}</Code><Message>${err.message.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`)}</Message></Error></ErrorResponse>`;
  res.writeHead(err.status, { "content-type": json ? "application/x-amz-json-1.0" : "text/xml", "x-amzn-query-error": `${err.code};Sender`, "content-length": Buffer.byteLength(body) });
  res.end(body);
}

async function readSmallBody(req: http.IncomingMessage, max: number): Promise<Buffer | undefined> {
  if (Number(req.headers["content-length"] ?? 0) > max) return undefined;
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks);
}

/**
 * Checks an SQS call's signature as the store checks S3's (scope service `sqs`), over its buffered body,
 * then forwards that body. Only the pipeline's credentials may call the queues.
 */
async function forwardSignedSqs(target: number, req: http.IncomingMessage, res: http.ServerResponse, pipeline: Credentials, credentials: readonly StoreCredential[], region: string) {
  try {
    const body = await readSmallBody(req, MAX_SQS_BODY);
    if (!body) {
      res.writeHead(413, { connection: "close" }).end();
      return;
    }
    const bodySha256 = createHash("sha256").update(body).digest("hex");
    const signed = verifySigV4({ method: req.method ?? "POST", url: req.url ?? "/", headers: req.headers }, credentials, { region, service: "sqs" }, { bodySha256 });
    admit(req.socket);
    if (signed.credential.accessKeyId !== pipeline.accessKeyId) throw s3Error("AccessDenied", "These credentials may not call the queues.");
    forward(target, req, res, body);
  } catch (err) {
    if (res.headersSent) res.destroy();
    else if (err instanceof S3Error) sqsError(req, res, err);
    else {
      console.error(`queues: ${(err as Error)?.stack ?? err}`);
      res.writeHead(500).end();
    }
  }
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
  const region = opts.region ?? "us-east-1";
  const pipeline = isLoopback(host) ? undefined : opts.credentials;
  const credentials = pipeline && [pipeline, ...(opts.uploader ? [opts.uploader] : [])];
  const { store, handle } = await openFolderStore({ folder: library, bucket, credentials, region }).catch((err) => {
    throw err instanceof FolderTakenError ? new UserError(err.message) : err;
  });
  const imported = await importOldStore(dataDir, store, bucket);
  // Listen on the public port first, so a taken port fails before anything else starts.
  let route: http.RequestListener = (_req, res) => res.writeHead(503).end();
  const front = createS3HttpServer((req, res) => route(req, res), opts.limits);
  await new Promise<void>((resolve, reject) => {
    front.once("error", reject);
    front.listen(opts.port, host, () => resolve());
  });
  const queues = await startQueuesOnLoopback(path.join(dataDir, "state"));
  const sqs: http.RequestListener = pipeline
    ? (req, res) => void forwardSignedSqs(queues.port, req, res, pipeline, credentials!, region)
    : (req, res) => {
        admit(req.socket);
        forward(queues.port, req, res);
      };
  route = (req, res) => (isSqsRequest(req, bucket) ? sqs(req, res) : handle(req, res));
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
