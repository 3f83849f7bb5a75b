// Lambda for the duplicate report. On its schedule it builds and stores one; over its function URL
// it returns the latest (GET /), or builds one first (GET /?build=1, with quality= and policy=).
import { z } from "zod";
import { makeClients, type Clients } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";
import { parseDedupOptions, type RawDedupOptions } from "../../shared/dedup/options.ts";
import { buildAndStoreReport, readLatestReport } from "../../shared/dedup/run.ts";
import { jsonLog } from "../../shared/io/lambda-sqs.ts";
import type { Log } from "../../shared/log.ts";
import { type Notifier, notifierFromEnv, settlingDeliveries } from "../../shared/io/notify.ts";

const ScheduledEvent = z.object({ "detail-type": z.literal("Scheduled Event") }).loose();
const UrlEvent = z
  .object({
    requestContext: z.object({ http: z.object({ method: z.string() }) }).loose(),
    queryStringParameters: z.record(z.string(), z.string().optional()).optional(),
  })
  .loose();

export type HttpResponse = { statusCode: number; headers: Record<string, string>; body: string };
export type DedupEvent = z.infer<typeof ScheduledEvent> | z.infer<typeof UrlEvent>;

const json = (statusCode: number, body: unknown): HttpResponse => ({ statusCode, headers: { "content-type": "application/json" }, body: JSON.stringify(body) });

/** Settings from the environment (for the schedule), overridden by query parameters. */
function settings(env: NodeJS.ProcessEnv, query: Record<string, string | undefined> = {}): RawDedupOptions {
  return {
    quality: query.quality ?? env.REELPRESS_DEDUP_QUALITY,
    policy: query.policy ?? env.REELPRESS_DEDUP_POLICY,
    durationTolerance: query.duration_tolerance ?? env.REELPRESS_DEDUP_DURATION_TOLERANCE,
    subsetMinRatio: query.subset_min_ratio ?? env.REELPRESS_DEDUP_SUBSET_MIN_RATIO,
    flip: query.flip ?? env.REELPRESS_DEDUP_FLIP,
  };
}

export function makeDedupHandler(clients: () => Clients, env: NodeJS.ProcessEnv = process.env, log: Log = jsonLog, notifier: Notifier = notifierFromEnv(env, log)) {
  const build = async (raw: RawDedupOptions) => {
    const parsed = parseDedupOptions(raw);
    if (!parsed.ok) return { error: parsed.error } as const;
    const before = await readLatestReport(clients());
    const { report, key } = await buildAndStoreReport(clients(), parsed.options);
    const s = report.summary;
    log("dedup.report", { key, groups: s.total_groups, losers: s.total_losers, bytes_reclaimable: s.bytes_reclaimable });
    // Only news is worth a message: a schedule rebuilding the same findings stays quiet.
    if (s.bytes_reclaimable > 0 && (before?.summary.bytes_reclaimable !== s.bytes_reclaimable || before.summary.total_losers !== s.total_losers)) {
      void notifier.send({ event: "report_ready", bucket: clients().config.bucket, report_key: key, groups: s.total_groups, losers: s.total_losers, bytes_reclaimable: s.bytes_reclaimable });
    }
    return { report, key } as const;
  };
  return async (event: unknown): Promise<HttpResponse | { key: string; summary: unknown }> => {
    if (ScheduledEvent.safeParse(event).success) {
      const r = await build(settings(env));
      if ("error" in r) throw new Error(r.error);
      return { key: r.key, summary: r.report.summary };
    }
    const http = UrlEvent.safeParse(event);
    if (!http.success) throw new Error("dedup handler: neither a scheduled event nor a function URL request");
    if (http.data.requestContext.http.method !== "GET") return json(405, { error: "use GET" });
    const query = http.data.queryStringParameters ?? {};
    if (query.build === "1" || query.build === "true") {
      const r = await build(settings(env, query));
      return "error" in r ? json(400, { error: r.error }) : json(200, r.report);
    }
    const latest = await readLatestReport(clients());
    return latest ? json(200, latest) : json(404, { error: "no report yet; request ?build=1 to build one" });
  };
}

let fromEnv: Clients | undefined;
const notifier = notifierFromEnv(process.env, jsonLog);
export const handler = settlingDeliveries(notifier, makeDedupHandler(() => (fromEnv ??= makeClients(loadConfig())), process.env, jsonLog, notifier));
