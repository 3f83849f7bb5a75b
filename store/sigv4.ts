// AWS Signature Version 4, checked as S3 checks it: in the Authorization header or in a presigned URL's query.
// Streaming uploads are checked by their seed signature (the headers); per-chunk signatures are not re-checked.
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { s3Error } from "./errors.ts";

export type Credentials = { accessKeyId: string; secretAccessKey: string };

/** RFC 3986 encoding, as SigV4 wants it. */
function uriEncode(text: string, keepSlash: boolean): string {
  const encoded = encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? encoded.replace(/%2F/g, "/") : encoded;
}

const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();

type Parsed = { accessKeyId: string; scope: string; date: string; signedHeaders: string[]; signature: string; payloadHash: string; expiresSec?: number };

function parse(rawQuery: URLSearchParams, headers: IncomingHttpHeaders): Parsed | undefined {
  const auth = headers.authorization;
  if (auth) {
    const m = /^AWS4-HMAC-SHA256\s+Credential=([^,]+),\s*SignedHeaders=([^,]+),\s*Signature=([0-9a-f]+)$/.exec(auth.trim());
    if (!m) throw s3Error("AuthorizationHeaderMalformed");
    const [accessKeyId, ...scope] = m[1].split("/");
    return {
      accessKeyId,
      scope: scope.join("/"),
      date: String(headers["x-amz-date"] ?? ""),
      signedHeaders: m[2].split(";"),
      signature: m[3],
      payloadHash: String(headers["x-amz-content-sha256"] ?? "UNSIGNED-PAYLOAD"),
    };
  }
  if (rawQuery.get("X-Amz-Algorithm") === "AWS4-HMAC-SHA256") {
    const [accessKeyId, ...scope] = (rawQuery.get("X-Amz-Credential") ?? "").split("/");
    return {
      accessKeyId,
      scope: scope.join("/"),
      date: rawQuery.get("X-Amz-Date") ?? "",
      signedHeaders: (rawQuery.get("X-Amz-SignedHeaders") ?? "").split(";"),
      signature: rawQuery.get("X-Amz-Signature") ?? "",
      payloadHash: rawQuery.get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD",
      expiresSec: Number(rawQuery.get("X-Amz-Expires") ?? "0"),
    };
  }
  return undefined;
}

function amzDateMs(date: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : Number.NaN;
}

/** Throws S3's 403 unless the request is signed with `creds`. `rawUrl` is the request line's path and query. */
export function verifySigV4(method: string, rawUrl: string, headers: IncomingHttpHeaders, creds: Credentials, now = Date.now()): void {
  const q = rawUrl.indexOf("?");
  const rawPath = q < 0 ? rawUrl : rawUrl.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : rawUrl.slice(q + 1));
  const p = parse(query, headers);
  if (!p) throw s3Error("AccessDenied", "Access Denied: this store requires signed requests (set the access key and secret it was started with).");
  if (p.accessKeyId !== creds.accessKeyId) throw s3Error("InvalidAccessKeyId");
  const signedAt = amzDateMs(p.date);
  if (Number.isNaN(signedAt)) throw s3Error("AccessDenied", "The request has no valid X-Amz-Date.");
  if (p.expiresSec !== undefined) {
    if (now > signedAt + p.expiresSec * 1000) throw s3Error("AccessDenied", "Request has expired.");
  } else if (Math.abs(now - signedAt) > 15 * 60_000) {
    throw s3Error("RequestTimeTooSkewed");
  }
  const canonicalPath = rawPath.split("/").map((s) => uriEncode(decodeURIComponent(s), false)).join("/");
  const pairs = [...query].filter(([k]) => k !== "X-Amz-Signature").map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)]);
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const canonicalQuery = pairs.map(([k, v]) => `${k}=${v}`).join("&");
  const canonicalHeaders = p.signedHeaders
    .map((h) => {
      const v = headers[h];
      const value = (Array.isArray(v) ? v.join(",") : (v ?? "")).trim().replace(/\s+/g, " ");
      return `${h}:${value}\n`;
    })
    .join("");
  const canonical = [method, canonicalPath, canonicalQuery, canonicalHeaders, p.signedHeaders.join(";"), p.payloadHash].join("\n");
  const toSign = ["AWS4-HMAC-SHA256", p.date, p.scope, createHash("sha256").update(canonical).digest("hex")].join("\n");
  const [day, region, service] = p.scope.split("/");
  const key = hmac(hmac(hmac(hmac(`AWS4${creds.secretAccessKey}`, day), region), service), "aws4_request");
  const expected = hmac(key, toSign);
  const given = Buffer.from(p.signature, "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw s3Error("SignatureDoesNotMatch");
}
