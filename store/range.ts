// One byte range of an object, as HTTP's Range header asks it: the store's GET and the dashboard's
// preview route read it alike.

/** "bytes=a-b", "bytes=a-" or "bytes=-n" against `size`: the bounds, or why there are none. */
export function rangeBounds(header: string | undefined, size: number): { start: number; end: number } | "none" | "malformed" | "unsatisfiable" {
  if (!header) return "none";
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return "malformed";
  let start: number;
  let end: number;
  if (m[1] === "") {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start >= size || start > end ? "unsatisfiable" : { start, end };
}
