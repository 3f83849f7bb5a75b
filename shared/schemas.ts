// One schema per message or record, used by producer and consumer alike.
import { z } from "zod";
import { STAGES } from "./rules/job-progress.ts";

/** One S3 event record as S3 (and MinIO) put it on a queue; keys arrive URL-encoded. */
export const S3EventRecord = z.object({
  eventSource: z.string().optional(),
  eventName: z.string(),
  eventTime: z.string().optional(),
  s3: z.object({
    bucket: z.object({ name: z.string() }),
    object: z.object({
      key: z.string(),
      size: z.number().optional(),
      eTag: z.string().optional(),
      sequencer: z.string().optional(),
    }),
  }),
});
export type S3EventRecord = z.infer<typeof S3EventRecord>;

/** The body of an ingest-queue message: S3's notification, or its one-off test event. */
export const S3EventMessage = z.union([
  z.object({ Records: z.array(S3EventRecord) }),
  z.object({ Event: z.literal("s3:TestEvent") }).loose(),
]);
export type S3EventMessage = z.infer<typeof S3EventMessage>;

/** A 64-bit perceptual hash of one frame, at a time in seconds; dark or flat frames are never evidence. */
export const FrameFingerprint = z.object({
  t: z.number().nonnegative(),
  hash: z.string().regex(/^[0-9a-f]{16}$/),
  dark: z.boolean(),
  /** The hash of the horizontally mirrored frame, so a flipped copy can match its source. */
  flip: z.string().regex(/^[0-9a-f]{16}$/).optional(),
});
export type FrameFingerprint = z.infer<typeof FrameFingerprint>;

/** The picture a file really carries, measured on its sampled frames at probe time (dedup reads no more). */
export const PictureStats = z.object({
  /** Share of the nominal resolution, per side, that carries real detail: an upscale of 2× has ½. */
  detail: z.number().positive().max(1),
  /** Mean chroma distance from grey (0–181): near 0 for a grayscale picture. */
  chroma: z.number().nonnegative(),
  /** Share of the edge strength that stays put in every frame (a logo or watermark), on the fingerprint frames. */
  staticEdges: z.number().min(0).max(1),
});
export type PictureStats = z.infer<typeof PictureStats>;

export const VideoStreamInfo = z.object({
  codec: z.string(),
  width: z.number().int().nonnegative(),
  height: z.number().int().nonnegative(),
  pixFmt: z.string().optional(),
  bitDepth: z.number().int().optional(),
  fps: z.number().optional(),
  rotation: z.number().optional(),
  bitrate: z.number().optional(),
});
export type VideoStreamInfo = z.infer<typeof VideoStreamInfo>;

/** What ffprobe told about an object; the decision table reads only this. */
export const MediaInfo = z.object({
  formatName: z.string(),
  durationSec: z.number().nonnegative(),
  bitrate: z.number().nonnegative().optional(),
  video: VideoStreamInfo,
  audio: z.array(z.object({ codec: z.string(), channels: z.number().optional() })),
  subtitles: z.array(z.object({ codec: z.string() })),
  tags: z.record(z.string(), z.string()),
});
export type MediaInfo = z.infer<typeof MediaInfo>;

/** The object's full-object checksum as the store reports it (HeadObject with checksum mode). */
export const ObjectChecksum = z.object({ algorithm: z.string(), type: z.string(), value: z.string() });
export type ObjectChecksum = z.infer<typeof ObjectChecksum>;

/** What identifies one version of one object. */
export const ObjectRef = z.object({
  bucket: z.string(),
  key: z.string(),
  size: z.number().int().nonnegative(),
  etag: z.string(),
});
export type ObjectRef = z.infer<typeof ObjectRef>;

/** probe → strategy, on the plan queue. */
export const ProbeResult = ObjectRef.extend({
  media: MediaInfo,
  fingerprints: z.array(FrameFingerprint),
  checksum: ObjectChecksum.optional(),
  dryRun: z.boolean().default(false),
  probedAt: z.string(),
});
export type ProbeResult = z.infer<typeof ProbeResult>;

export const Action = z.enum(["encode", "skip", "ignore"]);

/**
 * An encode profile as a job carries it (shared/rules/profiles.ts): which pipeline (`base`: one MP4, or
 * MKV stream by stream), and the video encoder settings. Parsed strictly again where it enters.
 */
export const EncodeProfile = z.object({
  name: z.string().regex(/^[a-z][a-z0-9-]{0,31}$/),
  base: z.enum(["compat", "archive"]),
  encoder: z.enum(["x264", "x265"]),
  quality: z.number().int().min(0).max(51),
  preset: z.enum(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow", "placebo"]).optional(),
  params: z.record(z.string(), z.string()).optional(),
});
export type EncodeProfile = z.infer<typeof EncodeProfile>;

/** What the decision table says for one object, and why. */
export const Decision = z.object({
  action: Action,
  downscale: z.boolean(),
  /** Fraction the output must save, or 0 when any size is fine (compatibility encodes). */
  mustSave: z.number().min(0).max(1),
  reason: z.string(),
  /** The profile an encode row names; absent in records written before profiles (compat). */
  profile: EncodeProfile.optional(),
});
export type Decision = z.infer<typeof Decision>;

/** strategy → gpu-runner, on the encode queue. */
export const EncodeJob = ObjectRef.extend({
  jobId: z.string(),
  outputKey: z.string(),
  downscale: z.boolean(),
  mustSave: z.number().min(0).max(1),
  reason: z.string(),
  durationSec: z.number().nonnegative(),
  /** Source fingerprints: the runner samples its output at the same times and must match. */
  fingerprints: z.array(FrameFingerprint),
  plannedAt: z.string(),
  /** The profile and settings to encode with, as the strategy recorded them; absent means compat. */
  profile: EncodeProfile.optional(),
});
export type EncodeJob = z.infer<typeof EncodeJob>;

/** gpu-runner → gpu-runner, on the encode queue: one chunk of a chunked job; the job rides along so any runner can merge. */
export const ChunkJob = EncodeJob.extend({
  chunk: z.object({ index: z.number().int().nonnegative(), total: z.number().int().positive() }),
  /** How often a runner without the job's encoder has put this chunk back on the queue for one with it. */
  passedOn: z.number().int().nonnegative().optional(),
});
export type ChunkJob = z.infer<typeof ChunkJob>;

/**
 * What the encode queue carries, told apart by `chunk`: a whole job, or one chunk of a split job (the
 * chunk whose message the merge claim names also merges). A malformed `chunk` makes no whole job.
 */
export type EncodeQueueMessage = { kind: "encode"; job: EncodeJob } | { kind: "chunk"; job: ChunkJob };
export const EncodeQueueMessage = EncodeJob.extend({ chunk: ChunkJob.shape.chunk.optional(), passedOn: ChunkJob.shape.passedOn }).transform(
  ({ chunk, passedOn, ...job }): EncodeQueueMessage =>
    chunk ? { kind: "chunk", job: { ...job, chunk, ...(passedOn !== undefined && { passedOn }) } } : { kind: "encode", job },
);

/** A chunked job's plan, written once (If-None-Match) by the runner that split the source; never changed. */
export const ChunkPlan = z.object({
  jobId: z.string(),
  etag: z.string(),
  /** One encoder and one setting for every chunk: streams from different encoders cannot be joined. */
  encoder: z.enum(["nvenc", "x264"]),
  x264Preset: z.string(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** The source's container start time: chunk times are the source's own timestamps. */
  formatStartSec: z.number(),
  chunks: z.array(z.object({
    index: z.number().int().nonnegative(),
    startSec: z.number(),
    endSec: z.number(),
    frames: z.number().int().positive(),
    segmentKey: z.string(),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
  })),
  createdAt: z.string(),
});
export type ChunkPlan = z.infer<typeof ChunkPlan>;

/** Created once (If-None-Match) when the last chunk is stored: the chunk message it names, and only that one, merges. */
export const MergeClaim = z.object({ messageId: z.string(), index: z.number().int().nonnegative(), runnerId: z.string(), chunks: z.number().int().positive(), claimedAt: z.string() });
export type MergeClaim = z.infer<typeof MergeClaim>;

/** Written (If-None-Match, or If-Match over a stale one) before a version's event is sent to the ingest queue. */
export const QueuedMark = z.object({ key: z.string(), size: z.number().int().nonnegative(), etag: z.string(), at: z.string() });
export type QueuedMark = z.infer<typeof QueuedMark>;

/** The first scan's progress (.reelpress/scan.json), written every few seconds by the `dev` that runs it. */
export const ScanProgress = z.object({
  startedAt: z.string(),
  updatedAt: z.string(),
  /** Set when the listing is done and every video it found has been probed. */
  finishedAt: z.string().optional(),
  listed: z.boolean(),
  found: z.number().int().nonnegative(),
  /** Sent to the ingest queue by this scan; the others were queued or recorded already. */
  queued: z.number().int().nonnegative(),
  probed: z.number().int().nonnegative(),
  planned: z.number().int().nonnegative(),
  encoded: z.number().int().nonnegative(),
  /** Recent (time in ms, probed) pairs, for the rate. */
  samples: z.array(z.tuple([z.number(), z.number().int().nonnegative()])).max(64),
});
export type ScanProgress = z.infer<typeof ScanProgress>;
const QualityScore = z.object({
  /** Mean SSIM (Y, U and V weighted as ffmpeg's `All`) of the frames compared, 0–1. */
  ssim: z.number().min(0).max(1),
  /** PSNR in dB of the mean squared error of the frames compared, capped at 100 (identical frames). */
  psnr: z.number().nonnegative(),
  frames: z.number().int().nonnegative(),
});

/** How an output compares with its source, measured by the runner before publishing (shared/media/quality.ts). */
export const Quality = QualityScore.extend({
  /** Measured on a sample rather than every frame: spread-out windows (`sampledSec` of them) or one frame in `sampledEvery`; docs state the bound. */
  sampled: z.boolean(),
  sampledSec: z.number().nonnegative().optional(),
  sampledEvery: z.number().int().positive().optional(),
  /** A chunked job's figures per chunk, so one bad chunk shows. */
  chunks: z.array(QualityScore.extend({ index: z.number().int().nonnegative() })).optional(),
});
export type Quality = z.infer<typeof Quality>;

export const ManifestState = z.enum(["probed", "planned", "skipped", "encoding", "compressed", "failed", "ignored"]);
export type ManifestState = z.infer<typeof ManifestState>;

/** The hash manifest: one JSON record per library object, at .reelpress/manifest/<key>.json. */
export const ManifestRecord = z.object({
  key: z.string(),
  size: z.number().int().nonnegative(),
  etag: z.string(),
  lastModified: z.string().optional(),
  state: ManifestState,
  reason: z.string().optional(),
  error: z.string().optional(),
  checksum: ObjectChecksum.optional(),
  media: MediaInfo.optional(),
  fingerprints: z.array(FrameFingerprint).optional(),
  picture: PictureStats.optional(),
  /** A still from the probe's frames, for reports of files the runner never encoded. */
  thumbnailKey: z.string().optional(),
  decision: Decision.optional(),
  /**
   * The job the strategy queued for this version: a runner acts only on a message that matches it.
   * `skipRename: false`: if the encode cannot save enough, the file keeps its name (absent: `_skip`).
   */
  plan: z.object({ jobId: z.string(), outputKey: z.string(), skipRename: z.boolean().optional() }).optional(),
  /** The live claim while `encoding`: who holds the job, for which attempt (`claim`), until when. */
  runner: z.object({ id: z.string(), jobId: z.string(), claim: z.string(), leaseUntil: z.string() }).optional(),
  /** Set on the output's record: where it came from and what it saved. */
  /** `backupEtag`: the backup's version when the publish proved it (purge deletes only that version). */
  /** `backupPurgedAt`: when a purge removed that backup (status stops counting its bytes). */
  source: z.object({ key: z.string(), size: z.number(), etag: z.string(), backupKey: z.string(), backupEtag: z.string().optional(), backupPurgedAt: z.string().optional() }).optional(),
  sha256: z.string().optional(),
  partialHash: z.string().optional(),
  montageKey: z.string().optional(),
  /** The small AV1/Opus WebM a browser plays (shared/media/preview.ts). */
  previewKey: z.string().optional(),
  /** Set on an output's record, and on a source kept because its output fell below REELPRESS_MIN_SSIM. */
  quality: Quality.optional(),
  savedBytes: z.number().optional(),
  /** Set on the output's record: the profile and the encoder arguments it was made with, and per stream what was done. */
  encode: z.object({
    profile: EncodeProfile,
    /** The runner's encoder and its video options; unknown when a later attempt finished a published output. */
    encoder: z.enum(["nvenc", "x264"]).optional(),
    videoArgs: z.array(z.string()).optional(),
    streams: z.array(z.object({ index: z.number().int().nonnegative(), type: z.string(), action: z.enum(["encoded", "kept"]), reason: z.string() })).optional(),
  }).optional(),
  /** Set on an output's record by `scan --reencode`: its original was restored at `restoredKey` for `profile`. */
  reencode: z.object({ profile: z.string(), restoredKey: z.string(), at: z.string() }).optional(),
  /** Set on the output's record when it was encoded in chunks: how many. */
  chunks: z.number().int().positive().optional(),
  updatedAt: z.string(),
});
export type ManifestRecord = z.infer<typeof ManifestRecord>;

const ReportEntry = z.object({ key: z.string(), uri: z.string(), size: z.number(), reason: z.string() });
export const DedupGroup = z.object({
  group_id: z.string(),
  type: z.enum(["exact", "visual", "subset", "audio"]),
  winner: ReportEntry.extend({ etag: z.string().optional() }),
  losers: z.array(ReportEntry.extend({ etag: z.string().optional(), distance: z.number().optional() })),
  metadata: z.record(z.string(), z.unknown()),
});
export type DedupGroup = z.infer<typeof DedupGroup>;

export const DedupReport = z.object({
  groups: z.array(DedupGroup),
  summary: z
    .object({
      total_groups: z.number(),
      total_losers: z.number(),
      bytes_reclaimable: z.number(),
      scan_time: z.string(),
    })
    .loose(),
});
export type DedupReport = z.infer<typeof DedupReport>;

/** What a runner publishes about itself (see shared/io/runners.ts); part of `status --json`. */
export const RunnerStatus = z.object({
  id: z.string(),
  encoder: z.string(),
  concurrency: z.number().int().positive(),
  /** REELPRESS_RUNNER_HOURS as set, when the runner has an encode window. */
  hours: z.string().optional(),
  /** Set while the window is closed: when the runner takes jobs again (ISO 8601). */
  paused_until: z.string().optional(),
  jobs: z.array(z.object({
    key: z.string(),
    job_id: z.string(),
    started_at: z.string(),
    duration_sec: z.number().nonnegative(),
    out_time_sec: z.number().nonnegative(),
    speed: z.number().optional(),
    /** A chunk of a chunked job: chunks stored so far of the job's total. */
    chunks_done: z.number().int().nonnegative().optional(),
    chunks_total: z.number().int().positive().optional(),
    /** Where the job stands (read, split, chunks, merge, publish; or encode, publish): one percentage for the whole job, and its ETA. */
    stage: z.enum(STAGES).optional(),
    percent: z.number().int().min(0).max(100).optional(),
    /** Seconds left at the current stage's pace; absent while that is unknown. */
    eta_sec: z.number().int().nonnegative().optional(),
  })),
  updated_at: z.string(),
});
export type RunnerStatus = z.infer<typeof RunnerStatus>;

const CountBytes = z.object({ count: z.number().int().nonnegative(), bytes: z.number().nonnegative() });
export const StatusSummary = z.object({
  compressed: CountBytes,
  skipped: CountBytes,
  in_progress: CountBytes,
  remaining: CountBytes,
  failed: CountBytes,
  saved_bytes: z.number(),
  /** What the bucket holds now: `saved_bytes` is not freed while backups keep the originals. */
  disk: z.object({
    total_bytes: z.number().nonnegative(),
    library_bytes: z.number().nonnegative(),
    backup_bytes: z.number().nonnegative(),
    system_bytes: z.number().nonnegative(),
    /** Backups tied to a verified output, which `reelpress purge` may remove. */
    reclaimable_bytes: z.number().nonnegative(),
  }),
  queues: z.record(z.string(), z.object({ visible: z.number(), in_flight: z.number() })),
  runners: z.array(RunnerStatus),
  /** Present once an output was measured: its SSIM and PSNR over the library, the lowest, and outputs refused by REELPRESS_MIN_SSIM. */
  quality: z.object({
    measured: z.number().int().nonnegative(),
    ssim_mean: z.number().min(0).max(1).optional(),
    ssim_min: z.number().min(0).max(1).optional(),
    psnr_mean: z.number().nonnegative().optional(),
    lowest_key: z.string().optional(),
    refused: z.number().int().nonnegative(),
  }).optional(),
});
export type StatusSummary = z.infer<typeof StatusSummary>;
