// One S3 request as the actions see it (bucket, key, query, headers) and the reply they give back.
import type http from "node:http";
import type { Readable } from "node:stream";
import { s3Error } from "./errors.ts";
import { STORED_HEADERS, type WriteConditions } from "./folder.ts";
import type { Signed } from "./sigv4.ts";
import type { XmlElement } from "./xml.ts";

export type Req = {
  raw: http.IncomingMessage;
  method: string;
  bucket: string;
  key: string;
  query: URLSearchParams;
  /** Who signed it, on a store that requires signatures. */
  signed?: Signed;
  header(name: string): string | undefined;
};

export type Reply = { status?: number; headers?: Record<string, string | number>; xml?: XmlElement; body?: Readable };

/** Splits the request line's path into bucket and key, without resolving "." or ".." (the key check refuses those). */
export function target(rawUrl: string): { bucket: string; key: string; query: URLSearchParams } {
  const q = rawUrl.indexOf("?");
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const [, bucket = "", ...rest] = rawPath.split("/");
  let key: string;
  try {
    key = decodeURIComponent(rest.join("/"));
  } catch {
    throw s3Error("InvalidArgument", "The key is not valid URL encoding.");
  }
  return { bucket: decodeURIComponent(bucket), key, query: new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1)) };
}

export function requestOf(raw: http.IncomingMessage, method: string, t: ReturnType<typeof target>, signed?: Signed): Req {
  return {
    raw,
    method,
    ...t,
    signed,
    header: (name) => {
      const v = raw.headers[name];
      if (v !== undefined) return Array.isArray(v) ? v.join(",") : v;
      // A presigned URL carries signed x-amz-* headers in its query.
      return name.startsWith("x-amz-") ? (t.query.get(name) ?? undefined) : undefined;
    },
  };
}

/**
 * S3's AccessDenied unless the request's credentials may write or delete `key`. Prefixes compare without
 * case (a NAS share may not tell case apart), and the prefix's own name is refused too: a file there would
 * keep its folder from ever being made.
 */
export function assertMayWrite(req: Req, key: string): void {
  const lower = key.toLowerCase();
  for (const prefix of req.signed?.credential.refusedWritePrefixes ?? []) {
    const p = prefix.toLowerCase();
    if (lower.startsWith(p) || `${lower}/` === p) throw s3Error("AccessDenied", `These credentials may not write or delete keys under ${prefix}.`);
  }
}

export function conditions(req: Req): WriteConditions {
  return { ifMatch: req.header("if-match"), ifNoneMatch: req.header("if-none-match") };
}

/** Stored headers and x-amz-meta-* of a write; user metadata keys lower-cased, as S3 keeps them. */
export function headersAndMetadata(req: Req): { headers: Record<string, string>; metadata: Record<string, string> } {
  const headers: Record<string, string> = {};
  const metadata: Record<string, string> = {};
  for (const name of STORED_HEADERS) {
    const v = req.header(name);
    if (v !== undefined) headers[name] = v;
  }
  // aws-chunked describes the upload's framing, not the object: S3 does not keep it.
  const encoding = headers["content-encoding"]?.split(",").map((e) => e.trim()).filter((e) => e && e !== "aws-chunked").join(", ");
  if (encoding) headers["content-encoding"] = encoding;
  else delete headers["content-encoding"];
  for (const [k, v] of Object.entries(req.raw.headers)) {
    if (k.startsWith("x-amz-meta-") && v !== undefined) metadata[k.slice("x-amz-meta-".length)] = Array.isArray(v) ? v.join(",") : v;
  }
  return { headers, metadata };
}
