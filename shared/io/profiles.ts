// The library's profiles file, read where a plan is made: a missing file means compat everywhere.
import type { Clients } from "./clients.ts";
import { getObject, headObject } from "./objects.ts";
import { DEFAULT_TABLE, PROFILES_KEY, PROFILES_MAX_BYTES, ProfileError, parseProfiles, type ProfileTable } from "../rules/profiles.ts";

/** The table in `.reelpress/profiles.json`; throws ProfileError (one sentence) when the file is bad. */
export async function loadProfiles(clients: Clients): Promise<ProfileTable> {
  const head = await headObject(clients, PROFILES_KEY);
  if (!head) return DEFAULT_TABLE;
  if (head.size > PROFILES_MAX_BYTES) throw new ProfileError("", `is ${head.size} bytes; a profiles file is at most ${PROFILES_MAX_BYTES}`);
  const { body } = await getObject(clients, PROFILES_KEY, { ifMatch: head.etag });
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    size += (chunk as Buffer).length;
    // The file may grow between the head and the read: never hold more than the limit.
    if (size > PROFILES_MAX_BYTES) throw new ProfileError("", `is over ${PROFILES_MAX_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  return parseProfiles(Buffer.concat(chunks).toString("utf8"));
}
