// Bucket actions: the store serves one bucket, the folder, so these answer for it as S3 would and create
// or delete nothing.
import { s3Error } from "../errors.ts";
import type { Reply, Req } from "../request.ts";
import { el } from "../xml.ts";
import type { StoreContext } from "./context.ts";

export async function listBuckets(ctx: StoreContext): Promise<Reply> {
  return {
    xml: el(
      "ListAllMyBucketsResult",
      el("Owner", el("ID", "reelpress"), el("DisplayName", "reelpress")),
      el("Buckets", el("Bucket", el("Name", ctx.bucket), el("CreationDate", new Date(0).toISOString()))),
    ),
  };
}

export async function headBucket(ctx: StoreContext): Promise<Reply> {
  return { headers: { "x-amz-bucket-region": ctx.region ?? "us-east-1" } };
}

/** The bucket already exists: creating it again succeeds, as S3 answers its owner in us-east-1. */
export async function createBucket(ctx: StoreContext, req: Req): Promise<Reply> {
  req.raw.resume();
  return { headers: { location: `/${ctx.bucket}` } };
}

export async function getBucketLocation(ctx: StoreContext): Promise<Reply> {
  return { xml: el("LocationConstraint", ctx.region && ctx.region !== "us-east-1" ? ctx.region : undefined) };
}

export async function getBucketVersioning(): Promise<Reply> {
  return { xml: el("VersioningConfiguration") };
}

export async function deleteBucket(): Promise<Reply> {
  throw s3Error("BucketNotEmpty", "The bucket is the library folder; it is never deleted through the API.");
}
