// Which object keys can be files: a key is a path relative to the library folder, so anything that could
// name a file outside it (or alias another key) is refused before it reaches the file system.

/** S3's own limit on a key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/** Most file systems' limit on one path segment. */
const MAX_SEGMENT_BYTES = 255;

/** Why `key` is not a safe relative path, or undefined when it is. */
export function unsafeKeyReason(key: string): string | undefined {
  if (key === "") return "the key is empty";
  if (Buffer.byteLength(key) > MAX_KEY_BYTES) return `the key is longer than ${MAX_KEY_BYTES} bytes`;
  // eslint-disable-next-line no-control-regex
  if (/[\x00-\x1f\x7f]/.test(key)) return "the key holds a NUL or control character";
  if (key.includes("\\")) return "the key holds a backslash";
  if (key.startsWith("/")) return "the key is an absolute path";
  for (const segment of key.split("/")) {
    if (segment === "." || segment === "..") return `the key has a '${segment}' segment`;
    if (segment === "") return "the key has an empty path segment";
    if (Buffer.byteLength(segment) > MAX_SEGMENT_BYTES) return `a path segment is longer than ${MAX_SEGMENT_BYTES} bytes`;
  }
  return undefined;
}

export class UnsafeKeyError extends Error {
  readonly key: string;
  readonly reason: string;
  constructor(key: string, reason: string) {
    super(`Refused key ${JSON.stringify(key)}: ${reason}.`);
    this.name = "UnsafeKeyError";
    this.key = key;
    this.reason = reason;
  }
}

/** `key` itself, or an UnsafeKeyError. */
export function safeKey(key: string): string {
  const reason = unsafeKeyReason(key);
  if (reason) throw new UnsafeKeyError(key, reason);
  return key;
}
