// Which action answers a request: one table of (method, level, query, copy source) → action, read top to
// bottom, first match wins. The level is what the path names: the service, the bucket or an object.
import * as bucket from "./actions/bucket.ts";
import type { Action, StoreContext } from "./actions/context.ts";
import { listObjectVersions, listObjects } from "./actions/listing.ts";
import * as multipart from "./actions/multipart.ts";
import * as objects from "./actions/objects.ts";
import { s3Error } from "./errors.ts";
import { type Reply, type Req, assertMayWrite } from "./request.ts";

type Level = "service" | "bucket" | "object";
type QueryTest = (q: URLSearchParams) => boolean;

type Route = {
  method: string | readonly string[];
  level: Level;
  query?: QueryTest;
  /** Whether a non-empty x-amz-copy-source must be there (true) or not (false); either when unset. */
  copy?: boolean;
  action: Action;
};

const has = (...names: string[]): QueryTest => (q) => names.every((n) => q.has(n));
const without = (...names: string[]): QueryTest => (q) => !names.some((n) => q.has(n));
const none: QueryTest = (q) => [...q.keys()].length === 0;
/** Only what SDKs add to any request (x-id) or a presigned URL carries (x-amz-*). */
const onlySigning: QueryTest = (q) => [...q.keys()].every((k) => k === "x-id" || k.toLowerCase().startsWith("x-amz-"));

/** Bucket subresources this store does not keep: a GET on them is not a listing. */
const BUCKET_SUBRESOURCES = [
  "acl", "policy", "lifecycle", "cors", "tagging", "notification", "encryption", "website", "logging", "replication", "object-lock",
  "ownershipControls", "publicAccessBlock", "requestPayment", "accelerate", "analytics", "metrics", "inventory", "intelligent-tiering",
];

/**
 * What a write may ask that the folder cannot honour: encryption (it would store plaintext, readable without
 * the key), tags, another storage class, object lock (a "locked" file could be deleted at once). S3-compatible
 * stores refuse these with 501 rather than answer 200 and ignore them; so does this one.
 */
function refuseUnhonoured(req: Req): void {
  for (const name of Object.keys(req.raw.headers)) {
    if (/^x-amz-(copy-source-)?server-side-encryption/.test(name)) throw s3Error("NotImplemented", "Server-side encryption is not supported by this store.");
    if (name.startsWith("x-amz-object-lock-")) throw s3Error("NotImplemented", "Object lock is not supported by this store.");
  }
  if (req.method !== "PUT" && req.method !== "POST") return;
  if (req.header("x-amz-tagging")) throw s3Error("NotImplemented", "Object tags are not supported by this store.");
  const storageClass = req.header("x-amz-storage-class");
  if (storageClass && storageClass.toUpperCase() !== "STANDARD") throw s3Error("NotImplemented", "Only the STANDARD storage class is supported by this store.");
}

export const ROUTES: readonly Route[] = [
  { method: "GET", level: "service", action: bucket.listBuckets },

  { method: "HEAD", level: "bucket", action: bucket.headBucket },
  { method: "PUT", level: "bucket", query: none, action: bucket.createBucket },
  { method: "GET", level: "bucket", query: has("location"), action: bucket.getBucketLocation },
  { method: "GET", level: "bucket", query: has("versioning"), action: bucket.getBucketVersioning },
  { method: "GET", level: "bucket", query: has("uploads"), action: multipart.listUploads },
  { method: "POST", level: "bucket", query: has("delete"), action: objects.deleteObjects },
  { method: "GET", level: "bucket", query: has("versions"), action: listObjectVersions },
  { method: "GET", level: "bucket", query: without(...BUCKET_SUBRESOURCES), action: listObjects },
  { method: "DELETE", level: "bucket", action: bucket.deleteBucket },

  { method: "PUT", level: "object", query: has("partNumber", "uploadId"), copy: true, action: multipart.uploadPartCopy },
  { method: "PUT", level: "object", query: has("partNumber", "uploadId"), copy: false, action: multipart.uploadPart },
  { method: "PUT", level: "object", query: onlySigning, copy: true, action: objects.copyObject },
  { method: "PUT", level: "object", query: onlySigning, copy: false, action: objects.putObject },
  { method: "POST", level: "object", query: has("uploads"), action: multipart.createUpload },
  { method: "POST", level: "object", query: has("uploadId"), action: multipart.completeUpload },
  { method: "DELETE", level: "object", query: has("uploadId"), action: multipart.abortUpload },
  { method: "GET", level: "object", query: has("uploadId"), action: multipart.listParts },
  { method: "GET", level: "object", query: has("tagging"), action: objects.getObjectTagging },
  { method: ["GET", "HEAD"], level: "object", query: without("acl", "attributes", "retention", "legal-hold"), action: objects.getObject },
  { method: "DELETE", level: "object", query: without("tagging"), action: objects.deleteObject },
];

function matches(route: Route, req: Req, level: Level): boolean {
  if (route.level !== level) return false;
  if (typeof route.method === "string" ? route.method !== req.method : !route.method.includes(req.method)) return false;
  if (route.query && !route.query(req.query)) return false;
  return route.copy === undefined || route.copy === Boolean(req.header("x-amz-copy-source"));
}

/** Runs the action for `req`, or answers as S3 does for a bucket it does not serve or an operation it lacks. */
export function route(ctx: StoreContext, req: Req): Promise<Reply> {
  const level: Level = !req.bucket ? "service" : !req.key ? "bucket" : "object";
  if (level !== "service" && req.bucket !== ctx.bucket) {
    if (req.method === "PUT" && level === "bucket") throw s3Error("AccessDenied", `This store serves one bucket, "${ctx.bucket}".`);
    throw s3Error("NoSuchBucket");
  }
  // A key that could name a file outside the folder is refused before any action sees it.
  if (level === "object") ctx.store.fileOf(req.key);
  // Every object-level call but a read writes or deletes its key (a copy's destination, a part, an upload).
  if (level === "object" && req.method !== "GET" && req.method !== "HEAD") assertMayWrite(req, req.key);
  refuseUnhonoured(req);
  const found = ROUTES.find((r) => matches(r, req, level));
  if (!found) throw level === "service" ? s3Error("MethodNotAllowed") : s3Error("NotImplemented");
  return found.action(ctx, req);
}
