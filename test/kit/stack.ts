// One embedded stack (folder store and fauxqs) per test file: a real HTTP server on a free port, data in a temp folder.
import { mkdtemp, rm } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { startEmbedded, type Embedded } from "../../cli/embedded.ts";
import { loadConfig, type Config } from "../../shared/config.ts";
import { makeClients, type Clients } from "../../shared/io/clients.ts";
import { ensureResources } from "../../shared/io/resources.ts";

export type TestStack = Clients & {
  embedded: Embedded;
  endpoint: string;
  dataDir: string;
  /** Environment for a `reelpress` subprocess that talks to this stack. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
};

/** `keep`: a data folder of the caller's, used as it is and left in place (the scale bench's library of 10⁶). */
export async function startTestStack(overrides: Record<string, string> = {}, keep?: string): Promise<TestStack> {
  const dataDir = keep ?? (await mkdtemp(path.join(os.tmpdir(), "reelpress-test-")));
  const embedded = await startEmbedded({ dataDir, port: 0 });
  const env = {
    ...process.env,
    AWS_ENDPOINT_URL: embedded.endpoint,
    AWS_ACCESS_KEY_ID: "test",
    AWS_SECRET_ACCESS_KEY: "test",
    AWS_REGION: "us-east-1",
    NO_COLOR: "1",
    ...overrides,
  };
  const config: Config = loadConfig(env);
  const clients = makeClients(config);
  await ensureResources(clients);
  return {
    ...clients,
    embedded,
    endpoint: embedded.endpoint,
    dataDir,
    env,
    async stop() {
      await embedded.stop();
      if (!keep) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
