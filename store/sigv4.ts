// AWS Signature Version 4, checked as S3 checks it: in the Authorization header or in a presigned URL's query.
// A signature binds the headers it lists, so every x-amz-* header present must be among them; the body is
// bound by the payload hash, which the body readers check (store/actions/body.ts, store/chunked.ts).
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { type S3ErrorCode, s3Error } from "./errors.ts";

export type Credentials = { accessKeyId: string; secretAccessKey: string };
/** A key pair the store takes; requests signed with it may not write keys under `refusedWritePrefixes`. */
export type StoreCredential = Credentials & { refusedWritePrefixes?: readonly string[] };

/** What the signature's scope must name: the store's region and the service called (s3, sqs). */
export type SigningScope = { region: string; service: string };

/** How aws-chunked chunk signatures chain from the request's (seed) signature. */
export type ChunkSigning = { key: Buffer; date: string; scope: string; seed: string };

/** A request whose signature holds: who signed it, and the payload hash its body must still match. */
export type Signed = { credential: StoreCredential; signedHeaders: readonly string[]; payload: string; chunks: ChunkSigning };

/** Payload hashes S3 takes besides a hex SHA-256. */
export const PAYLOAD_MODES = [
  "UNSIGNED-PAYLOAD",
  "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
  "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER",
] as const;

const MAX_PRESIGNED_EXPIRES_SEC = 7 * 24 * 3600;
const CLOCK_SKEW_MS = 15 * 60_000;

/** RFC 3986 encoding, as SigV4 wants it. */
function uriEncode(text: string, keepSlash: boolean): string {
  const encoded = encodeURIComponent(text).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return keepSlash ? encoded.replace(/%2F/g, "/") : encoded;
}

export const hmac = (key: Buffer | string, data: string) => createHmac("sha256", key).update(data).digest();
export const sha256Hex = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");

type Parsed = {
  presigned: boolean;
  accessKeyId: string;
  scope: string;
  date: string;
  signedHeaders: string[];
  signature: string;
  payloadHash: string | undefined;
  expiresSec?: string;
};

function parse(query: URLSearchParams, headers: IncomingHttpHeaders): Parsed | undefined {
  const auth = headers.authorization;
  const presigned = query.has("X-Amz-Algorithm") || query.has("X-Amz-Signature");
  if (auth && presigned) throw s3Error("InvalidArgument", "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter or the Authorization header should be specified.");
  if (auth) {
    const m = /^AWS4-HMAC-SHA256\s+Credential=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-f]{64})$/.exec(auth.trim());
    if (!m) throw s3Error("AuthorizationHeaderMalformed");
    const [accessKeyId, ...scope] = m[1].split("/");
    const sha = headers["x-amz-content-sha256"];
    return { presigned: false, accessKeyId, scope: scope.join("/"), date: String(headers["x-amz-date"] ?? ""), signedHeaders: m[2].split(";"), signature: m[3], payloadHash: sha === undefined ? undefined : String(sha) };
  }
  if (!presigned) return undefined;
  if (query.get("X-Amz-Algorithm") !== "AWS4-HMAC-SHA256") throw s3Error("AuthorizationQueryParametersError", "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\".");
  const [accessKeyId, ...scope] = (query.get("X-Amz-Credential") ?? "").split("/");
  const signedHeaders = (query.get("X-Amz-SignedHeaders") ?? "").split(";");
  // A presigned URL's body is unsigned unless the hash is among what it signed.
  const header = signedHeaders.includes("x-amz-content-sha256") ? headers["x-amz-content-sha256"] : undefined;
  return {
    presigned: true,
    accessKeyId,
    scope: scope.join("/"),
    date: query.get("X-Amz-Date") ?? "",
    signedHeaders,
    signature: query.get("X-Amz-Signature") ?? "",
    payloadHash: header === undefined ? (query.get("X-Amz-Content-Sha256") ?? "UNSIGNED-PAYLOAD") : String(header),
    expiresSec: query.get("X-Amz-Expires") ?? "",
  };
}

function amzDateMs(date: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(date);
  return m ? Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +m[6]) : Number.NaN;
}

/** The scope must be `<X-Amz-Date's day>/<region>/<service>/aws4_request`, as S3 insists. */
function checkScope(p: Parsed, expect: SigningScope): void {
  const code: S3ErrorCode = p.presigned ? "AuthorizationQueryParametersError" : "AuthorizationHeaderMalformed";
  const lead = p.presigned ? "Error parsing the X-Amz-Credential parameter" : "The authorization header is malformed";
  const [day, region, service, terminal, ...extra] = p.scope.split("/");
  if (!day || !region || !service || !terminal || extra.length) throw s3Error(code, `${lead}; the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".`);
  if (day !== p.date.slice(0, 8)) throw s3Error(code, `${lead}; Invalid credential date "${day}". This date is not the same as X-Amz-Date: "${p.date.slice(0, 8)}".`);
  if (region !== expect.region) throw s3Error(code, `${lead}; the region '${region}' is wrong; expecting '${expect.region}'`);
  if (service !== expect.service) throw s3Error(code, `${lead}; incorrect service "${service}". This endpoint belongs to "${expect.service}".`);
  if (terminal !== "aws4_request") throw s3Error(code, `${lead}; incorrect terminal "${terminal}". This endpoint uses "aws4_request".`);
}

function checkTime(p: Parsed, now: number): void {
  const signedAt = amzDateMs(p.date);
  if (Number.isNaN(signedAt)) throw s3Error(p.presigned ? "AuthorizationQueryParametersError" : "AccessDenied", "The request has no valid X-Amz-Date.");
  if (!p.presigned) {
    if (Math.abs(now - signedAt) > CLOCK_SKEW_MS) throw s3Error("RequestTimeTooSkewed");
    return;
  }
  const expires = Number(p.expiresSec);
  if (!/^\d+$/.test(p.expiresSec ?? "") || expires < 1) throw s3Error("AuthorizationQueryParametersError", "X-Amz-Expires should be a number of seconds from 1.");
  if (expires > MAX_PRESIGNED_EXPIRES_SEC) throw s3Error("AuthorizationQueryParametersError", `X-Amz-Expires must be less than a week (in seconds) that is ${MAX_PRESIGNED_EXPIRES_SEC}.`);
  if (signedAt - now > CLOCK_SKEW_MS) throw s3Error("AccessDenied", "Request is not valid yet.");
  if (now > signedAt + expires * 1000) throw s3Error("AccessDenied", "Request has expired.");
}

/** Headers that change what a request does must be signed: host, and every x-amz-* one present. */
function checkSignedHeaders(p: Parsed, headers: IncomingHttpHeaders): void {
  const signed = new Set(p.signedHeaders);
  const unsigned = Object.keys(headers).filter((h) => (h === "host" || h.startsWith("x-amz-")) && !signed.has(h));
  if (!signed.has("host") && !unsigned.includes("host")) unsigned.unshift("host");
  if (unsigned.length) throw s3Error("AccessDenied", `There were headers present in the request which were not signed: ${unsigned.join(", ")}.`);
}

function checkPayloadHash(p: Parsed, bodySha256: string | undefined): string {
  if (bodySha256 !== undefined) {
    // Services other than S3 sign the body's own hash; a header claiming another is refused.
    if (p.payloadHash !== undefined && p.payloadHash !== bodySha256) throw s3Error("XAmzContentSHA256Mismatch");
    return bodySha256;
  }
  if (p.payloadHash === undefined) throw s3Error("InvalidRequest", "Missing required header for this request: x-amz-content-sha256.");
  if (!/^[0-9a-f]{64}$/.test(p.payloadHash) && !(PAYLOAD_MODES as readonly string[]).includes(p.payloadHash)) {
    throw s3Error("InvalidArgument", "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-UNSIGNED-PAYLOAD-TRAILER, STREAMING-AWS4-HMAC-SHA256-PAYLOAD(-TRAILER), or a valid sha256 value.");
  }
  return p.payloadHash;
}

export type SignedRequest = { method: string; url: string; headers: IncomingHttpHeaders };

/**
 * The credential that signed `req`, or S3's error: a missing or wrong signature, a scope that does not name
 * `expect`, an unsigned header that matters, a stale date. `bodySha256`, for services that sign the body
 * itself (SQS), is the hex SHA-256 of the whole body as received.
 */
export function verifySigV4(req: SignedRequest, credentials: readonly StoreCredential[], expect: SigningScope, opts: { bodySha256?: string; now?: number } = {}): Signed {
  const q = req.url.indexOf("?");
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const query = new URLSearchParams(q < 0 ? "" : req.url.slice(q + 1));
  const p = parse(query, req.headers);
  if (!p) throw s3Error("AccessDenied", "Access Denied: this store requires signed requests (set the access key and secret it was started with).");
  checkScope(p, expect);
  const credential = credentials.find((c) => c.accessKeyId === p.accessKeyId);
  if (!credential) throw s3Error("InvalidAccessKeyId");
  checkTime(p, opts.now ?? Date.now());
  checkSignedHeaders(p, req.headers);
  const payload = checkPayloadHash(p, opts.bodySha256);
  let canonicalPath: string;
  try {
    canonicalPath = rawPath.split("/").map((s) => uriEncode(decodeURIComponent(s), false)).join("/");
  } catch {
    throw s3Error("InvalidArgument", "The path is not valid URL encoding.");
  }
  const pairs = [...query].filter(([k]) => k !== "X-Amz-Signature").map(([k, v]) => [uriEncode(k, false), uriEncode(v, false)]);
  pairs.sort(([a, av], [b, bv]) => (a < b ? -1 : a > b ? 1 : av < bv ? -1 : av > bv ? 1 : 0));
  const canonicalQuery = pairs.map(([k, v]) => `${k}=${v}`).join("&");
  const canonicalHeaders = p.signedHeaders
    .map((h) => {
      const v = req.headers[h];
      const value = (Array.isArray(v) ? v.join(",") : (v ?? "")).trim().replace(/\s+/g, " ");
      return `${h}:${value}\n`;
    })
    .join("");
  const canonical = [req.method, canonicalPath, canonicalQuery, canonicalHeaders, p.signedHeaders.join(";"), payload].join("\n");
  const toSign = ["AWS4-HMAC-SHA256", p.date, p.scope, sha256Hex(canonical)].join("\n");
  const [day, region, service] = p.scope.split("/");
  const key = hmac(hmac(hmac(hmac(`AWS4${credential.secretAccessKey}`, day), region), service), "aws4_request");
  const expected = hmac(key, toSign);
  const given = Buffer.from(p.signature, "hex");
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw s3Error("SignatureDoesNotMatch");
  return { credential, signedHeaders: p.signedHeaders, payload, chunks: { key, date: p.date, scope: p.scope, seed: p.signature } };
}
