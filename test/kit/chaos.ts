// Many runners, every job delivered twice, kill -9 at random instants: after each kill and at the end of
// every trial, check that no original was lost and no derived key was overwritten. One seeded generator
// decides everything random, so a failing seed replays the same trial plan.
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { PutObjectCommand, GetObjectCommand, ListObjectsV2Command } from "@aws-sdk/client-s3";
import { GetQueueAttributesCommand, SetQueueAttributesCommand } from "@aws-sdk/client-sqs";
import { execa } from "execa";
import { backupKeyFor, skipKeyFor } from "../../shared/rules/naming.ts";
import type { EncodeJob } from "../../shared/schemas.ts";
import { isConditionFailed } from "../../shared/io/objects.ts";
import { GRAIN, recordPlan, sendJob } from "../integration/runner-kit.ts";
import { forgeSameCrc64 } from "./forge-crc.ts";
import { REELPRESS } from "./cli.ts";
import { makeVideo, videoFixture } from "./fixtures.ts";
import type { TestStack } from "./stack.ts";
import { until } from "./wait.ts";
import { seededRandom } from "./random.ts";

/**
 * Whether the store refuses a conditional write that must fail. Chaos proves nothing against a store
 * that ignores If-None-Match (fauxqs): there every race "wins" and nothing is checked.
 */
export async function honoursConditions(stack: TestStack): Promise<boolean> {
  const key = `.reelpress/conditions-probe/${randomBytes(4).toString("hex")}`;
  await stack.s3.send(new PutObjectCommand({ Bucket: stack.config.bucket, Key: key, Body: "1" }));
  try {
    await stack.s3.send(new PutObjectCommand({ Bucket: stack.config.bucket, Key: key, Body: "2", IfNoneMatch: "*" }));
    return false;
  } catch (err) {
    if (isConditionFailed(err)) return true;
    throw err;
  }
}

export type TrialResult = {
  trial: number; runners: number; kills: number; killsMidJob: number; duplicates: number; altered: number; forged: number; jobs: number; originalsLost: number; seconds: number; violations: string[];
};

/** A runner's JSON log lines so far (a line cut short by a kill is left out). */
function eventsOf(stderr: string): Array<{ event: string; seconds?: number }> {
  return stderr.split("\n").flatMap((l) => {
    try {
      return l.startsWith("{") ? [JSON.parse(l)] : [];
    } catch {
      return [];
    }
  });
}

/** The duration of the last job a runner finished, or `fallback`. */
function learnJobMs(stderr: string, fallback: number): number {
  const done = eventsOf(stderr).filter((e) => e.event === "job_compressed" && typeof e.seconds === "number");
  return done.length ? Math.round(done.at(-1)!.seconds! * 1000) : fallback;
}

/** Whether a runner has a job started and not ended. */
function inJob(stderr: string): boolean {
  const events = eventsOf(stderr).map((e) => e.event);
  const ended = events.filter((e) => /^job_(compressed|skipped|dropped|held|failed)$/.test(e)).length;
  return events.filter((e) => e === "job_started").length > ended;
}

type Original = { key: string; sha: string; job: EncodeJob };

const sha256 = (data: Buffer) => createHash("sha256").update(data).digest("hex");

/** Sources of one trial: a new key (avi → mp4), an in-place replacement (mp4 → mp4), and one that cannot shrink (→ _skip). */
const SOURCES = [
  { name: "a.avi", video: () => videoFixture("avi_mpeg4") },
  { name: "v.mp4", video: () => videoFixture("mp4_hevc8") },
  { name: "g.mp4", video: () => makeVideo({ ...GRAIN, durationSec: 4 }) },
];

export type ChaosOptions = {
  seed: number;
  trials: number;
  /** How long a trial may take to drain after its last kill. */
  drainTimeoutMs?: number;
  onTrial?(r: TrialResult): void;
};

export async function runChaos(stack: TestStack, opts: ChaosOptions): Promise<TrialResult[]> {
  const encodeUrl = await stack.queueUrl(stack.config.queues.encode);
  // Being killed, or handing a duplicate back, is not failing: no job may be parked in the dead-letter queue.
  const dlqArn = (await stack.sqs.send(new GetQueueAttributesCommand({ QueueUrl: await stack.queueUrl(stack.config.queues.encodeDlq), AttributeNames: ["QueueArn"] }))).Attributes!.QueueArn;
  await stack.sqs.send(new SetQueueAttributesCommand({ QueueUrl: encodeUrl, Attributes: { RedrivePolicy: JSON.stringify({ deadLetterTargetArn: dlqArn, maxReceiveCount: "1000" }) } }));
  // Killed runners leave work folders behind: in a folder of their own, not in other tests' way.
  const tmp = await mkdtemp(path.join(os.tmpdir(), "reelpress-chaos-"));
  const env = { ...stack.env, REELPRESS_RUNNER_VISIBILITY: "3", REELPRESS_X264_PRESET: "ultrafast", TMPDIR: tmp };
  try {
    return await trials(stack, opts, env);
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

async function trials(stack: TestStack, opts: ChaosOptions, env: NodeJS.ProcessEnv): Promise<TrialResult[]> {
  const random = seededRandom(opts.seed);
  const { bucket, backupPrefix } = stack.config;
  const encodeUrl = await stack.queueUrl(stack.config.queues.encode);

  const list = async (prefix: string) => {
    const out: Array<{ key: string; etag: string; size: number }> = [];
    let token: string | undefined;
    do {
      const page = await stack.s3.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) out.push({ key: o.Key!, etag: o.ETag!, size: o.Size! });
      token = page.NextContinuationToken;
    } while (token);
    return out;
  };

  const results: TrialResult[] = [];
  // How long a job takes here, learnt as trials go, so that kills spread over a whole job.
  let jobMs = 2000;
  for (let trial = 1; trial <= opts.trials; trial++) {
    const started = Date.now();
    const prefix = `chaos/t${trial}/`;
    const violations: string[] = [];
    const lost = new Set<string>();
    // Keys that hold something no writer may replace, with the ETag first seen there.
    const frozen = new Map<string, string>();

    // Derived names already taken by other files: the new backups and skips must go to the next free name.
    // They stand for the originals of earlier files of the same name, so they count as originals too.
    // A hostile writer's are the worst: the original's size and CRC64NVME, other bytes.
    const occupants: string[] = [];
    const kept: Array<{ key: string; sha: string }> = [];
    const put = (key: string, body: Buffer) => stack.s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ChecksumAlgorithm: "CRC64NVME" }));
    let forged = 0;
    const sources = await Promise.all(SOURCES.map(async (src) => ({ key: prefix + src.name, file: await src.video() })));
    for (const src of sources) {
      const data = await readFile(src.file);
      for (const key of [backupKeyFor(src.key, backupPrefix), skipKeyFor(src.key)]) {
        const dice = random();
        if (dice < 0.4) continue;
        const body = dice < 0.7 ? randomBytes(2048) : await forgeSameCrc64(data);
        if (body.length === data.length) forged++;
        const r = await put(key, body);
        frozen.set(key, r.ETag!);
        occupants.push(key);
        kept.push({ key, sha: sha256(body) });
      }
    }
    const originals: Original[] = [];
    for (const src of sources) {
      const data = await readFile(src.file);
      // With the store's CRC64NVME, as S3 gives every object: what a forged backup imitates.
      await put(src.key, data);
      const job = await recordPlan(stack, src.file, src.key);
      originals.push({ key: job.key, sha: sha256(data), job });
      kept.push({ key: job.key, sha: sha256(data) });
      // Every job is delivered twice, and once more altered by someone who can reach the queue.
      await sendJob(stack, job);
      await sendJob(stack, job);
      await sendJob(stack, { ...job, outputKey: `${prefix}attacker/${src.key.slice(prefix.length)}.mp4` });
    }

    const seen = new Map<string, { sha: string; metadata: Record<string, string> }>();
    /** Bytes and metadata of exactly the listed version; undefined when it changed or went since the listing. */
    const contentOf = async (o: { key: string; etag: string }) => {
      const id = `${o.key}\n${o.etag}`;
      if (!seen.has(id)) {
        try {
          const r = await stack.s3.send(new GetObjectCommand({ Bucket: bucket, Key: o.key, IfMatch: o.etag }));
          seen.set(id, { sha: sha256(Buffer.from(await r.Body!.transformToByteArray())), metadata: r.Metadata ?? {} });
        } catch (err) {
          if (isConditionFailed(err) || (err as { name?: string }).name === "NoSuchKey") return undefined;
          throw err;
        }
      }
      return seen.get(id);
    };
    /** One listing whose every object could be read as listed (runners keep working meanwhile). */
    const snapshot = async () => {
      for (let attempt = 1; ; attempt++) {
        const objects = [...(await list(prefix)), ...(await list(`${backupPrefix}${prefix}`))];
        const read = await Promise.all(objects.map(async (o) => ({ ...o, content: await contentOf(o) })));
        if (read.every((o) => o.content)) return read.map((o) => ({ ...o, ...o.content! }));
        if (attempt === 20) throw new Error("the bucket kept changing under the check");
      }
    };
    /** What must hold at any instant, whatever the runners were doing when one died. */
    const check = async (when: string) => {
      const objects = await snapshot();
      for (const [key, etag] of frozen) {
        const now = objects.find((o) => o.key === key);
        if (!now) violations.push(`${when}: ${key} was removed`);
        else if (now.etag !== etag) violations.push(`${when}: ${key} was overwritten`);
      }
      for (const orig of kept) {
        if (!objects.some((o) => o.sha === orig.sha) && !lost.has(orig.key)) {
          lost.add(orig.key);
          violations.push(`${when}: the original of ${orig.key} is nowhere, byte for byte`);
        }
      }
      for (const o of objects) {
        const derived = o.key.startsWith(backupPrefix) || occupants.includes(o.key);
        const original = originals.some((orig) => orig.sha === o.sha);
        const output = o.metadata["reelpress-state"] === "compressed_h264_v4";
        if (!derived && !original) {
          if (!output) violations.push(`${when}: ${o.key} is neither an original nor a tagged output`);
          else if (o.metadata["reelpress-sha256"] !== o.sha) violations.push(`${when}: ${o.key} is a partial output (its bytes are not the SHA-256 it names)`);
        }
        // Backups, skips and outputs stay as they are from now on; an original at its own key may be replaced by its output.
        if (!originals.some((orig) => orig.key === o.key && orig.sha === o.sha)) frozen.set(o.key, frozen.get(o.key) ?? o.etag);
      }
      return objects;
    };

    const depth = async () => {
      const a = (await stack.sqs.send(new GetQueueAttributesCommand({ QueueUrl: encodeUrl, AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"] }))).Attributes ?? {};
      return Number(a.ApproximateNumberOfMessages ?? 0) + Number(a.ApproximateNumberOfMessagesNotVisible ?? 0);
    };
    const runnerCount = 2 + Math.floor(random() * 2);
    const start = () => {
      const child = execa(REELPRESS, ["runner", "--encoder", "x264", "--concurrency", "2"], { env, reject: false });
      let log = "";
      child.stderr!.on("data", (d: Buffer) => (log += d.toString()));
      return { child, log: () => log };
    };
    const runners = Array.from({ length: runnerCount }, start);
    const kills = 1 + Math.floor(random() * runnerCount);
    let killsMidJob = 0;
    for (let k = 0; k < kills; k++) {
      const i = Math.floor(random() * runners.length);
      const fraction = random();
      // Kills are aimed inside jobs (encode, verify, backup, upload, manifest, delete), not at idle runners.
      const busy = await until(`runner ${i} to take a job`, async () => (inJob(runners[i].log()) ? "busy" : (await depth()) === 0 && "idle"), 30_000, 50);
      if (busy === "busy") await new Promise((r) => setTimeout(r, Math.floor(fraction * jobMs)));
      runners[i].child.kill("SIGKILL");
      if (inJob(String((await runners[i].child).stderr))) killsMidJob++;
      jobMs = learnJobMs(runners[i].log(), jobMs);
      await check(`trial ${trial}, after kill ${k + 1}`);
      runners[i] = start();
    }
    try {
      await until(`trial ${trial} to drain`, async () => (await depth()) === 0, opts.drainTimeoutMs ?? 90_000, 250);
    } catch (err) {
      violations.push((err as Error).message);
    }
    for (const r of runners) r.child.kill("SIGKILL");
    await Promise.all(runners.map((r) => r.child));

    const objects = await check(`trial ${trial}, at the end`);
    for (const o of objects.filter((o) => o.key.startsWith(`${prefix}attacker/`))) violations.push(`trial ${trial}: an altered job was obeyed: ${o.key}`);
    for (const orig of originals) {
      const outputs = objects
        .filter((o) => o.metadata["reelpress-source-key"] === encodeURIComponent(orig.key) && o.metadata["reelpress-source-etag"] === orig.job.etag)
        .map((o) => o.key);
      const skipped = objects.some((o) => !o.key.startsWith(backupPrefix) && o.key !== orig.key && o.sha === orig.sha);
      if (outputs.length > 1) violations.push(`trial ${trial}: ${orig.key} has ${outputs.length} tagged outputs (${outputs.join(", ")})`);
      if (outputs.length === 0 && !skipped) violations.push(`trial ${trial}: ${orig.key} was neither compressed nor skipped`);
    }
    const result = { trial, runners: runnerCount, kills, killsMidJob, duplicates: originals.length, altered: originals.length, forged, jobs: originals.length, originalsLost: lost.size, seconds: Math.round((Date.now() - started) / 100) / 10, violations };
    results.push(result);
    opts.onTrial?.(result);
  }
  return results;
}

/** The figures a reader wants: trials, kills, duplicates, and originals lost (which must be 0). */
export function chaosTable(seed: number, results: TrialResult[]): string {
  const sum = (f: (r: TrialResult) => number) => results.reduce((n, r) => n + f(r), 0);
  const rows = [
    ["seed", String(seed)],
    ["trials", String(results.length)],
    ["runner processes", `${Math.min(...results.map((r) => r.runners))}–${Math.max(...results.map((r) => r.runners))} per trial, concurrency 2`],
    ["jobs", String(sum((r) => r.jobs))],
    ["duplicate deliveries", String(sum((r) => r.duplicates))],
    ["altered jobs sent (hostile)", String(sum((r) => r.altered))],
    ["CRC-forged files at backup or skip names", String(sum((r) => r.forged))],
    ["kill -9", `${sum((r) => r.kills)} (${sum((r) => r.killsMidJob)} with a job under way)`],
    ["originals lost", String(sum((r) => r.originalsLost))],
    ["violations", String(sum((r) => r.violations.length))],
    ["seconds", String(Math.round(sum((r) => r.seconds)))],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join("\n");
}
