// The store as the operator commands see it: clear one-sentence errors, the bucket check, the library
// listing and the queue depths.
import type { Clients } from "../shared/io/clients.ts";
import { headBucket, isNotFound } from "../shared/io/objects.ts";
import { type Config, s3EndpointOf } from "../shared/config.ts";
import { findLocalDev } from "./local-dev.ts";
import { UserError } from "../shared/errors.ts";
import { explainRemote } from "../shared/io/remote-errors.ts";

// Commands list the library, read queue depths and explain failures through here.
export { listLibrary, queueDepths, queueRoles } from "../shared/io/library.ts";
export { explainRemote } from "../shared/io/remote-errors.ts";

/** No credentials, no endpoint and no `reelpress dev` here: the user most likely forgot to start dev. */
function noStoreAtAll(err: unknown, config: Config): string | undefined {
  if ((err as { name?: string }).name !== "CredentialsProviderError" || s3EndpointOf(config) !== undefined || findLocalDev()) return undefined;
  return "No reelpress dev is running on this machine, and no other store is set: start 'reelpress dev --library DIR' in another terminal, or set AWS_ENDPOINT_URL (or AWS credentials, for S3 itself).";
}

/** Runs `fn`, turning a recognised S3/SQS failure into a one-sentence UserError. */
export async function remote<T>(config: Config, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const sentence = noStoreAtAll(err, config) ?? explainRemote(err, config);
    throw sentence ? new UserError(sentence) : err;
  }
}

/** Fails early, with a clear sentence, when the bucket is not there or not ours to use. */
export async function requireBucket(clients: Clients): Promise<void> {
  await remote(clients.config, async () => {
    try {
      await headBucket(clients);
    } catch (err) {
      // HeadBucket has no body, so a missing bucket comes back as a bare 404.
      if (isNotFound(err)) throw Object.assign(err as object, { name: "NoSuchBucket" });
      throw err;
    }
  });
}
