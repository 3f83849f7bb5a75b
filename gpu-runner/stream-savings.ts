// The archive's per-stream rule (videoArchiver): after PROBE_SEC of output, a stream that is not on course
// to be smaller than 0.9 × its share of the source is not encoded; the source stream is kept as it is.
// As a pure decision over measured byte rates: the runner encodes each stream's first PROBE_SEC alone and
// compares the bytes with that stream's own packets over the same seconds of the source.

/** Seconds of each stream encoded before deciding (videoArchiver's "after the output is longer than 10 s"). */
export const PROBE_SEC = 10;
/** An encoded stream must come out below this share of its source stream, or the source stream stays. */
export const STREAM_SHARE = 0.9;

export type StreamMeasure = {
  /** The source stream's packet bytes over `sourceSec` seconds. */
  sourceBytes: number;
  sourceSec: number;
  /** The encoded stream's packet bytes over `encodedSec` seconds of output. */
  encodedBytes: number;
  encodedSec: number;
};

export type StreamVerdict = { action: "encoded" | "kept"; reason: string };

const kbps = (bytes: number, sec: number) => `${Math.round((bytes * 8) / sec / 1000)} kbit/s`;

/** Pure: encode the stream, or keep the source's, from the byte rates measured over the probe seconds. */
export function streamVerdict(m: StreamMeasure): StreamVerdict {
  if (m.sourceSec <= 0 || m.encodedSec <= 0 || m.sourceBytes <= 0) return { action: "kept", reason: "nothing measured to compare: the source stream is kept" };
  const source = m.sourceBytes / m.sourceSec;
  const encoded = m.encodedBytes / m.encodedSec;
  const rates = `${kbps(m.encodedBytes, m.encodedSec)} encoded vs ${kbps(m.sourceBytes, m.sourceSec)} source over ${m.encodedSec.toFixed(1)} s`;
  return encoded < STREAM_SHARE * source
    ? { action: "encoded", reason: `${rates}: saves ${Math.round((1 - encoded / source) * 100)} %` }
    : { action: "kept", reason: `${rates}: not below ${STREAM_SHARE} × the source, source stream kept` };
}
