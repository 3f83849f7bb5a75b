// What every action works with: the folder, its multipart uploads, and the one bucket it serves.
import type { FolderStore } from "../folder.ts";
import type { Multipart } from "../multipart.ts";
import type { Reply, Req } from "../request.ts";

export type StoreContext = { store: FolderStore; multipart: Multipart; bucket: string; region?: string };

export type Action = (ctx: StoreContext, req: Req) => Promise<Reply>;
