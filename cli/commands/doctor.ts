// `reelpress doctor`: checks what reelpress needs on this host and says, per check, what to do about it.
import http from "node:http";
import https from "node:https";
import { execa } from "execa";
import type { Clients } from "../../shared/io/clients.ts";
import { headBucket, isNotFound } from "../../shared/io/objects.ts";
import { queueAttribute } from "../../shared/io/queues.ts";
import { readSummaryMarks } from "../../shared/io/summary.ts";
import { s3EndpointOf, sqsEndpointOf } from "../../shared/config.ts";
import { UsageError, errorMessage } from "../../shared/errors.ts";
import { testEncode } from "../../gpu-runner/encoder.ts";
import type { Command } from "../command.ts";
import { clientsFrom } from "../context.ts";
import { bold, green, red, yellow } from "../output.ts";
import { explainRemote, queueRoles } from "../remote.ts";
import { findLocalDev } from "../local-dev.ts";
import type { WatchState } from "../../shared/dashboard/routes.ts";

export type CheckStatus = "ok" | "warn" | "fail" | "skip";
export type Check = { name: string; status: CheckStatus; detail: string; fix?: string };

const MIN_NODE: [number, number] = [22, 18];
const NETWORK_TIMEOUT_MS = 5000;
const INSTALL_FFMPEG = "install ffmpeg (Debian/Ubuntu: apt-get install -y ffmpeg) and make sure it is on the PATH";

function checkNode(): Check {
  const [major, minor] = process.versions.node.split(".").map(Number);
  const ok = major > MIN_NODE[0] || (major === MIN_NODE[0] && minor >= MIN_NODE[1]);
  return ok
    ? { name: "node", status: "ok", detail: process.versions.node }
    : { name: "node", status: "fail", detail: `${process.versions.node} is too old`, fix: "run 'npm install' (it brings Node 22 on linux-x64) or install Node >= 22.18" };
}

async function checkTool(tool: "ffmpeg" | "ffprobe"): Promise<Check> {
  const r = await execa(tool, ["-hide_banner", "-version"], { reject: false, timeout: 10_000 });
  if (r.exitCode === 0) return { name: tool, status: "ok", detail: String(r.stdout).split("\n")[0].replace(/ Copyright.*/, "") };
  const why = r.exitCode === undefined ? "not found on the PATH" : `exits with ${r.exitCode}`;
  return { name: tool, status: "fail", detail: why, fix: INSTALL_FFMPEG };
}

/** A real one-frame encode, as the runner does at start: `ffmpeg -encoders` lists NVENC even without a GPU. */
async function checkEncoders(): Promise<Check[]> {
  const [nvenc, x264] = await Promise.all([testEncode("nvenc"), testEncode("x264")]);
  const gpuFix = "for GPU encoding: an NVIDIA GPU with NVENC, its driver, and an ffmpeg built with nvenc and cuda";
  const nvencCheck: Check =
    nvenc.status === "ok" ? { name: "nvenc", status: "ok", detail: "one-frame h264_nvenc test encode succeeded" }
    : nvenc.status === "busy" ? { name: "nvenc", status: "ok", detail: `present but all sessions busy (${nvenc.reason}); jobs wait for one` }
    : { name: "nvenc", status: x264.status === "ok" ? "warn" : "fail", detail: `not usable (${nvenc.reason}); runners use libx264`, fix: gpuFix };
  const x264Check: Check = x264.status === "ok"
    ? { name: "libx264", status: "ok", detail: "one-frame test encode succeeded" }
    : { name: "libx264", status: nvencCheck.status === "ok" ? "warn" : "fail", detail: `not usable (${x264.reason})`, fix: "use an ffmpeg built with --enable-libx264 (Debian's is)" };
  return [nvencCheck, x264Check];
}

/** Any HTTP answer at all means the endpoint is there (node:http: fetch refuses some ports outright). */
function httpStatusOf(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = (url.startsWith("https:") ? https : http).get(url, { timeout: NETWORK_TIMEOUT_MS }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on("timeout", () => req.destroy(Object.assign(new Error("timed out"), { code: "ETIMEDOUT" })));
    req.on("error", reject);
  });
}

async function checkEndpoint(name: string, url: string, local: boolean): Promise<Check> {
  try {
    return { name, status: "ok", detail: `${url} answers (HTTP ${await httpStatusOf(url)})` };
  } catch (err) {
    const fix = local
      ? "start 'reelpress dev', or point AWS_ENDPOINT_URL (or _S3/_SQS) at a running store"
      : "check this host's way to AWS (DNS, proxy, firewall) and AWS_REGION";
    return { name, status: "fail", detail: `${url} does not answer (${(err as { code?: string }).code ?? errorMessage(err)})`, fix };
  }
}

async function checkCredentials({ s3 }: Clients): Promise<Check> {
  try {
    const creds = await s3.config.credentials();
    const id = creds.accessKeyId;
    return { name: "credentials", status: "ok", detail: `access key ${id.length > 8 ? `${id.slice(0, 4)}…${id.slice(-4)}` : id}` };
  } catch {
    return { name: "credentials", status: "fail", detail: "none found", fix: "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE" };
  }
}

async function checkBucket(clients: Clients): Promise<Check> {
  const { config } = clients;
  try {
    await headBucket(clients, { signal: AbortSignal.timeout(NETWORK_TIMEOUT_MS) });
    return { name: "bucket", status: "ok", detail: `${config.bucket} is there and readable` };
  } catch (err) {
    const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (isNotFound(err)) return { name: "bucket", status: "fail", detail: `${config.bucket} does not exist`, fix: "'reelpress dev' creates it, 'sst deploy' on AWS; or set REELPRESS_BUCKET / --bucket" };
    if (status === 403) return { name: "bucket", status: "fail", detail: `access to ${config.bucket} denied`, fix: "give these credentials s3:ListBucket, GetObject, PutObject and DeleteObject on it" };
    return { name: "bucket", status: "fail", detail: explainRemote(err, config) ?? errorMessage(err) };
  }
}

async function checkQueues({ sqs, config, queueUrl }: Clients): Promise<Check> {
  const missing: string[] = [];
  let dlqWired = false;
  for (const [role, name] of Object.entries(queueRoles(config))) {
    try {
      const url = await queueUrl(name);
      if (role === "encode") {
        const policy = await queueAttribute(sqs, url, "RedrivePolicy", { signal: AbortSignal.timeout(NETWORK_TIMEOUT_MS) });
        dlqWired = (policy ?? "").includes(`:${config.queues.encodeDlq}"`);
      }
    } catch (err) {
      const why = explainRemote(err, config);
      if (why && !why.startsWith("A reelpress queue")) return { name: "queues", status: "fail", detail: why };
      missing.push(name);
    }
  }
  const fix = "'reelpress dev' creates them, 'sst deploy' on AWS; or set REELPRESS_*_QUEUE to the right names";
  if (missing.length) return { name: "queues", status: "fail", detail: `missing: ${missing.join(", ")}`, fix };
  if (!dlqWired) return { name: "queues", status: "warn", detail: `${config.queues.encode} has no redrive policy to ${config.queues.encodeDlq}`, fix: "failed jobs would retry forever; recreate the queues ('reelpress dev' or 'sst deploy')" };
  return { name: "queues", status: "ok", detail: `${Object.values(config.queues).join(", ")}; failed encodes go to ${config.queues.encodeDlq}` };
}

/** GET a small JSON answer; undefined when there is none to be had. */
function getJson(url: string): Promise<unknown> {
  return new Promise((resolve) => {
    const req = http.get(url, { timeout: NETWORK_TIMEOUT_MS }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => {
        try {
          resolve(res.statusCode === 200 ? JSON.parse(Buffer.concat(chunks).toString("utf8")) : undefined);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

/** The folder watch of the `reelpress dev` running here, as its dashboard tells it. */
export async function checkWatches(env: NodeJS.ProcessEnv): Promise<Check> {
  const dev = findLocalDev(env);
  if (!dev?.dashboard) return { name: "watches", status: "skip", detail: "no reelpress dev running on this machine" };
  const watch = (await getJson(new URL("api/watch", dev.dashboard).href)) as WatchState | null | undefined;
  if (!watch || typeof watch.folders !== "number") return { name: "watches", status: "skip", detail: "reelpress dev watches no folder (not serving a library folder)" };
  if (!watch.limited) return { name: "watches", status: "ok", detail: `reelpress dev watches all ${watch.folders} folder(s) of its library` };
  return {
    name: "watches",
    status: "warn",
    detail: String(watch.message ?? `only ${watch.folders} folder(s) are watched`),
    fix: "raise the limit (sudo sysctl fs.inotify.max_user_watches=524288, and the same line in /etc/sysctl.d/ to keep it), then restart reelpress dev",
  };
}

/** Cheap: whether the summary status reads was built, and whether a writer gave up on it since. */
async function checkSummary(clients: Clients): Promise<Check> {
  try {
    const { meta, stale } = await readSummaryMarks(clients);
    if (stale) return { name: "summary", status: "warn", detail: "a writer could not add its change to the library summary, so status may be off", fix: "run 'reelpress reindex'" };
    if (!meta) return { name: "summary", status: "ok", detail: "not built yet: the first 'reelpress status' builds it from the records" };
    return { name: "summary", status: "ok", detail: `built ${meta.built_at}, kept by the writers since; 'reelpress reindex --check' compares it with the records` };
  } catch (err) {
    return { name: "summary", status: "fail", detail: explainRemote(err, clients.config) ?? errorMessage(err) };
  }
}

export async function runChecks(clients: Clients, env: NodeJS.ProcessEnv = process.env): Promise<Check[]> {
  const { config } = clients;
  const s3 = s3EndpointOf(config);
  const sqs = sqsEndpointOf(config);
  const urls: Array<[string, string, boolean]> = [
    ["s3 endpoint", s3 ?? `https://s3.${config.region}.amazonaws.com`, s3 !== undefined],
    ["sqs endpoint", sqs ?? `https://sqs.${config.region}.amazonaws.com`, sqs !== undefined],
  ];
  const endpoints = urls[0][1] === urls[1][1] ? [["endpoint", urls[0][1], urls[0][2]] as const] : urls;
  const [local, endpointChecks, credentials, watches] = await Promise.all([
    Promise.all([checkTool("ffmpeg"), checkTool("ffprobe"), checkEncoders()]),
    Promise.all(endpoints.map(([name, url, local]) => checkEndpoint(name, url, local))),
    checkCredentials(clients),
    checkWatches(env),
  ]);
  const [ffmpeg, ffprobe, encoders] = local;
  const checks: Check[] = [checkNode(), ffmpeg, ffprobe, ...encoders, ...endpointChecks, credentials];
  // The store checks would only repeat "unreachable" or "no credentials".
  if (endpointChecks.some((c) => c.status === "fail") || credentials.status === "fail") {
    checks.push(...["bucket", "queues", "summary"].map((name): Check => ({ name, status: "skip", detail: "not checked (see above)" })));
  } else {
    const [bucket, queues] = await Promise.all([checkBucket(clients), checkQueues(clients)]);
    const summary: Check = bucket.status === "ok" ? await checkSummary(clients) : { name: "summary", status: "skip", detail: "not checked (no bucket)" };
    checks.push(bucket, queues, summary);
  }
  return [...checks, watches];
}

const MARK: Record<CheckStatus, (s: string) => string> = {
  ok: () => green("ok  "),
  warn: () => yellow("warn"),
  fail: () => red("FAIL"),
  skip: () => "skip",
};

export function checkLine(c: Check): string {
  return `${MARK[c.status]("")}  ${c.name.padEnd(12)} ${c.detail}${c.fix && c.status !== "ok" ? `  → ${c.fix}` : ""}`;
}

const command: Command = {
  summary: "Check Node, ffmpeg/ffprobe, NVENC (a real test encode), endpoints, credentials, bucket, queues, the library summary and folder watches.",
  usage: "[--json] [--endpoint URL] [--bucket B]",
  options: { json: { type: "boolean" } },
  examples: [
    "reelpress doctor",
    "reelpress doctor --endpoint http://127.0.0.1:4566",
    "reelpress doctor --json | jq '.checks[] | select(.status == \"fail\")'",
  ],
  async run(values, positionals) {
    if (positionals.length) throw new UsageError(`doctor takes no arguments (got '${positionals[0]}').`);
    const clients = clientsFrom(values);
    const checks = await runChecks(clients);
    const failed = checks.filter((c) => c.status === "fail");
    if (values.json) {
      console.log(JSON.stringify({ ok: failed.length === 0, checks }));
    } else {
      console.log(checks.map(checkLine).join("\n"));
      console.log(failed.length ? red(`\n${failed.length} check(s) failed; fix them as shown after each →.`) : bold("\nAll set: reelpress can run here."));
    }
    return failed.length ? 1 : 0;
  },
};
export default command;
