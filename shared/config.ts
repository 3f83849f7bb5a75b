// One validated configuration, from environment variables and command-line flags (flags win).
import { z } from "zod";
import { badSetting, booleanSetting } from "./settings.ts";
import { normalizePrefix } from "./rules/naming.ts";

const url = z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://localhost:4566" });
const queueName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,80}$/, "must be 1-80 letters, digits, '-' or '_'");

export const Config = z.object({
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, "must be a valid bucket name (3-63 lower-case letters, digits, '.', '-')"),
  prefix: z.string().transform(normalizePrefix),
  backupPrefix: z
    .string()
    .transform(normalizePrefix)
    .refine((p) => p !== "" && !p.startsWith(".reelpress/"), "must be a non-empty folder outside .reelpress/"),
  region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, "must be an AWS region such as us-east-1"),
  endpoint: url.optional(),
  s3Endpoint: url.optional(),
  sqsEndpoint: url.optional(),
  queues: z.object({ ingest: queueName, plan: queueName, encode: queueName, encodeDlq: queueName }),
  fingerprintCount: z.coerce.number().int().min(4, "must be at least 4").max(64, "must be at most 64"),
  probeTimeoutSec: z.coerce.number().positive("must be a positive number of seconds"),
  /**
   * Whether a skipped file is renamed `_skip` (compress v3; the default on buckets) or keeps its name,
   * the record of its version saying skipped (the default on a folder library, whose names media
   * servers and playlists point at). Read where the strategy plans; the plan it records tells runners.
   */
  skipRename: z.boolean(),
});
export type Config = z.infer<typeof Config>;

/**
 * The settings a caller may pass as flags, named as in Config. `folderLibrary`: the library is a folder
 * the embedded store serves in place (`reelpress dev`), not a bucket; it sets defaults, never guessed.
 */
export type ConfigFlags = Partial<Record<"bucket" | "prefix" | "backupPrefix" | "region" | "endpoint", string>> & { folderLibrary?: boolean };

/** Where each setting comes from, so an error can name what the user typed. */
const SOURCES: Record<string, string> = {
  bucket: "REELPRESS_BUCKET / --bucket",
  prefix: "REELPRESS_PREFIX / --prefix",
  backupPrefix: "REELPRESS_BACKUP_PREFIX / --backup-prefix",
  region: "AWS_REGION",
  endpoint: "AWS_ENDPOINT_URL / --endpoint",
  s3Endpoint: "AWS_ENDPOINT_URL_S3",
  sqsEndpoint: "AWS_ENDPOINT_URL_SQS",
  "queues.ingest": "REELPRESS_INGEST_QUEUE",
  "queues.plan": "REELPRESS_PLAN_QUEUE",
  "queues.encode": "REELPRESS_ENCODE_QUEUE",
  "queues.encodeDlq": "REELPRESS_ENCODE_DLQ",
  fingerprintCount: "REELPRESS_FINGERPRINTS",
  probeTimeoutSec: "REELPRESS_PROBE_TIMEOUT",
};

const blankToUndefined = (v: string | undefined) => (v === undefined || v === "" ? undefined : v);

export function loadConfig(env: NodeJS.ProcessEnv = process.env, flags: ConfigFlags = {}): Config {
  const raw = {
    bucket: flags.bucket ?? env.REELPRESS_BUCKET ?? "reelpress",
    prefix: flags.prefix ?? env.REELPRESS_PREFIX ?? "",
    backupPrefix: flags.backupPrefix ?? env.REELPRESS_BACKUP_PREFIX ?? "orig_video_to_delete/",
    region: flags.region ?? blankToUndefined(env.AWS_REGION) ?? blankToUndefined(env.AWS_DEFAULT_REGION) ?? "us-east-1",
    endpoint: blankToUndefined(flags.endpoint ?? env.AWS_ENDPOINT_URL),
    s3Endpoint: blankToUndefined(env.AWS_ENDPOINT_URL_S3),
    sqsEndpoint: blankToUndefined(env.AWS_ENDPOINT_URL_SQS),
    queues: {
      ingest: env.REELPRESS_INGEST_QUEUE ?? "reelpress-ingest",
      plan: env.REELPRESS_PLAN_QUEUE ?? "reelpress-plan",
      encode: env.REELPRESS_ENCODE_QUEUE ?? "reelpress-encode",
      encodeDlq: env.REELPRESS_ENCODE_DLQ ?? "reelpress-encode-dlq",
    },
    fingerprintCount: env.REELPRESS_FINGERPRINTS ?? "16",
    probeTimeoutSec: env.REELPRESS_PROBE_TIMEOUT ?? "60",
    skipRename: booleanSetting(env, "REELPRESS_SKIP_RENAME", !flags.folderLibrary),
  };
  const parsed = Config.safeParse(raw);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0];
  const field = issue.path.join(".");
  const value = field.split(".").reduce<unknown>((o, k) => (o as Record<string, unknown>)?.[k], raw);
  throw badSetting(SOURCES[field] ?? field, value, issue.message);
}

export function s3EndpointOf(config: Config): string | undefined {
  return config.s3Endpoint ?? config.endpoint;
}

export function sqsEndpointOf(config: Config): string | undefined {
  return config.sqsEndpoint ?? config.endpoint;
}
