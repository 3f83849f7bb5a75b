// The S3 API over a FolderStore: checks the signature, routes the request (store/routes.ts) to its action
// (store/actions/), and sends the reply or S3's error. Bodies stream to disk and back; nothing is held in
// memory whole.
import { randomBytes } from "node:crypto";
import type http from "node:http";
import { pipeline } from "node:stream/promises";
import type { StoreContext } from "./actions/context.ts";
import { admit } from "./connections.ts";
import { S3Error, s3Error } from "./errors.ts";
import type { FolderStore } from "./folder.ts";
import { Multipart } from "./multipart.ts";
import { type Reply, requestOf, target } from "./request.ts";
import { route } from "./routes.ts";
import { type Signed, type StoreCredential, verifySigV4 } from "./sigv4.ts";
import { el, xmlDocument } from "./xml.ts";

export type S3ServerOptions = { bucket: string; credentials?: readonly StoreCredential[]; region?: string };

export class S3Handler {
  private readonly ctx: StoreContext;
  private readonly credentials?: readonly StoreCredential[];
  private readonly region: string;

  constructor(store: FolderStore, opts: S3ServerOptions) {
    this.ctx = { store, multipart: new Multipart(store), bucket: opts.bucket, region: opts.region };
    this.credentials = opts.credentials;
    this.region = opts.region ?? "us-east-1";
  }

  /** Answers one HTTP request; never throws. */
  async handle(raw: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const requestId = randomBytes(8).toString("hex").toUpperCase();
    const method = raw.method ?? "GET";
    let resource = raw.url ?? "/";
    try {
      // A CORS preflight is never signed (browsers send no credentials with it): refused before the signature
      // is checked, as S3 refuses it on a bucket without a CORS configuration, which this store never has.
      if (method === "OPTIONS") throw preflightRefusal(raw.headers);
      let signed: Signed | undefined;
      if (this.credentials) signed = verifySigV4({ method, url: raw.url ?? "/", headers: raw.headers }, this.credentials, { region: this.region, service: "s3" });
      admit(raw.socket);
      const t = target(raw.url ?? "/");
      resource = t.key ? `/${t.bucket}/${t.key}` : `/${t.bucket}`;
      const reply = await route(this.ctx, requestOf(raw, method, t, signed));
      await send(res, method, reply, requestId);
    } catch (err) {
      const s3err = err instanceof S3Error ? err : s3Error("InternalError");
      // A client that hung up mid-body is not the store's error.
      if (!(err instanceof S3Error) && !raw.destroyed && !raw.readableAborted) console.error(`store: ${method} ${resource}: ${(err as Error)?.stack ?? err}`);
      // An unread request body would be taken for the next request on this connection.
      raw.resume();
      if (res.headersSent) {
        res.destroy();
        return;
      }
      const body = method === "HEAD" ? "" : xmlDocument(el("Error", el("Code", s3err.code), el("Message", s3err.message), el("Resource", resource), el("RequestId", requestId)), { namespace: false });
      res.writeHead(s3err.status, { "content-type": "application/xml", "content-length": Buffer.byteLength(body), "x-amz-request-id": requestId });
      res.end(body);
    }
  }
}

function preflightRefusal(headers: http.IncomingHttpHeaders): S3Error {
  if (!headers.origin) return s3Error("BadRequest", "Insufficient information. Origin request header needed.");
  if (!headers["access-control-request-method"]) return s3Error("BadRequest", "Invalid Access-Control-Request-Method: null");
  return s3Error("AccessForbidden");
}

async function send(res: http.ServerResponse, method: string, reply: Reply, requestId: string): Promise<void> {
  const headers: Record<string, string | number> = { "x-amz-request-id": requestId, ...reply.headers };
  if (reply.xml !== undefined) {
    const text = xmlDocument(reply.xml);
    headers["content-type"] = "application/xml";
    headers["content-length"] = Buffer.byteLength(text);
    res.writeHead(reply.status ?? 200, headers);
    res.end(method === "HEAD" ? undefined : text);
    return;
  }
  if (reply.body) {
    res.writeHead(reply.status ?? 200, headers);
    // ffmpeg often hangs up mid-range: that ends the read, not the process.
    await pipeline(reply.body, res).catch(() => undefined);
    return;
  }
  if (headers["content-length"] === undefined && reply.status !== 204 && reply.status !== 304) headers["content-length"] = 0;
  res.writeHead(reply.status ?? 200, headers);
  res.end();
}
