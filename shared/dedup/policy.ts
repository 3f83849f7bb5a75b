// Winner policies: which member of a group is kept, and the reason given for every member.
import type { Entry } from "./entry.ts";
import type { Policy } from "./options.ts";

/** Bits a codec needs for the same picture, relative to H.264: HEVC at 60 % of the bitrate looks alike. */
const CODEC_EFFICIENCY: Record<string, number> = {
  av1: 2,
  hevc: 1.6,
  vp9: 1.5,
  h264: 1,
  vp8: 0.9,
  mpeg4: 0.7,
  msmpeg4v3: 0.65,
  wmv3: 0.7,
  vc1: 0.8,
  mpeg2video: 0.5,
  mpeg1video: 0.4,
};

/** Bitrate in H.264-equivalent bits per second. */
export function effectiveBitrate(e: Entry): number {
  return e.bitrate * (CODEC_EFFICIENCY[e.codec] ?? 0.6);
}

type Criterion = { name: string; compare(a: Entry, b: Entry): number; lost(loser: Entry, winner: Entry): string };

const mbps = (bps: number) => `${(bps / 1e6).toFixed(2)} Mbit/s`;
const res = (e: Entry) => `${e.width}×${e.height}`;
const day = (e: Entry) => new Date(e.lastModified).toISOString().slice(0, 19).replace("T", " ");

/** Chroma (distance from grey) below this is a grey picture: compression leaves a trace of colour. */
const GREY_CHROMA = 3;
const isGrey = (e: Entry) => e.picture !== undefined && e.picture.chroma < GREY_CHROMA;

const colour: Criterion = {
  name: "colour",
  compare: (a, b) => Number(isGrey(a)) - Number(isGrey(b)),
  lost: () => "grayscale (the kept copy is in colour)",
};

const pixels = (e: Entry) => e.width * e.height;
const detailOf = (e: Entry) => e.picture?.detail ?? 1;
const detailRes = (e: Entry) => `${Math.round(e.width * (e.picture?.detail ?? 1))}×${Math.round(e.height * (e.picture?.detail ?? 1))}`;
/** Real detail must exceed the smaller copy's size by this much for the larger one to win on resolution. */
const UPSCALE_SLACK = 1.15;

const resolution: Criterion = {
  name: "resolution",
  // A larger copy without the detail to show for it (an upscale) ties, and bits per pixel decide. Only
  // the detail it lacks beyond the smaller copy's counts: flat, hard-edged pictures (cartoons, test
  // cards) read as short of detail in every copy.
  compare: (a, b) => {
    if (pixels(a) === pixels(b)) return 0;
    const [hi, lo] = pixels(a) > pixels(b) ? [a, b] : [b, a];
    // A smaller copy cannot hold more detail than the one it was made from: when it reads as richer, the
    // measure is off for this picture (flat or hard-edged content), and nominal resolution decides.
    if (pixels(lo) * detailOf(lo) ** 2 > UPSCALE_SLACK * pixels(hi) * detailOf(hi) ** 2) return pixels(b) - pixels(a);
    const real = pixels(hi) * Math.min(1, detailOf(hi) / detailOf(lo)) ** 2;
    return real <= UPSCALE_SLACK * pixels(lo) ? 0 : pixels(b) - pixels(a);
  },
  lost: (l, w) => `lower resolution (${res(l)} < ${res(w)}${(w.picture?.detail ?? 1) < 1 ? `, whose real detail is ${detailRes(w)}` : ""})`,
};

/**
 * Static-edge shares closer than this are noise: copies sampled over other stretches (trims, fades,
 * frame-rate changes) differ by up to 0.025 on the accuracy corpus; a logo of 5 % of the frame adds 0.05.
 */
const OVERLAY_MARGIN = 0.03;
const overlay: Criterion = {
  name: "overlay",
  compare: (a, b) => {
    if (!a.picture || !b.picture) return 0;
    const d = a.picture.staticEdges - b.picture.staticEdges;
    return Math.abs(d) <= OVERLAY_MARGIN ? 0 : d;
  },
  lost: (l, w) => `edges that never move, as a watermark, logo or borders leave (${Math.round(100 * l.picture!.staticEdges)} % of its edges are static, ${Math.round(100 * w.picture!.staticEdges)} % in the kept copy)`,
};

/**
 * Differences this small are noise, not quality: a remux, or the same encoder on a trimmed copy. They
 * count as ties, so that the next criterion (a longer copy over a trimmed one) decides.
 */
const BITRATE_TIE = 0.1;
const DURATION_TIE_SEC = 0.5;

/** H.264-equivalent bits per nominal pixel: an upscale spreads its bits over pixels that add no detail. */
const bitsPerPixel = (e: Entry) => effectiveBitrate(e) / Math.max(1, pixels(e));

const bitrate: Criterion = {
  name: "bitrate",
  compare: (a, b) => {
    const [x, y] = [bitsPerPixel(a), bitsPerPixel(b)];
    return Math.abs(x - y) <= BITRATE_TIE * Math.max(x, y) ? 0 : y - x;
  },
  lost: (l, w) =>
    pixels(l) === pixels(w)
      ? `lower codec-aware bitrate (${l.codec} ${mbps(l.bitrate)} ≈ ${mbps(effectiveBitrate(l))} H.264 < ${mbps(effectiveBitrate(w))})`
      : pixels(l) > pixels(w)
        ? `upscaled: ${res(l)} holds the detail of ${detailRes(l)}, with fewer codec-aware bits per pixel (${mbps(effectiveBitrate(l))} H.264 over ${res(l)} < ${mbps(effectiveBitrate(w))} over ${res(w)})`
        : `fewer codec-aware bits per pixel for the same detail (${mbps(effectiveBitrate(l))} H.264 over ${res(l)} < ${mbps(effectiveBitrate(w))} over ${res(w)}, an upscale of no more detail)`,
};
const duration: Criterion = {
  name: "duration",
  compare: (a, b) => (Math.abs(a.durationSec - b.durationSec) <= DURATION_TIE_SEC ? 0 : b.durationSec - a.durationSec),
  lost: (l, w) => `shorter (${l.durationSec.toFixed(1)} s < ${w.durationSec.toFixed(1)} s)`,
};
/** S3 keeps modification times to the second; finer differences are the manifest's, not the file's. */
const second = (e: Entry) => Math.floor(e.lastModified / 1000);
const oldest: Criterion = {
  name: "oldest",
  compare: (a, b) => second(a) - second(b),
  lost: (l, w) => `newer (${day(l)} after ${day(w)})`,
};
const newest: Criterion = {
  name: "newest",
  compare: (a, b) => second(b) - second(a),
  lost: (l, w) => `older (${day(l)} before ${day(w)})`,
};
const smallest: Criterion = {
  name: "smallest",
  compare: (a, b) => a.size - b.size,
  lost: (l, w) => `larger (${l.size} > ${w.size} bytes)`,
};
const largest: Criterion = {
  name: "largest",
  compare: (a, b) => b.size - a.size,
  lost: (l, w) => `smaller (${l.size} < ${w.size} bytes)`,
};
// Last resort, so that the same report comes out of the same manifest every time.
const byKey: Criterion = {
  name: "key",
  compare: (a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  lost: (l, w) => `identical by every measure; ${w.key} sorts first`,
};

const CRITERIA: Record<Policy, Criterion[]> = {
  best_quality: [colour, resolution, overlay, bitrate, duration, oldest, byKey],
  oldest: [oldest, resolution, bitrate, byKey],
  newest: [newest, resolution, bitrate, byKey],
  smallest: [smallest, oldest, byKey],
  largest: [largest, oldest, byKey],
};

/** Sort order of a policy: the one to keep first. */
export function comparator(policy: Policy): (a: Entry, b: Entry) => number {
  const criteria = CRITERIA[policy];
  return (a, b) => {
    for (const c of criteria) {
      const d = c.compare(a, b);
      if (d !== 0) return d;
    }
    return 0;
  };
}

/** Why `winner` is kept (a description under the policy). */
export function winnerReason(policy: Policy, winner: Entry): string {
  switch (policy) {
    case "best_quality": {
      const p = winner.picture;
      const picture = p ? `, ${p.detail < 1 ? `real detail ${detailRes(winner)}` : "full detail"}, ${isGrey(winner) ? "grayscale" : "colour"}` : "";
      return `best_quality: ${res(winner)}${picture}, ${winner.codec} ${mbps(winner.bitrate)} ≈ ${mbps(effectiveBitrate(winner))} H.264, ${winner.durationSec.toFixed(1)} s`;
    }
    case "oldest":
    case "newest":
      return `${policy}: modified ${day(winner)}`;
    case "smallest":
    case "largest":
      return `${policy}: ${winner.size} bytes`;
  }
}

/** Why `loser` lost to `winner`: the first criterion of the policy that tells them apart. */
export function loserReason(policy: Policy, loser: Entry, winner: Entry): string {
  for (const c of CRITERIA[policy]) if (c.compare(winner, loser) < 0) return c.lost(loser, winner);
  return "identical by every measure";
}
