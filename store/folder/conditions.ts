// S3's If-Match / If-None-Match on writes, decided against what is at the key while its lock is held.
import { s3Error } from "../errors.ts";

export type WriteConditions = { ifMatch?: string; ifNoneMatch?: string };

export const bareEtag = (etag: string) => etag.replace(/^W\//, "").replace(/"/g, "");

/** S3's answer to a write's If-Match / If-None-Match against what is at the key now. */
export function checkWriteConditions(current: { etag: string } | undefined, cond: WriteConditions): void {
  if (cond.ifNoneMatch !== undefined) {
    if (cond.ifNoneMatch.trim() !== "*") throw s3Error("NotImplemented", "If-None-Match on a write accepts only '*'.");
    if (current) throw s3Error("PreconditionFailed");
  }
  if (cond.ifMatch !== undefined) {
    if (!current) throw s3Error("NoSuchKey");
    const wanted = cond.ifMatch.split(",").map((e) => bareEtag(e.trim()));
    if (!wanted.includes("*") && !wanted.includes(bareEtag(current.etag))) throw s3Error("PreconditionFailed");
  }
}
