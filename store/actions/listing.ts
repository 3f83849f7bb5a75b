// ListObjectsV2, ListObjects (v1) and ListObjectVersions over the folder walk: prefix, delimiter, continuation, start-after,
// URL encoding of keys, in S3's UTF-8 byte order.
import { s3Error } from "../errors.ts";
import { type FolderStore, lastModifiedOf } from "../folder.ts";
import type { Reply, Req } from "../request.ts";
import { el, textElement, type XmlElement, type XmlRendered } from "../xml.ts";
import type { StoreContext } from "./context.ts";

type Entry = { key: string; size: number; etag: string; lastModified: Date } | { commonPrefix: string };

/** Up to `max` entries after `after`, and whether more follow. */
export async function listPage(store: FolderStore, prefix: string, delimiter: string, after: string, max: number): Promise<{ entries: Entry[]; truncated: boolean }> {
  const entries: Entry[] = [];
  let lastPrefix: string | undefined;
  // A common prefix that ends at a folder boundary covers the whole folder: the walk passes over it.
  const skip = (dirPrefix: string) => lastPrefix !== undefined && dirPrefix.startsWith(lastPrefix);
  for await (const { key, st } of store.keys(prefix, after, skip)) {
    const rest = key.slice(prefix.length);
    const cut = delimiter ? rest.indexOf(delimiter) : -1;
    if (cut >= 0) {
      const commonPrefix = prefix + rest.slice(0, cut + delimiter.length);
      if (commonPrefix === lastPrefix) continue;
      if (after && after.startsWith(commonPrefix)) {
        // Listed on an earlier page.
        lastPrefix = commonPrefix;
        continue;
      }
      if (entries.length === max) return { entries, truncated: true };
      lastPrefix = commonPrefix;
      entries.push({ commonPrefix });
      continue;
    }
    if (entries.length === max) return { entries, truncated: true };
    entries.push({ key, size: st.size, etag: store.listedEtag(key, st), lastModified: lastModifiedOf(st) });
  }
  return { entries, truncated: false };
}

/**
 * ListObjectVersions (GET ?versions): the folder keeps one version of each key, as an unversioned bucket
 * does, so each object is listed once with S3's VersionId "null" and IsLatest true.
 */
export async function listObjectVersions(ctx: StoreContext, req: Req): Promise<Reply> {
  const q = req.query;
  const prefix = q.get("prefix") ?? "";
  const delimiter = q.get("delimiter") ?? "";
  const urlEncoded = q.get("encoding-type") === "url";
  const max = maxKeys(q);
  const enc = (s: string) => (urlEncoded ? encodeURIComponent(s).replace(/%2F/g, "/") : s);
  const after = q.get("key-marker") ?? "";
  const { entries, truncated } = max === 0 ? { entries: [], truncated: false } : await listPage(ctx.store, prefix, delimiter, after, Math.min(max, 1000));
  const versions = entries.flatMap((e) =>
    "key" in e
      ? [el("Version", el("Key", enc(e.key)), el("VersionId", "null"), el("IsLatest", true), el("LastModified", e.lastModified.toISOString()), el("ETag", e.etag), el("Size", e.size), el("StorageClass", "STANDARD"))]
      : [],
  );
  const prefixes = entries.flatMap((e) => ("commonPrefix" in e ? [el("CommonPrefixes", el("Prefix", enc(e.commonPrefix)))] : []));
  const last = entries.at(-1);
  return {
    xml: el(
      "ListVersionsResult",
      [el("Name", ctx.bucket), el("Prefix", enc(prefix)), el("KeyMarker", enc(after)), el("VersionIdMarker", q.get("version-id-marker") ?? "")],
      truncated && last ? [el("NextKeyMarker", enc(lastOf(last))), el("NextVersionIdMarker", "null")] : [],
      [el("MaxKeys", max), delimiter ? el("Delimiter", enc(delimiter)) : undefined, urlEncoded ? el("EncodingType", "url") : undefined, el("IsTruncated", truncated)],
      versions,
      prefixes,
    ),
  };
}

function maxKeys(q: URLSearchParams): number {
  const raw = q.get("max-keys");
  const max = raw === null ? 1000 : Number(raw);
  if (!Number.isInteger(max) || max < 0) throw s3Error("InvalidArgument", "max-keys must be a non-negative integer.");
  return max;
}

const lastOf = (e: Entry) => ("key" in e ? e.key : e.commonPrefix);

/** ListObjectsV2 (list-type=2) or ListObjects: a GET on the bucket. */
export async function listObjects(ctx: StoreContext, req: Req): Promise<Reply> {
  return { xml: await listBucketResult(ctx.store, ctx.bucket, req.query) };
}

async function listBucketResult(store: FolderStore, bucket: string, q: URLSearchParams): Promise<XmlElement> {
  const v2 = q.get("list-type") === "2";
  const prefix = q.get("prefix") ?? "";
  const delimiter = q.get("delimiter") ?? "";
  const urlEncoded = q.get("encoding-type") === "url";
  const max = maxKeys(q);
  const enc = (s: string) => (urlEncoded ? encodeURIComponent(s).replace(/%2F/g, "/") : s);
  let after: string;
  const token = q.get("continuation-token");
  const startAfter = q.get("start-after");
  if (v2) {
    const fromToken = token ? Buffer.from(token, "base64url").toString("utf8") : "";
    after = Buffer.compare(Buffer.from(fromToken), Buffer.from(startAfter ?? "")) > 0 ? fromToken : (startAfter ?? "");
  } else {
    after = q.get("marker") ?? "";
  }
  // Asked for nothing, S3 answers nothing and no more to come (a page of 0 with a token would loop).
  const { entries, truncated } = max === 0 ? { entries: [], truncated: false } : await listPage(store, prefix, delimiter, after, Math.min(max, 1000));
  const contents: XmlRendered[] = [];
  for (const e of entries) {
    if ("key" in e) contents.push(textElement("Contents", [["Key", enc(e.key)], ["LastModified", e.lastModified.toISOString()], ["ETag", e.etag], ["Size", e.size], ["StorageClass", "STANDARD"]]));
  }
  const prefixes = entries.flatMap((e) => ("commonPrefix" in e ? [el("CommonPrefixes", el("Prefix", enc(e.commonPrefix)))] : []));
  const last = entries.at(-1);
  // With encoding-type=url S3 encodes keys and what echoes them, but ListObjects (v1) echoes Prefix as sent
  // (the SDKs decode it in V2 and ListObjectVersions answers only).
  const head = [
    el("Name", bucket),
    el("Prefix", v2 ? enc(prefix) : prefix),
    delimiter ? el("Delimiter", enc(delimiter)) : undefined,
    el("MaxKeys", max),
    urlEncoded ? el("EncodingType", "url") : undefined,
    el("IsTruncated", truncated),
  ];
  if (v2) {
    const next = truncated && last ? el("NextContinuationToken", Buffer.from(lastOf(last)).toString("base64url")) : undefined;
    // A token given is echoed, even an empty one (which starts at the beginning).
    const given = [token !== null ? el("ContinuationToken", token) : undefined, startAfter ? el("StartAfter", enc(startAfter)) : undefined];
    return el("ListBucketResult", head, el("KeyCount", entries.length), given, next, contents, prefixes);
  }
  const next = truncated && last ? el("NextMarker", enc(lastOf(last))) : undefined;
  return el("ListBucketResult", head, el("Marker", enc(after)), next, contents, prefixes);
}
