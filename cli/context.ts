// Builds the configuration and clients a command works with, from its flags and the environment.
import { loadConfig } from "../shared/config.ts";
import { makeClients, type Clients } from "../shared/clients.ts";
import type { Values } from "./command.ts";

const str = (v: Values[string]) => (typeof v === "string" ? v : undefined);

export function clientsFrom(values: Values): Clients {
  return makeClients(
    loadConfig(process.env, {
      bucket: str(values.bucket),
      endpoint: str(values.endpoint),
      region: str(values.region),
      prefix: str(values.prefix),
      backupPrefix: str(values["backup-prefix"]),
    }),
  );
}
