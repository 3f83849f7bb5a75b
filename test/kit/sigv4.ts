// A small SigV4 signer for raw requests, so a test controls every header, hash and chunk an SDK would
// choose for it (and can send what no SDK would: an unsigned header, a swapped body, a forged chunk).
import { createHash, createHmac } from "node:crypto";

export type Keys = { accessKeyId: string; secretAccessKey: string };
export type SignOptions = {
  method: string;
  /** Path and query exactly as sent, already URL-encoded. */
  path: string;
  headers: Record<string, string>;
  /** The payload hash to sign: a hex SHA-256, UNSIGNED-PAYLOAD or a STREAMING- mode. */
  payload: string;
  keys: Keys;
  region?: string;
  service?: string;
  /** The scope's day, when a test wants it to differ from X-Amz-Date's. */
  scopeDay?: string;
  date?: Date;
  /** For services other than S3, which sign the body hash without sending it as a header. */
  noPayloadHeader?: boolean;
};

export const sha256Hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
const encode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

export const amzDate = (d: Date) => d.toISOString().replace(/[-:]/g, "").replace(/\.\d{3}/, "");

function canonicalQuery(query: string): string {
  const pairs = [...new URLSearchParams(query)].filter(([k]) => k !== "X-Amz-Signature").map(([k, v]) => [encode(k), encode(v)]);
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  return pairs.map(([k, v]) => `${k}=${v}`).join("&");
}

function signingKey(keys: Keys, day: string, region: string, service: string): Buffer {
  return hmac(hmac(hmac(hmac(`AWS4${keys.secretAccessKey}`, day), region), service), "aws4_request");
}

function stringToSign(o: { method: string; path: string; headers: Record<string, string>; signed: string[]; payload: string; date: string; scope: string }): string {
  const q = o.path.indexOf("?");
  const rawPath = q < 0 ? o.path : o.path.slice(0, q);
  const canonicalPath = rawPath.split("/").map((s) => encode(decodeURIComponent(s))).join("/");
  const canonicalHeaders = o.signed.map((h) => `${h}:${o.headers[h].trim()}\n`).join("");
  const canonical = [o.method, canonicalPath, canonicalQuery(q < 0 ? "" : o.path.slice(q + 1)), canonicalHeaders, o.signed.join(";"), o.payload].join("\n");
  return ["AWS4-HMAC-SHA256", o.date, o.scope, sha256Hex(canonical)].join("\n");
}

/**
 * The headers of a request signed in its Authorization header: every header in `headers` is signed, plus
 * host, x-amz-date and x-amz-content-sha256. Add unsigned headers to the result afterwards.
 */
export function signHeaders(host: string, o: SignOptions): { headers: Record<string, string>; signature: string; key: Buffer; date: string; scope: string } {
  const when = o.date ?? new Date();
  const date = amzDate(when);
  const region = o.region ?? "us-east-1";
  const service = o.service ?? "s3";
  const day = o.scopeDay ?? date.slice(0, 8);
  const scope = `${day}/${region}/${service}/aws4_request`;
  const headers: Record<string, string> = { ...Object.fromEntries(Object.entries(o.headers).map(([k, v]) => [k.toLowerCase(), v])), host, "x-amz-date": date };
  if (!o.noPayloadHeader) headers["x-amz-content-sha256"] = o.payload;
  const signed = Object.keys(headers).sort();
  const key = signingKey(o.keys, day, region, service);
  const signature = hmac(key, stringToSign({ method: o.method, path: o.path, headers, signed, payload: o.payload, date, scope })).toString("hex");
  headers.authorization = `AWS4-HMAC-SHA256 Credential=${o.keys.accessKeyId}/${scope}, SignedHeaders=${signed.join(";")}, Signature=${signature}`;
  return { headers, signature, key, date, scope };
}

/** A presigned path (signing only host) for `method` on `path`, with X-Amz-Expires and X-Amz-Date as given. */
export function presignPath(host: string, o: { method: string; path: string; keys: Keys; expiresSec: number; date?: Date; region?: string }): string {
  const date = amzDate(o.date ?? new Date());
  const scope = `${date.slice(0, 8)}/${o.region ?? "us-east-1"}/s3/aws4_request`;
  const params = new URLSearchParams({
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": `${o.keys.accessKeyId}/${scope}`,
    "X-Amz-Date": date,
    "X-Amz-Expires": String(o.expiresSec),
    "X-Amz-SignedHeaders": "host",
  });
  const path = `${o.path}?${params.toString().replace(/\+/g, "%20")}`;
  const key = signingKey(o.keys, date.slice(0, 8), o.region ?? "us-east-1", "s3");
  const signature = hmac(key, stringToSign({ method: o.method, path, headers: { host }, signed: ["host"], payload: "UNSIGNED-PAYLOAD", date, scope })).toString("hex");
  return `${path}&X-Amz-Signature=${signature}`;
}

/**
 * An aws-chunked body in `chunkSize` pieces. With `signing`, each chunk's signature chains from the seed
 * (or is `forge`d), and a trailer, when given, is signed after the last chunk.
 */
export function chunkedBody(data: Buffer, o: { chunkSize: number; signing?: { key: Buffer; date: string; scope: string; seed: string }; trailer?: [string, string]; forge?: string; forgeTrailer?: boolean }): Buffer {
  const parts: Buffer[] = [];
  let previous = o.signing?.seed ?? "";
  const sign = (lines: string[]) => hmac(o.signing!.key, [lines[0], o.signing!.date, o.signing!.scope, ...lines.slice(1)].join("\n")).toString("hex");
  const pieces: Buffer[] = [];
  for (let at = 0; at < data.length; at += o.chunkSize) pieces.push(data.subarray(at, at + o.chunkSize));
  pieces.push(Buffer.alloc(0));
  for (const piece of pieces) {
    let ext = "";
    if (o.signing) {
      const sig = sign(["AWS4-HMAC-SHA256-PAYLOAD", previous, sha256Hex(""), sha256Hex(piece)]);
      previous = sig;
      ext = `;chunk-signature=${o.forge ?? sig}`;
    }
    parts.push(Buffer.from(`${piece.length.toString(16)}${ext}\r\n`), piece, Buffer.from(piece.length ? "\r\n" : ""));
  }
  if (o.trailer) {
    const line = `${o.trailer[0]}:${o.trailer[1]}`;
    parts.push(Buffer.from(`${line}\r\n`));
    if (o.signing) {
      const sig = sign(["AWS4-HMAC-SHA256-TRAILER", previous, sha256Hex(`${line}\n`)]);
      parts.push(Buffer.from(`x-amz-trailer-signature:${o.forgeTrailer ? "0".repeat(64) : sig}\r\n`));
    }
  }
  parts.push(Buffer.from("\r\n"));
  return Buffer.concat(parts);
}
