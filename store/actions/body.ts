// A request's body as it arrives: plain or aws-chunked, with the checksums it brings or asks for. A write's
// body is received to a temp file and checked (length, Content-MD5, payload hash, chunk signatures,
// checksums) before anything is committed; an XML body is read whole and checked the same way before it is
// parsed, so nothing acts on bytes the signature does not cover.
import { rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { AwsChunkedDecoder } from "../chunked.ts";
import { BodyDigests, CHECKSUM_ALGORITHMS, checksumAlgorithm, type ChecksumAlgorithm } from "../checksums.ts";
import { s3Error } from "../errors.ts";
import type { Req } from "../request.ts";
import { MAX_XML_BODY, parseXmlBody } from "../xml.ts";
import type { StoreContext } from "./context.ts";

type Expected = {
  /** Checksums computed over the body: those sent or asked for, plus SHA-256 for a hex payload hash. */
  algorithms: Set<ChecksumAlgorithm>;
  /** Those the client asked the store to keep. */
  kept: Set<ChecksumAlgorithm>;
  values: Record<string, string | undefined>;
  contentMd5?: string;
  payloadSha256?: string;
  trailer?: ChecksumAlgorithm;
};

const isHexSha256 = (v: string | undefined): v is string => v !== undefined && /^[0-9a-f]{64}$/.test(v);

/** The payload hash that binds the body: the signed one, or what the header says on an unsigned store. */
const payloadOf = (req: Req) => req.signed?.payload ?? req.header("x-amz-content-sha256");

/** What the body brings or asks for, and the values to check it against. */
function expectations(req: Req): Expected {
  const kept = new Set<ChecksumAlgorithm>();
  const values: Record<string, string | undefined> = {};
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = req.header(`x-amz-checksum-${alg}`);
    if (v) {
      kept.add(alg);
      values[alg] = v;
    }
  }
  const asked = checksumAlgorithm(req.header("x-amz-sdk-checksum-algorithm") ?? req.header("x-amz-checksum-algorithm"));
  if (asked) kept.add(asked);
  const trailerName = req.header("x-amz-trailer")?.toLowerCase();
  const trailer = trailerName?.startsWith("x-amz-checksum-") ? checksumAlgorithm(trailerName.slice("x-amz-checksum-".length)) : undefined;
  if (trailerName !== undefined && !trailer) throw s3Error("InvalidRequest", `The value specified in the x-amz-trailer header is not supported: ${trailerName}.`);
  if (trailer) kept.add(trailer);
  const payload = payloadOf(req);
  const algorithms = new Set(kept);
  if (isHexSha256(payload)) algorithms.add("sha256");
  return { algorithms, kept, values, contentMd5: req.header("content-md5"), payloadSha256: isHexSha256(payload) ? payload : undefined, trailer };
}

/** The decoded body, with its declared length and the trailers an aws-chunked one ends with. */
function bodyOf(req: Req, trailer: ChecksumAlgorithm | undefined): { stream: Readable; length?: number; trailers?: Record<string, string> } {
  const payload = payloadOf(req);
  const streaming = payload?.startsWith("STREAMING-") ?? false;
  const encoded = /(^|,)\s*aws-chunked\s*(,|$)/.test(req.header("content-encoding") ?? "");
  // The payload hash says how the body is framed, as on S3: a hex hash or UNSIGNED-PAYLOAD is a plain body,
  // whatever Content-Encoding lists (aws-chunked is then only dropped from the stored encoding). Only an
  // unsigned request without any payload hash is taken as aws-chunked on Content-Encoding's word.
  const chunked = streaming || (encoded && !req.signed && payload === undefined);
  if (trailer && !chunked) throw s3Error("MalformedTrailerError", "x-amz-trailer is declared but the body is not aws-chunked.");
  if (streaming && payload!.endsWith("-TRAILER") && !trailer) throw s3Error("MalformedTrailerError", "This x-amz-content-sha256 needs an x-amz-trailer.");
  if (!chunked) {
    const length = req.header("content-length");
    return { stream: req.raw, length: length === undefined ? undefined : Number(length) };
  }
  const signed = payload?.startsWith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD") ? req.signed?.chunks : undefined;
  const decoder = new AwsChunkedDecoder({ signing: signed, trailer: trailer && `x-amz-checksum-${trailer}` });
  req.raw.pipe(decoder);
  req.raw.on("error", (err) => decoder.destroy(err));
  const decoded = req.header("x-amz-decoded-content-length");
  return { stream: decoder, length: decoded === undefined ? undefined : Number(decoded), trailers: decoder.trailers };
}

/** Throws the S3 error for the first way the received body differs from what the request said it is. */
function check(expected: Expected, body: { length?: number; trailers?: Record<string, string> }, got: { size: number; md5: Buffer; checksums: Partial<Record<ChecksumAlgorithm, string>> }): void {
  if (body.length !== undefined && got.size !== body.length) throw s3Error("IncompleteBody");
  if (expected.contentMd5 !== undefined && expected.contentMd5 !== got.md5.toString("base64")) throw s3Error("BadDigest");
  if (expected.payloadSha256 && Buffer.from(got.checksums.sha256 ?? "", "base64").toString("hex") !== expected.payloadSha256) throw s3Error("XAmzContentSHA256Mismatch");
  const values = { ...expected.values };
  if (expected.trailer) values[expected.trailer] = body.trailers?.[`x-amz-checksum-${expected.trailer}`];
  for (const [alg, value] of Object.entries(values)) {
    if (value !== undefined && got.checksums[alg as ChecksumAlgorithm] !== value) throw s3Error("BadDigest", `The ${alg.toUpperCase()} you specified did not match the calculated checksum.`);
  }
}

/** Receives a write's body to a temp file and checks it; a body that fails a check leaves no file. */
export async function receiveBody(ctx: StoreContext, req: Req, part?: { maxBytes: number }) {
  const expected = expectations(req);
  const body = bodyOf(req, expected.trailer);
  if (body.length !== undefined && part && body.length > part.maxBytes) throw s3Error("EntityTooLarge");
  const got = await ctx.store.receive(body.stream, expected.algorithms, part ? { maxBytes: part.maxBytes, durable: false } : {});
  try {
    check(expected, body, got);
  } catch (err) {
    await rm(got.tmp, { force: true });
    throw err;
  }
  // Only what the client sent or asked for is kept: a hex payload hash was for the signature alone.
  if (!expected.kept.has("sha256")) delete got.checksums.sha256;
  return got;
}

/**
 * An XML request body, read whole, checked, then parsed. `digestRequired` (DeleteObjects): a body the
 * payload hash does not bind must bring a signed Content-MD5 or SHA checksum, which a swapped body cannot
 * match; a CRC would not do, since a body with the same CRC is easily made.
 */
export async function readXmlRequest(req: Req, opts: { digestRequired?: boolean } = {}): Promise<Record<string, unknown>> {
  const expected = expectations(req);
  const bound = expected.payloadSha256 !== undefined || payloadOf(req)?.startsWith("STREAMING-AWS4-HMAC-SHA256-PAYLOAD");
  if (opts.digestRequired && !bound) {
    const md5 = expected.contentMd5 !== undefined && (!req.signed || req.signed.signedHeaders.includes("content-md5"));
    const strong = md5 || expected.values.sha256 !== undefined || expected.values.sha1 !== undefined;
    const any = strong || Object.keys(expected.values).length > 0 || expected.trailer !== undefined;
    if (!(req.signed ? strong : any)) {
      throw s3Error("InvalidRequest", `Missing required header for this request: ${req.signed ? "a signed Content-MD5 or x-amz-checksum-sha256, as the payload is unsigned" : "Content-MD5 or x-amz-checksum-*"}.`);
    }
  }
  const body = bodyOf(req, expected.trailer);
  if (body.length !== undefined && body.length > MAX_XML_BODY) throw s3Error("MalformedXML", "The XML you provided is too large.");
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body.stream) {
    size += (chunk as Buffer).length;
    if (size > MAX_XML_BODY) throw s3Error("MalformedXML", "The XML you provided is too large.");
    chunks.push(chunk as Buffer);
  }
  const bytes = Buffer.concat(chunks);
  const digests = new BodyDigests(expected.algorithms);
  digests.update(bytes);
  check(expected, body, { size: bytes.length, ...(await digests.finish()) });
  return parseXmlBody(bytes);
}

export function checksumHeaders(checksums: Record<string, string | undefined>): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [alg, v] of Object.entries(checksums)) if (v) h[`x-amz-checksum-${alg}`] = v;
  return h;
}
