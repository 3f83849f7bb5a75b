// Decodes `aws-chunked` bodies: "<hex size>[;chunk-signature=…]\r\n<bytes>\r\n" … "0…\r\n", then trailer
// lines ("x-amz-checksum-crc32:…") and a blank line. Current AWS SDKs send uploads this way by default.
import { Transform, type TransformCallback } from "node:stream";
import { s3Error } from "./errors.ts";

const MAX_LINE = 4096;

const malformed = (why: string) => s3Error("IncompleteBody", `The aws-chunked body is malformed: ${why}.`);

export class AwsChunkedDecoder extends Transform {
  /** Trailer headers, lower-cased, once the body has ended. */
  readonly trailers: Record<string, string> = {};
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private state: "size" | "data" | "data-end" | "trailer" | "done" = "size";

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      this.pending = this.pending.length ? Buffer.concat([this.pending, chunk]) : chunk;
      this.drain();
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    done(this.state === "done" || (this.state === "trailer" && this.pending.length === 0) ? undefined : malformed("it ended early"));
  }

  /** One line without its CRLF, or undefined until a whole one has arrived. */
  private line(): string | undefined {
    const end = this.pending.indexOf("\r\n");
    if (end < 0) {
      if (this.pending.length > MAX_LINE) throw malformed("a header line is too long");
      return undefined;
    }
    const text = this.pending.subarray(0, end).toString("latin1");
    this.pending = this.pending.subarray(end + 2);
    return text;
  }

  private drain(): void {
    for (;;) {
      if (this.state === "size") {
        const line = this.line();
        if (line === undefined) return;
        const size = Number.parseInt(line.split(";")[0], 16);
        if (!Number.isFinite(size) || size < 0) throw malformed(`bad chunk size '${line.slice(0, 40)}'`);
        this.remaining = size;
        this.state = size === 0 ? "trailer" : "data";
      } else if (this.state === "data") {
        if (this.pending.length === 0) return;
        const take = Math.min(this.remaining, this.pending.length);
        this.push(this.pending.subarray(0, take));
        this.pending = this.pending.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = "data-end";
        else return;
      } else if (this.state === "data-end") {
        if (this.pending.length < 2) return;
        if (this.pending[0] !== 13 || this.pending[1] !== 10) throw malformed("a chunk does not end with CRLF");
        this.pending = this.pending.subarray(2);
        this.state = "size";
      } else if (this.state === "trailer") {
        const line = this.line();
        if (line === undefined) return;
        if (line === "") {
          this.state = "done";
          continue;
        }
        const colon = line.indexOf(":");
        if (colon > 0) this.trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      } else {
        this.pending = Buffer.alloc(0);
        return;
      }
    }
  }
}
