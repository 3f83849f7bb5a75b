// The embedded default: the fauxqs S3+SQS emulator as a real HTTP server in this process, file-backed.
import { mkdir } from "node:fs/promises";
import path from "node:path";
import { startFauxqs, type FauxqsServer } from "fauxqs";

export type Embedded = { server: FauxqsServer; endpoint: string; stop(): Promise<void> };

export async function startEmbedded(opts: { dataDir: string; port: number; host?: string }): Promise<Embedded> {
  const dataDir = path.resolve(opts.dataDir);
  await mkdir(path.join(dataDir, "s3"), { recursive: true });
  const host = opts.host ?? "127.0.0.1";
  const server = await startFauxqs({
    port: opts.port,
    host,
    logger: false,
    dataDir: path.join(dataDir, "state"),
    s3StorageDir: path.join(dataDir, "s3"),
    // The spy is how in-process S3 writes become ingest events (the emulator has no bucket notifications).
    messageSpies: { bufferSize: 10_000 },
    relaxedRules: { disableMinCopySourceSize: true },
  });
  const shownHost = host === "0.0.0.0" ? "127.0.0.1" : host;
  return { server, endpoint: `http://${shownHost}:${server.port}`, stop: () => server.stop() };
}
