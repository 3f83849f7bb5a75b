// Decodes `aws-chunked` bodies: "<hex size>[;chunk-signature=…]\r\n<bytes>\r\n" … "0…\r\n", then trailer
// lines ("x-amz-checksum-crc32:…") and a blank line. Current AWS SDKs send uploads this way by default.
// Signed bodies chain each chunk's signature from the one before (the request's is the seed), and sign the
// trailer last: a chunk or trailer that does not match ends the body with an error before it is used.
import { type Hash, createHash, timingSafeEqual } from "node:crypto";
import { Transform, type TransformCallback } from "node:stream";
import { s3Error } from "./errors.ts";
import { type ChunkSigning, hmac, sha256Hex } from "./sigv4.ts";

const MAX_LINE = 4096;
const EMPTY_SHA256 = sha256Hex("");
const TRAILER_SIGNATURE = "x-amz-trailer-signature";

const malformed = (why: string) => s3Error("IncompleteBody", `The aws-chunked body is malformed: ${why}.`);
const badTrailer = (why: string) => s3Error("MalformedTrailerError", `The aws-chunked trailer is malformed: ${why}.`);

export type ChunkedOptions = {
  /** Chunk signatures to check (STREAMING-AWS4-HMAC-SHA256-PAYLOAD…); unsigned chunks when absent. */
  signing?: ChunkSigning;
  /** The trailer the request declared (x-amz-trailer): it must come, and nothing else may. Signed when `signing` is. */
  trailer?: string;
};

export class AwsChunkedDecoder extends Transform {
  /** Trailer headers, lower-cased, once the body has ended. */
  readonly trailers: Record<string, string> = {};
  private readonly opts: ChunkedOptions;
  private pending: Buffer = Buffer.alloc(0);
  private remaining = 0;
  private state: "size" | "data" | "data-end" | "trailer" | "done" = "size";
  private previous = "";
  private chunkSignature = "";
  private chunkHash: Hash | undefined;

  constructor(opts: ChunkedOptions = {}) {
    super();
    this.opts = opts;
    this.previous = opts.signing?.seed ?? "";
  }

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
    try {
      // Some clients end the body right after the last chunk's line, with no blank line.
      if (this.state === "trailer" && this.pending.length === 0) this.endTrailer();
      else if (this.state !== "done") throw malformed("it ended early");
      done();
    } catch (err) {
      done(err as Error);
    }
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

  private sign(toSign: string[]): string {
    const s = this.opts.signing!;
    return hmac(s.key, [toSign[0], s.date, s.scope, ...toSign.slice(1)].join("\n")).toString("hex");
  }

  private checkSignature(expected: string, given: string): void {
    const a = Buffer.from(expected, "hex");
    const b = Buffer.from(given, "hex");
    if (a.length !== b.length || !timingSafeEqual(a, b)) throw s3Error("SignatureDoesNotMatch", "The chunk signature we calculated does not match the signature you provided.");
  }

  private startChunk(line: string): void {
    const [sizeText, ...extensions] = line.split(";");
    const size = Number.parseInt(sizeText, 16);
    if (!/^[0-9a-fA-F]+$/.test(sizeText.trim()) || !Number.isFinite(size)) throw malformed(`bad chunk size '${line.slice(0, 40)}'`);
    if (this.opts.signing) {
      const sig = extensions.map((e) => /^chunk-signature=([0-9a-f]{64})$/.exec(e.trim())?.[1]).find(Boolean);
      if (!sig) throw s3Error("SignatureDoesNotMatch", "A chunk of a signed aws-chunked body has no chunk-signature.");
      this.chunkSignature = sig;
      this.chunkHash = createHash("sha256");
    }
    this.remaining = size;
    if (size === 0) {
      this.endChunk();
      this.state = "trailer";
    } else this.state = "data";
  }

  private endChunk(): void {
    if (!this.opts.signing) return;
    const expected = this.sign(["AWS4-HMAC-SHA256-PAYLOAD", this.previous, EMPTY_SHA256, this.chunkHash!.digest("hex")]);
    this.checkSignature(expected, this.chunkSignature);
    this.previous = expected;
  }

  /** The declared trailer came, nothing else did, and its signature holds when the body is signed. */
  private endTrailer(): void {
    const names = Object.keys(this.trailers).filter((n) => n !== TRAILER_SIGNATURE);
    const declared = this.opts.trailer;
    if (declared === undefined) {
      if (names.length || this.trailers[TRAILER_SIGNATURE] !== undefined) throw badTrailer("it sends trailers the request did not declare");
    } else {
      if (this.trailers[declared] === undefined) throw badTrailer(`the declared ${declared} never came`);
      if (names.length !== 1) throw badTrailer("it sends trailers the request did not declare");
      if (this.opts.signing) {
        const sig = this.trailers[TRAILER_SIGNATURE];
        if (!sig || !/^[0-9a-f]{64}$/.test(sig)) throw s3Error("SignatureDoesNotMatch", "The signed aws-chunked body has no trailer signature.");
        const expected = this.sign(["AWS4-HMAC-SHA256-TRAILER", this.previous, sha256Hex(`${declared}:${this.trailers[declared]}\n`)]);
        this.checkSignature(expected, sig);
      }
    }
    this.state = "done";
  }

  private drain(): void {
    for (;;) {
      if (this.state === "size") {
        const line = this.line();
        if (line === undefined) return;
        this.startChunk(line);
      } else if (this.state === "data") {
        if (this.pending.length === 0) return;
        const take = Math.min(this.remaining, this.pending.length);
        const data = this.pending.subarray(0, take);
        this.chunkHash?.update(data);
        this.push(data);
        this.pending = this.pending.subarray(take);
        this.remaining -= take;
        if (this.remaining === 0) this.state = "data-end";
        else return;
      } else if (this.state === "data-end") {
        if (this.pending.length < 2) return;
        if (this.pending[0] !== 13 || this.pending[1] !== 10) throw malformed("a chunk does not end with CRLF");
        this.pending = this.pending.subarray(2);
        this.endChunk();
        this.state = "size";
      } else if (this.state === "trailer") {
        const line = this.line();
        if (line === undefined) return;
        if (line === "") {
          this.endTrailer();
          continue;
        }
        const colon = line.indexOf(":");
        if (colon <= 0) throw badTrailer(`bad line '${line.slice(0, 40)}'`);
        const name = line.slice(0, colon).trim().toLowerCase();
        if (this.trailers[name] !== undefined) throw badTrailer(`${name} comes twice`);
        this.trailers[name] = line.slice(colon + 1).trim();
      } else {
        if (this.pending.length) throw malformed("bytes follow its end");
        return;
      }
    }
  }
}
