// Finds library videos that no event has brought in yet: objects uploaded while nothing was listening.
import { ListObjectsV2Command } from "@aws-sdk/client-s3";
import type { Clients } from "../../shared/clients.ts";
import { listRecords } from "../../shared/manifest.ts";
import { keyKind } from "../../shared/naming.ts";
import { objectCreatedRecord, sendEventRecords, type CreatedObject } from "./send.ts";

export type ListedObject = { key: string; size: number; etag: string; lastModified?: Date };

const bare = (etag: string) => etag.replace(/"/g, "");

/** Every library video under `prefix` (no system keys, backups, `_skip` names or other extensions). */
export async function* listVideoObjects(clients: Clients, prefix: string): AsyncGenerator<ListedObject> {
  let token: string | undefined;
  do {
    const page = await clients.s3.send(new ListObjectsV2Command({ Bucket: clients.config.bucket, Prefix: prefix, ContinuationToken: token }));
    for (const o of page.Contents ?? []) {
      if (keyKind(o.Key!, clients.config.backupPrefix) !== "video") continue;
      yield { key: o.Key!, size: o.Size ?? 0, etag: o.ETag ?? "", lastModified: o.LastModified };
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
}

/** Videos whose manifest has no record of their current version. */
export async function unseenObjects(clients: Clients): Promise<CreatedObject[]> {
  const prefix = clients.config.prefix;
  const known = new Map<string, string>();
  for await (const r of listRecords(clients, prefix)) known.set(r.key, `${r.size}/${bare(r.etag)}`);
  const unseen: CreatedObject[] = [];
  for await (const o of listVideoObjects(clients, prefix)) {
    if (known.get(o.key) !== `${o.size}/${bare(o.etag)}`) unseen.push(o);
  }
  return unseen;
}

/** Sends an ObjectCreated record for each unseen video; returns how many. */
export async function reconcile(clients: Clients): Promise<number> {
  const unseen = await unseenObjects(clients);
  await sendEventRecords(clients, unseen.map((o) => objectCreatedRecord(clients.config.bucket, o)));
  return unseen.length;
}
