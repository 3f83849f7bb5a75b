import { loadConfig } from "../../shared/config.ts";
import { makeClients } from "../../shared/io/clients.ts";
import { startEmbedded, type Embedded } from "../embedded.ts";
import { ensureResources } from "../../shared/io/resources.ts";
import { UsageError, UserError, errorMessage } from "../../shared/errors.ts";
import type { Command } from "../command.ts";
import type { StoreCredential } from "../../store/index.ts";
import { startPipeline } from "../pipeline.ts";
import { requireMediaTools, startDevServices } from "../dev-services.ts";
import { bold, dim, logEvent } from "../output.ts";

/**
 * Uploader credentials (REELPRESS_UPLOADER_ACCESS_KEY_ID / _SECRET_ACCESS_KEY) for people and cameras that
 * add videos: they read and write the library, but never the pipeline's own keys or the backups, and never
 * call the queues.
 */
function uploaderOf(env: NodeJS.ProcessEnv, pipeline: { accessKeyId: string } | undefined, backupPrefix: string): StoreCredential | undefined {
  const accessKeyId = env.REELPRESS_UPLOADER_ACCESS_KEY_ID;
  const secretAccessKey = env.REELPRESS_UPLOADER_SECRET_ACCESS_KEY;
  if (!accessKeyId && !secretAccessKey) return undefined;
  if (!accessKeyId || !secretAccessKey) throw new UserError("Set both REELPRESS_UPLOADER_ACCESS_KEY_ID and REELPRESS_UPLOADER_SECRET_ACCESS_KEY, or neither.");
  if (accessKeyId === pipeline?.accessKeyId) throw new UserError("REELPRESS_UPLOADER_ACCESS_KEY_ID must differ from AWS_ACCESS_KEY_ID: the uploader's key may not do what the pipeline's does.");
  return { accessKeyId, secretAccessKey, refusedWritePrefixes: [".reelpress/", backupPrefix] };
}

const command: Command = {
  summary: "Run everything on this machine: a library folder served over S3, embedded queues, functions, one runner and a dashboard.",
  usage: "[--library DIR] [--data-dir DIR] [--port N] [--host ADDR] [--dashboard-port N] [--no-runner] [--endpoint URL]",
  options: {
    library: { type: "string" },
    "data-dir": { type: "string", default: ".reelpress-data" },
    port: { type: "string", default: "4566" },
    host: { type: "string", default: "127.0.0.1" },
    "no-runner": { type: "boolean" },
    "dashboard-port": { type: "string" },
  },
  examples: [
    "reelpress dev",
    "reelpress dev --library /mnt/nas/videos   # serve a NAS share in place",
    "AWS_ACCESS_KEY_ID=me AWS_SECRET_ACCESS_KEY=secret reelpress dev --library /srv/videos --host 0.0.0.0",
    "REELPRESS_UPLOADER_ACCESS_KEY_ID=cam REELPRESS_UPLOADER_SECRET_ACCESS_KEY=… AWS_ACCESS_KEY_ID=me AWS_SECRET_ACCESS_KEY=secret reelpress dev --host 0.0.0.0",
    "AWS_ENDPOINT_URL_S3=http://localhost:9000 AWS_ENDPOINT_URL_SQS=http://localhost:4566 reelpress dev   # MinIO + LocalStack",
  ],
  async run(values) {
    const port = Number(values.port);
    if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0-65535, not '${values.port}'.`);
    const env = process.env;
    await requireMediaTools();
    const external = Boolean(values.endpoint ?? (env.AWS_ENDPOINT_URL || env.AWS_ENDPOINT_URL_S3));
    let embedded: Embedded | undefined;
    if (!external) {
      try {
        const credentials = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY } : undefined;
        const settings = loadConfig(env, { bucket: values.bucket as string | undefined, region: values.region as string | undefined });
        embedded = await startEmbedded({
          dataDir: String(values["data-dir"]),
          library: values.library as string | undefined,
          port,
          host: String(values.host),
          bucket: settings.bucket,
          region: settings.region,
          credentials,
          uploader: uploaderOf(env, credentials, settings.backupPrefix),
        });
      } catch (err) {
        const msg = errorMessage(err);
        if (msg.includes("EADDRINUSE")) throw new UserError(`Port ${port} is in use (another reelpress dev?); pick another with --port N, or --port 0 for any free one.`);
        throw err;
      }
    }
    let config, pipeline, services;
    try {
      config = loadConfig(env, {
        bucket: values.bucket as string | undefined,
        endpoint: embedded?.endpoint ?? (values.endpoint as string | undefined),
        region: values.region as string | undefined,
        // Said here, not guessed: the embedded store serves a folder in place, whose names skips keep.
        folderLibrary: embedded !== undefined,
      });
      const clients = makeClients(config);
      await ensureResources(clients);
      pipeline = await startPipeline(clients, { embedded, runner: !values["no-runner"] });
      // The dashboard has no login: it stays on this machine whatever --host says (reach it over SSH).
      const feeds = { store: embedded?.store, watching: pipeline.watching, log: logEvent };
      services = await startDevServices(clients, { s3Port: port, host: "127.0.0.1", dashboardPort: values["dashboard-port"] as string | undefined, feeds });
    } catch (err) {
      // A bad setting must end `dev`, not leave the folder store and queues serving with nothing behind it.
      await pipeline?.stop();
      await embedded?.stop();
      throw err;
    }
    const endpoint = embedded?.endpoint ?? config.s3Endpoint ?? config.endpoint;
    console.log(
      [
        `${bold("reelpress dev")} is up${embedded ? ` (queues in ${values["data-dir"]})` : ""}.`,
        ...(embedded ? [`  library   ${embedded.library}`] : []),
        `  skips     ${config.skipRename ? "renamed _skip (REELPRESS_SKIP_RENAME=false keeps names)" : "keep their names, the manifest says skipped (REELPRESS_SKIP_RENAME=true renames them _skip)"}`,
        ...(embedded?.imported.moved ? [`  imported  ${embedded.imported.moved} object(s) from the old embedded store into the library`] : []),
        ...(embedded?.imported.left.length ? [`  not imported (name taken in the library): ${embedded.imported.left.length}, kept in ${values["data-dir"]}/s3-not-imported`] : []),
        `  endpoint  ${endpoint}`,
        `  bucket    ${config.bucket}`,
        `  queues    ${Object.values(config.queues).join(", ")}`,
        `  dashboard ${services.dashboardUrl}`,
        ...(pipeline.scans ? [`  scan      the videos already there are queued in the background; 'reelpress status' shows the progress`] : []),
        "",
        ...(embedded ? ["Copy videos into the library folder, or upload one from another terminal:"] : ["Upload a video from another terminal:"]),
        `  npx reelpress upload ./video.mkv   ${dim("(reelpress commands on this machine find this store by themselves)")}`,
        `  AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test aws --endpoint-url ${endpoint} s3 cp ./video.mkv s3://${config.bucket}/`,
        dim("Ctrl+C stops it; the library folder and queued messages are kept for the next start."),
      ].join("\n"),
    );
    // `on`, not `once`: execa's exit hook re-raises the signal when it sees no other listener left.
    // A second Ctrl+C while stopping exits at once.
    let onSignal = () => {};
    await new Promise<void>((resolve) => {
      let stopping = false;
      onSignal = () => (stopping ? process.exit(130) : ((stopping = true), resolve()));
      process.on("SIGINT", onSignal);
      process.on("SIGTERM", onSignal);
    });
    console.log("Stopping…");
    await services.stop();
    await pipeline.stop();
    await embedded?.stop();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    return 0;
  },
};
export default command;
