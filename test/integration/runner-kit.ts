// Test helpers for the runner: put a real video in the bucket and queue the EncodeJob the strategy
// step would plan for it (probe + fingerprints + decision table), so runner tests need no ingest.
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import type { Clients } from "../../shared/io/clients.ts";
import { decide } from "../../shared/rules/decision.ts";
import { probeMedia } from "../../shared/media/ffprobe.ts";
import { fingerprintVideo, seekBackSec } from "../../shared/media/fingerprint.ts";
import { patchRecord } from "../../shared/io/manifest.ts";
import { encodeJobFor } from "../../shared/steps/strategy.ts";
import type { EncodeJob, FrameFingerprint, MediaInfo } from "../../shared/schemas.ts";
import { headObject, uploadFile } from "../../shared/io/objects.ts";
import type { VideoSpec } from "../kit/fixtures.ts";

/** A source that cannot shrink: heavy grain at 0.7 Mbit/s, which CRF 23 needs far more bits to keep. */
export const GRAIN: VideoSpec = { ext: "mp4", vcodec: "libx264", bitrate: "700k", cbr: true, filter: "noise=alls=80:allf=t", durationSec: 12 };

/** Probe and fingerprints of a local file, once per file and count: tests plan the same fixture under many keys. */
const probed = new Map<string, Promise<{ media: MediaInfo; fingerprints: FrameFingerprint[] }>>();
function probeOnce(file: string, count: number, timeoutSec: number) {
  const id = `${file}\n${count}`;
  if (!probed.has(id)) {
    probed.set(id, (async () => {
      const media = await probeMedia(file, { timeoutSec });
      return { media, fingerprints: await fingerprintVideo(file, { durationSec: media.durationSec, count, timeoutSec, seekBackSec: seekBackSec(media.formatName) }) };
    })());
  }
  return probed.get(id)!;
}

export async function planJob(clients: Clients, file: string, key: string, override: Partial<EncodeJob> = {}): Promise<EncodeJob> {
  await uploadFile(clients, file, key);
  const job = await recordPlan(clients, file, key, override);
  await sendJob(clients, job);
  return job;
}

/** The manifest record the strategy writes for `key` as it is in the bucket, and the job it would send (not sent). */
export async function recordPlan(clients: Clients, file: string, key: string, override: Partial<EncodeJob> = {}): Promise<EncodeJob> {
  const head = await headObject(clients, key);
  if (!head) throw new Error(`${key} is not in the bucket`);
  const { etag, size } = head;
  const { media, fingerprints } = await probeOnce(file, clients.config.fingerprintCount, clients.config.probeTimeoutSec);
  const result = { bucket: clients.config.bucket, key, size, etag, media, fingerprints, dryRun: false, probedAt: new Date().toISOString() };
  const decision = decide(media, key, size);
  const job = { ...encodeJobFor(result, decision, new Date().toISOString()), ...override };
  // The record the strategy writes, for the job as sent: runners act only on jobs that match it.
  const plan = { jobId: job.jobId, outputKey: job.outputKey };
  await patchRecord(clients, key, { size, etag, media, fingerprints, state: "planned", reason: decision.reason, decision: { ...decision, mustSave: job.mustSave, downscale: job.downscale }, plan });
  return job;
}

export async function sendJob(clients: Clients, job: unknown): Promise<void> {
  const QueueUrl = await clients.queueUrl(clients.config.queues.encode);
  await clients.sqs.send(new SendMessageCommand({ QueueUrl, MessageBody: JSON.stringify(job) }));
}
