// Lambda behind the dashboard's IAM-authenticated function URL: the same page and JSON API as
// `reelpress dev` serves (shared/dashboard/routes.ts), images base64-encoded as function URLs want.
import path from "node:path";
import { z } from "zod";
import { makeClients, type Clients } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";
import { PAGE_FILE, dashboardRoutes, type DashboardRoutes } from "../../shared/dashboard/routes.ts";

const UrlRequest = z
  .object({
    rawPath: z.string(),
    requestContext: z.object({ http: z.object({ method: z.string() }) }).loose(),
    queryStringParameters: z.record(z.string(), z.string().optional()).optional(),
    /** Function URLs give header names in lower case. */
    headers: z.record(z.string(), z.string().optional()).optional(),
  })
  .loose();

export type UrlResponse = { statusCode: number; headers: Record<string, string>; body: string; isBase64Encoded: boolean };

/** `page`: where the page lies; beside shared/dashboard/routes.ts unless given. */
export function makeDashboardHandler(clients: () => Clients, page?: string) {
  let routes: DashboardRoutes | undefined;
  return async (event: unknown): Promise<UrlResponse> => {
    const request = UrlRequest.safeParse(event);
    if (!request.success) throw new Error("dashboard handler: not a function URL request");
    const { rawPath, requestContext, queryStringParameters, headers } = request.data;
    routes ??= dashboardRoutes(clients(), page);
    const r = await routes(requestContext.http.method, rawPath, queryStringParameters ?? {}, { range: headers?.range });
    if (typeof r.body === "string") return { statusCode: r.status, headers: r.headers, body: r.body, isBase64Encoded: false };
    return { statusCode: r.status, headers: r.headers, body: r.body.toString("base64"), isBase64Encoded: true };
  };
}

let fromEnv: Clients | undefined;
// The bundle has no page beside it: infra copies the page into the package at its repository path.
const taskRoot = process.env.LAMBDA_TASK_ROOT;
export const handler = makeDashboardHandler(() => (fromEnv ??= makeClients(loadConfig())), taskRoot ? path.join(taskRoot, PAGE_FILE) : undefined);
