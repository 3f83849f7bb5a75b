// Builds the configuration and clients a command works with, from its flags and the environment.
import { loadConfig } from "../shared/config.ts";
import { makeClients, type Clients } from "../shared/io/clients.ts";
import type { Values } from "./command.ts";
import { findLocalDev, noEndpointSet } from "./local-dev.ts";
import { dim } from "./output.ts";

const str = (v: Values[string]) => (typeof v === "string" ? v : undefined);

/**
 * With no endpoint set, a `reelpress dev` running on this machine is the store (and says so on
 * stderr, so JSON on stdout stays clean); an explicit --endpoint or AWS_ENDPOINT_URL always wins.
 */
function localDevEnv(values: Values, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  if (!noEndpointSet(str(values.endpoint), env)) return env;
  const dev = findLocalDev(env);
  if (!dev) return env;
  process.stderr.write(`${dim(`Using reelpress dev on this machine: ${dev.s3}${dev.sqs === dev.s3 ? "" : ` / ${dev.sqs}`} (pid ${dev.pid}); --endpoint or AWS_ENDPOINT_URL picks another store.`)}\n`);
  return { ...env, AWS_ENDPOINT_URL_S3: dev.s3, AWS_ENDPOINT_URL_SQS: dev.sqs, REELPRESS_BUCKET: env.REELPRESS_BUCKET || dev.bucket, AWS_REGION: env.AWS_REGION || dev.region };
}

export function clientsFrom(values: Values): Clients {
  return makeClients(
    loadConfig(localDevEnv(values, process.env), {
      bucket: str(values.bucket),
      endpoint: str(values.endpoint),
      region: str(values.region),
      prefix: str(values.prefix),
      backupPrefix: str(values["backup-prefix"]),
    }),
  );
}
