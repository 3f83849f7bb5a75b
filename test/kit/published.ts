// What a runner leaves after publishing a source: a proven backup, the tagged output and its record,
// the source gone. For tests of what happens to backups afterwards, without an encode.
import { createHash } from "node:crypto";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { outputMetadata } from "../../gpu-runner/job-state.ts";
import type { Clients } from "../../shared/io/clients.ts";
import { patchRecord } from "../../shared/io/manifest.ts";
import { copyToFreeName, deleteObject } from "../../shared/io/objects.ts";
import { backupKeyFor } from "../../shared/rules/naming.ts";
import type { EncodeJob } from "../../shared/schemas.ts";

/** Publishes `source` (of `sourceSize` bytes) as `output` the way gpu-runner/publish.ts does; returns the backup key. */
export async function publishedOutput(clients: Clients, source: string, output: string, sourceSize: number, outputSize: number): Promise<string> {
  const { s3, config } = clients;
  const put = async (key: string, body: Buffer, metadata?: Record<string, string>) =>
    (await s3.send(new PutObjectCommand({ Bucket: config.bucket, Key: key, Body: body, Metadata: metadata }))).ETag!;
  const etag = await put(source, Buffer.alloc(sourceSize, source));
  const backup = await copyToFreeName(clients, source, backupKeyFor(source, config.backupPrefix), { expectEtag: etag });
  const bytes = Buffer.alloc(outputSize, output);
  const sha256 = createHash("sha256").update(bytes).digest("hex");
  const outEtag = await put(output, bytes, outputMetadata({ key: source, size: sourceSize, etag } as EncodeJob, sha256, backup.key));
  await patchRecord(clients, output, {
    size: outputSize, etag: outEtag, state: "compressed", sha256, savedBytes: sourceSize - outputSize,
    source: { key: source, size: sourceSize, etag, backupKey: backup.key, backupEtag: backup.etag },
  });
  await deleteObject(clients, source, etag);
  return backup.key;
}
