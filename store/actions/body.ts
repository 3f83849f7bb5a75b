// A write's body as it arrives: plain or aws-chunked, with the checksums it brings or asks for, received
// to a temp file and checked (length, Content-MD5, payload hash, checksums) before anything is committed.
import { rm } from "node:fs/promises";
import type { Readable } from "node:stream";
import { AwsChunkedDecoder } from "../chunked.ts";
import { CHECKSUM_ALGORITHMS, checksumAlgorithm, type ChecksumAlgorithm } from "../checksums.ts";
import { type S3Error, s3Error } from "../errors.ts";
import type { Req } from "../request.ts";
import type { StoreContext } from "./context.ts";

/** Which checksums the body of a write brings or asks for, and the values to check it against. */
function checksumRequest(req: Req): { algorithms: Set<ChecksumAlgorithm>; expected: Record<string, string | undefined>; trailer?: ChecksumAlgorithm } {
  const algorithms = new Set<ChecksumAlgorithm>();
  const expected: Record<string, string | undefined> = {};
  for (const alg of CHECKSUM_ALGORITHMS) {
    const v = req.header(`x-amz-checksum-${alg}`);
    if (v) {
      algorithms.add(alg);
      expected[alg] = v;
    }
  }
  const asked = checksumAlgorithm(req.header("x-amz-sdk-checksum-algorithm") ?? req.header("x-amz-checksum-algorithm"));
  if (asked) algorithms.add(asked);
  const trailerName = req.header("x-amz-trailer")?.toLowerCase();
  const trailer = trailerName?.startsWith("x-amz-checksum-") ? checksumAlgorithm(trailerName.slice("x-amz-checksum-".length)) : undefined;
  if (trailer) algorithms.add(trailer);
  return { algorithms, expected, trailer };
}

/** The decoded body of a write, with its declared length and how it is checked. */
function bodyOf(req: Req): { stream: Readable; length?: number; trailers?: Record<string, string> } {
  const sha = req.header("x-amz-content-sha256") ?? "";
  const chunked = sha.startsWith("STREAMING-") || /(^|,)\s*aws-chunked\s*(,|$)/.test(req.header("content-encoding") ?? "");
  if (chunked) {
    const decoder = new AwsChunkedDecoder();
    req.raw.pipe(decoder);
    req.raw.on("error", (err) => decoder.destroy(err));
    const decoded = req.header("x-amz-decoded-content-length");
    return { stream: decoder, length: decoded === undefined ? undefined : Number(decoded), trailers: decoder.trailers };
  }
  const length = req.header("content-length");
  return { stream: req.raw, length: length === undefined ? undefined : Number(length) };
}

/** Receives a write's body to a temp file and checks its length, Content-MD5 and checksums. */
export async function receiveBody(ctx: StoreContext, req: Req, part?: { maxBytes: number }) {
  const { algorithms: kept, expected, trailer } = checksumRequest(req);
  const contentMd5 = req.header("content-md5");
  const sha = req.header("x-amz-content-sha256");
  const shaHex = sha && /^[0-9a-f]{64}$/.test(sha) ? sha : undefined;
  const algorithms = new Set(kept);
  if (shaHex) algorithms.add("sha256");
  const body = bodyOf(req);
  if (body.length !== undefined && part && body.length > part.maxBytes) throw s3Error("EntityTooLarge");
  const got = await ctx.store.receive(body.stream, algorithms, part ? { maxBytes: part.maxBytes, durable: false } : {});
  const fail = async (err: S3Error) => {
    await rm(got.tmp, { force: true });
    throw err;
  };
  if (body.length !== undefined && got.size !== body.length) await fail(s3Error("IncompleteBody"));
  if (contentMd5 && contentMd5 !== got.md5.toString("base64")) await fail(s3Error("BadDigest"));
  if (shaHex && Buffer.from(got.checksums.sha256 ?? "", "base64").toString("hex") !== shaHex) {
    await fail(s3Error("XAmzContentSHA256Mismatch"));
  }
  if (trailer) expected[trailer] = body.trailers?.[`x-amz-checksum-${trailer}`];
  for (const [alg, value] of Object.entries(expected)) {
    if (value !== undefined && got.checksums[alg as ChecksumAlgorithm] !== value) await fail(s3Error("BadDigest", `The ${alg.toUpperCase()} you specified did not match the calculated checksum.`));
  }
  // Only what the client sent or asked for is kept: a hex payload hash was for the signature alone.
  if (!kept.has("sha256")) delete got.checksums.sha256;
  return got;
}

export function checksumHeaders(checksums: Record<string, string | undefined>): Record<string, string> {
  const h: Record<string, string> = {};
  for (const [alg, v] of Object.entries(checksums)) if (v) h[`x-amz-checksum-${alg}`] = v;
  return h;
}
