// The dedup accuracy corpus: a few distinct sources, the variants a library collects of each (copies,
// remuxes, re-encodes, downscales, fps changes, trims, a clip, a fade-in intro, letterbox, mirror) and
// hard negatives. Made by ffmpeg, cached like the kit's fixtures; uploaded with manifest records made
// by the same probe and sampling code ingest uses.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rename, rm, stat, truncate } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { execa } from "execa";
import type { Clients } from "../../shared/io/clients.ts";
import { probeMedia } from "../../shared/media/ffprobe.ts";
import { sampleTimes } from "../../shared/media/fingerprint.ts";
import { patchRecord } from "../../shared/io/manifest.ts";
import { sampleVideo } from "../../shared/media/sample.ts";
import { headObject, uploadFile } from "../../shared/io/objects.ts";
import { mapLimit } from "../../shared/pool.ts";
import { FIXTURE_DIR } from "./fixtures.ts";

// A keyframe a second, as cameras and encoders commonly write: seeks decode at most a second.
const GOP = ["-g", "25"];
const X264 = ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", ...GOP];
const SECONDS = 8;

/** Runs ffmpeg once per recipe; the output is cached under the recipe's hash. */
async function ffmpeg(recipe: { input: string[]; args: string[] }, ext: string): Promise<string> {
  const hash = createHash("sha256").update(JSON.stringify({ v: 1, ...recipe })).digest("hex").slice(0, 16);
  const file = path.join(FIXTURE_DIR, `dedup-${hash}.${ext}`);
  if (await stat(file).then(() => true, () => false)) return file;
  await mkdir(FIXTURE_DIR, { recursive: true });
  const tmp = path.join(FIXTURE_DIR, `.dedup-${hash}.${process.pid}.${Date.now()}.${ext}`);
  await execa("ffmpeg", ["-hide_banner", "-loglevel", "error", "-y", ...recipe.input, ...recipe.args, tmp]);
  await rename(tmp, file);
  return file;
}

const lavfi = (source: string, seconds = SECONDS, extra: string[] = X264, ext = "mp4") =>
  ffmpeg({ input: ["-f", "lavfi", "-i", source, "-t", String(seconds)], args: extra }, ext);
const derive = (from: string, args: string[], ext = "mp4", before: string[] = []) => ffmpeg({ input: [...before, "-i", from], args }, ext);

/** Grows the smaller file with trailing zeros (MKV readers ignore them) so both have the same size. */
async function sameSize(a: string, b: string): Promise<void> {
  const [sa, sb] = [(await stat(a)).size, (await stat(b)).size];
  if (sa !== sb) await truncate(sa < sb ? a : b, Math.max(sa, sb));
}

export type CorpusItem = { key: string; file: string; partSize?: number };

/** Every file of the corpus, by library key. Keys of a source share its folder. */
export async function makeCorpus(): Promise<CorpusItem[]> {
  const [mandel, life, bars, test, grad, counter, intro, tailA, tailB] = await Promise.all([
    lavfi("mandelbrot=size=320x240:rate=25"),
    lavfi("life=size=320x240:rate=30:mold=10:ratio=0.5:seed=5,negate"),
    lavfi("smptehdbars=size=320x240:rate=25,scroll=h=0.002", SECONDS, [...X264, "-qp", "0"]),
    // Lossless with grain: ~15 MB, so multipart uploads have several parts and partial hashes three pieces.
    lavfi("testsrc2=size=320x240:rate=25,noise=alls=8:allf=t", SECONDS, [...X264, "-qp", "0"]),
    lavfi("gradients=size=320x240:rate=25:seed=11:speed=0.02", SECONDS, X264, "mkv"),
    lavfi("testsrc=size=320x240:rate=25", SECONDS, X264, "mkv"),
    lavfi("sierpinski=size=320x240:rate=25:seed=3", 2.5),
    lavfi("cellauto=size=320x240:rate=25:rule=30:seed=7", 5.5),
    lavfi("cellauto=size=320x240:rate=25:rule=150:seed=9", 5.5),
  ]);
  const concat = (a: string, b: string) => derive(a, ["-filter_complex", "[0:v][1:v]concat=n=2:v=1[v]", "-map", "[v]", ...X264], "mp4", ["-i", b]);
  // Black with a small moving inset: different videos, every frame too dark to be evidence.
  const dark = (inset: string, at: string) => lavfi(`color=c=black:size=320x240:rate=25[bg];${inset}[fg];[bg][fg]overlay=${at}[out0]`);
  const [
    mRemux, mHevc, mSmall, mTrim, mMirror, mClip,
    l25, lAv1, lTrim, lFade, lLetterbox,
    bPillar, bSmall,
    tRemux, tVp9,
    introA, introB, darkA, darkB,
  ] = await Promise.all([
    derive(mandel, ["-c", "copy"], "mkv"),
    derive(mandel, ["-c:v", "libx265", "-preset", "ultrafast", "-x265-params", "log-level=error", "-pix_fmt", "yuv420p", ...GOP]),
    derive(mandel, ["-vf", "scale=160:120", ...X264]),
    derive(mandel, X264, "mp4", ["-ss", "1.5"]),
    derive(mandel, ["-vf", "hflip", ...X264]),
    derive(mandel, ["-t", "3.5", ...X264], "mp4", ["-ss", "2.5"]),
    derive(life, ["-vf", "fps=25", ...X264], "mkv"),
    derive(life, ["-c:v", "libsvtav1", "-preset", "12", "-crf", "58", "-pix_fmt", "yuv420p", ...GOP]),
    derive(life, ["-t", "6.5", ...X264]),
    derive(life, ["-vf", "tpad=start_duration=1.5,fade=in:st=1.5:d=1", ...X264]),
    derive(life, ["-vf", "scale=320:180,pad=320:240:0:30", ...X264]),
    derive(bars, ["-vf", "scale=240:240,pad=320:240:40:0", ...X264], "mov"),
    derive(bars, ["-vf", "scale=192:144", ...X264]),
    derive(test, ["-c", "copy"], "mkv"),
    derive(test, ["-c:v", "libvpx-vp9", "-deadline", "realtime", "-cpu-used", "8", "-b:v", "400k", ...GOP], "webm"),
    concat(intro, tailA),
    concat(intro, tailB),
    dark("testsrc2=size=40x30:rate=25", "x=20+t*10:y=30"),
    dark("cellauto=size=48x24:rate=25:seed=4", "x=260-t*12:y=190"),
  ]);
  await sameSize(grad, counter);
  return [
    { key: "mandel/master.mp4", file: mandel },
    { key: "mandel/renamed-copy.mp4", file: mandel },
    { key: "mandel/remux.mkv", file: mRemux },
    { key: "mandel/hevc.mp4", file: mHevc },
    { key: "mandel/small.mp4", file: mSmall },
    { key: "mandel/trimmed-head.mp4", file: mTrim },
    { key: "mandel/mirrored.mp4", file: mMirror },
    { key: "mandel/clip.mp4", file: mClip },
    { key: "life/master.mp4", file: life },
    { key: "life/25fps.mkv", file: l25 },
    { key: "life/25fps-remux.mp4", file: await derive(l25, ["-c", "copy"]) },
    { key: "life/av1.mp4", file: lAv1 },
    { key: "life/trimmed-tail.mp4", file: lTrim },
    { key: "life/fade-in.mp4", file: lFade },
    { key: "life/letterbox.mp4", file: lLetterbox },
    { key: "bars/master.mp4", file: bars },
    { key: "bars/pillarbox.mov", file: bPillar },
    { key: "bars/small.mp4", file: bSmall },
    // All three go up in parts, of different sizes.
    { key: "test/master.mp4", file: test, partSize: 5 * 1024 ** 2 },
    { key: "test/parts-6m.mp4", file: test, partSize: 6 * 1024 ** 2 },
    { key: "test/parts-8m.mp4", file: test, partSize: 8 * 1024 ** 2 },
    { key: "test/remux.mkv", file: tRemux },
    { key: "test/vp9.webm", file: tVp9 },
    { key: "negatives/gradients.mkv", file: grad },
    { key: "negatives/counter.mkv", file: counter },
    { key: "negatives/intro-a.mp4", file: introA },
    { key: "negatives/intro-b.mp4", file: introB },
    { key: "negatives/dark-a.mp4", file: darkA },
    { key: "negatives/dark-b.mp4", file: darkB },
  ];
}

/** Uploads the corpus and writes each object's manifest record as ingest would. */
export async function uploadCorpus(clients: Clients, items: CorpusItem[], fingerprintCount = 16): Promise<void> {
  await mapLimit(items, 4, async (item) => {
    await uploadFile(clients, item.file, item.key, { partSize: item.partSize ?? 8 * 1024 ** 2 });
    const head = (await headObject(clients, item.key))!;
    const media = await probeMedia(item.file, { timeoutSec: 30, sizeBytes: head.size });
    const dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-corpus-"));
    const { fingerprints, picture } = await sampleVideo(item.file, media, { times: sampleTimes(media.durationSec, fingerprintCount), timeoutSec: 30, dir });
    await rm(dir, { recursive: true, force: true });
    await patchRecord(clients, item.key, {
      size: head.size,
      etag: head.etag,
      lastModified: head.lastModified?.toISOString(),
      checksum: head.checksum,
      state: "probed",
      media,
      fingerprints,
      picture,
    });
  });
}
