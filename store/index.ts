// The folder store: a plain folder served as one S3 bucket, in place. It imports nothing from the rest of
// reelpress, so it can be published alone.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { FolderStore } from "./folder.ts";
import { Multipart } from "./multipart.ts";
import { S3Handler } from "./server.ts";
import { type ConnectionLimits, createLimitedServer } from "./connections.ts";
import type { StoreCredential } from "./sigv4.ts";

export { FolderStore, FolderTakenError, type ObjectEvent } from "./folder.ts";
export { watchFolder, type FolderWatch } from "./watch.ts";
export { unsafeKeyReason } from "./safe-key.ts";
export { admit, type ConnectionLimits } from "./connections.ts";
export { S3Error, s3Error } from "./errors.ts";
export { type Credentials, type Signed, type StoreCredential, verifySigV4 } from "./sigv4.ts";

export type FolderStoreOptions = {
  /** The library folder: its files are the bucket's objects. */
  folder: string;
  bucket: string;
  /** Required whenever the store listens beyond this machine; requests must then carry SigV4 signatures by one of them. */
  credentials?: readonly StoreCredential[];
  /** The region signatures must name; us-east-1 by default. */
  region?: string;
  /** Time and connection limits for slow or unauthenticated clients. */
  limits?: Partial<ConnectionLimits>;
};

/** Unfinished multipart uploads are removed after a week, as a lifecycle rule would. */
const STALE_UPLOAD_MS = 7 * 24 * 3600_000;

/** The store and its S3 request handler, for a server of the caller's (see `serveFolder` for a standalone one). */
export async function openFolderStore(opts: FolderStoreOptions): Promise<{ store: FolderStore; handle: (req: http.IncomingMessage, res: http.ServerResponse) => void }> {
  const store = await FolderStore.open(opts.folder);
  await new Multipart(store).sweep(STALE_UPLOAD_MS);
  const handler = new S3Handler(store, { bucket: opts.bucket, credentials: opts.credentials, region: opts.region });
  return { store, handle: (req, res) => void handler.handle(req, res) };
}

/**
 * An HTTP server whose uploads may take as long as they need while they move (Node's default would cut
 * them at 5 minutes), under `limits` for clients that stall or never authenticate.
 */
export function createS3HttpServer(handle: http.RequestListener, limits?: Partial<ConnectionLimits>): http.Server {
  return createLimitedServer(handle, limits);
}

export async function serveFolder(opts: FolderStoreOptions & { port: number; host?: string }) {
  const { store, handle } = await openFolderStore(opts);
  const server = createS3HttpServer(handle, opts.limits);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port, opts.host ?? "127.0.0.1", () => resolve());
  });
  return {
    store,
    port: (server.address() as AddressInfo).port,
    async stop() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
    },
  };
}
