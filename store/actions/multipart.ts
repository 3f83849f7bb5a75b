// Multipart upload actions over Multipart (store/multipart.ts): create, upload or copy a part, complete,
// abort, and list parts and uploads.
import { createReadStream } from "node:fs";
import { checksumAlgorithm } from "../checksums.ts";
import { s3Error } from "../errors.ts";
import { MAX_PART_BYTES } from "../multipart.ts";
import { type Reply, type Req, conditions, headersAndMetadata } from "../request.ts";
import { completeRequest, el } from "../xml.ts";
import { checksumHeaders, readXmlRequest, receiveBody } from "./body.ts";
import type { StoreContext } from "./context.ts";
import { copySourceObject } from "./objects.ts";

/**
 * x-amz-copy-source-range: unlike a GET's Range, S3 takes only "bytes=first-last", both given and within the
 * source; anything else is refused rather than read as "the whole source" or cut to fit.
 */
function copyRange(header: string, size: number): { start: number; end: number } {
  const m = /^bytes=(\d+)-(\d+)$/.exec(header.trim());
  if (!m) throw s3Error("InvalidArgument", "The x-amz-copy-source-range value must be of the form bytes=first-last where first and last are the zero-based offsets of the first and last bytes to copy.");
  const [start, end] = [Number(m[1]), Number(m[2])];
  if (start > end || end >= size) throw s3Error("InvalidRange", `The x-amz-copy-source-range is not within the source object (${size} bytes).`);
  return { start, end };
}

export async function createUpload(ctx: StoreContext, req: Req): Promise<Reply> {
  req.raw.resume();
  const { headers, metadata } = headersAndMetadata(req);
  const algorithm = checksumAlgorithm(req.header("x-amz-checksum-algorithm"));
  const uploadId = await ctx.multipart.create(req.key, { headers, metadata, algorithm });
  return {
    xml: el("InitiateMultipartUploadResult", el("Bucket", ctx.bucket), el("Key", req.key), el("UploadId", uploadId)),
  };
}

export async function uploadPart(ctx: StoreContext, req: Req): Promise<Reply> {
  const uploadId = req.query.get("uploadId")!;
  await ctx.multipart.upload(req.key, uploadId);
  const got = await receiveBody(ctx, req, { maxBytes: MAX_PART_BYTES });
  const part = await ctx.multipart.putPart(req.key, uploadId, Number(req.query.get("partNumber")), got);
  return { headers: { etag: part.etag, ...checksumHeaders(part.checksums) } };
}

export async function uploadPartCopy(ctx: StoreContext, req: Req): Promise<Reply> {
  req.raw.resume();
  const uploadId = req.query.get("uploadId")!;
  await ctx.multipart.upload(req.key, uploadId);
  const source = await copySourceObject(ctx, req);
  const rangeHeader = req.header("x-amz-copy-source-range");
  const { start, end } = rangeHeader ? copyRange(rangeHeader, source.size) : { start: 0, end: source.size - 1 };
  if (end - start + 1 > MAX_PART_BYTES) throw s3Error("InvalidArgument", "A copied part may be at most 5 GiB.");
  const got = await ctx.store.receive(createReadStream(source.file, { start, end: Math.max(start, end), highWaterMark: 1024 * 1024 }), [], { durable: false });
  const part = await ctx.multipart.putPart(req.key, uploadId, Number(req.query.get("partNumber")), got);
  return { xml: el("CopyPartResult", el("LastModified", part.lastModified), el("ETag", part.etag)) };
}

export async function completeUpload(ctx: StoreContext, req: Req): Promise<Reply> {
  const uploadId = req.query.get("uploadId")!;
  const listed = completeRequest(await readXmlRequest(req));
  const info = await ctx.multipart.complete(req.key, uploadId, listed, conditions(req));
  return {
    xml: el("CompleteMultipartUploadResult", el("Location", `/${ctx.bucket}/${req.key}`), el("Bucket", ctx.bucket), el("Key", req.key), el("ETag", info.etag), info.composite ? [el(`Checksum${info.composite.algorithm.toUpperCase()}`, info.composite.value), el("ChecksumType", "COMPOSITE")] : []),
  };
}

export async function abortUpload(ctx: StoreContext, req: Req): Promise<Reply> {
  await ctx.multipart.abort(req.key, req.query.get("uploadId")!);
  return { status: 204 };
}

export async function listParts(ctx: StoreContext, req: Req): Promise<Reply> {
  const uploadId = req.query.get("uploadId")!;
  const marker = Number(req.query.get("part-number-marker") ?? 0);
  const max = Math.min(1000, Number(req.query.get("max-parts") ?? 1000));
  const all = (await ctx.multipart.parts(req.key, uploadId)).filter((p) => p.number > marker);
  const page = all.slice(0, max);
  const parts = page.map((p) =>
    el("Part", el("PartNumber", p.number), el("LastModified", p.lastModified), el("ETag", p.etag), el("Size", p.size), Object.entries(p.checksums).map(([alg, v]) => el(`Checksum${alg.toUpperCase()}`, v))),
  );
  return {
    xml: el(
      "ListPartsResult",
      [el("Bucket", ctx.bucket), el("Key", req.key), el("UploadId", uploadId)],
      [el("PartNumberMarker", marker), el("NextPartNumberMarker", page.at(-1)?.number ?? marker), el("MaxParts", max)],
      el("IsTruncated", all.length > page.length),
      parts,
    ),
  };
}

export async function listUploads(ctx: StoreContext, req: Req): Promise<Reply> {
  const prefix = req.query.get("prefix") ?? "";
  const uploads = (await ctx.multipart.list()).filter((u) => u.key.startsWith(prefix)).sort((a, b) => Buffer.compare(Buffer.from(a.key), Buffer.from(b.key)));
  const items = uploads.map((u) => el("Upload", el("Key", u.key), el("UploadId", u.uploadId), el("Initiated", u.initiated), el("StorageClass", "STANDARD")));
  return { xml: el("ListMultipartUploadsResult", el("Bucket", ctx.bucket), el("Prefix", prefix), el("IsTruncated", false), items) };
}
