// The dashboard Lambda (functions/dashboard) against a real store, fed function-URL-shaped events:
// the page with relative API paths, /api/status equal to `reelpress status --json`, previews only.
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { SendMessageCommand } from "@aws-sdk/client-sqs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeDashboardHandler } from "../../functions/dashboard/handler.ts";
import { patchRecord } from "../../shared/io/manifest.ts";
import { PREVIEWS_PREFIX } from "../../shared/rules/naming.ts";
import { headObject } from "../../shared/io/objects.ts";
import { reelpress } from "../kit/cli.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

/** What a function URL hands the Lambda for a request (payload format 2.0), trimmed to what matters. */
const urlEvent = (rawPath: string, query?: Record<string, string>, method = "GET") => ({
  version: "2.0",
  routeKey: "$default",
  rawPath,
  rawQueryString: new URLSearchParams(query).toString(),
  headers: { host: "abc123.lambda-url.us-east-1.on.aws" },
  ...(query ? { queryStringParameters: query } : {}),
  requestContext: { http: { method, path: rawPath, protocol: "HTTP/1.1", sourceIp: "192.0.2.1", userAgent: "test" } },
  isBase64Encoded: false,
});

describe("dashboard handler", () => {
  let stack: TestStack;
  let handler: ReturnType<typeof makeDashboardHandler>;
  const montage = Buffer.from([0xff, 0xd8, 0xff, 0xe0, ...Buffer.from("not much of a jpeg"), 0xff, 0xd9]);
  const montageKey = `${PREVIEWS_PREFIX}trips/rome.mp4.montage.jpg`;

  beforeAll(async () => {
    stack = await startTestStack();
    const put = async (key: string, size: number, state: "compressed" | "failed" | "probed", more = {}) => {
      await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: key, Body: Buffer.alloc(size, 1) }));
      const head = (await headObject(stack, key))!;
      await patchRecord(stack, key, { size: head.size, etag: head.etag, state, ...more });
    };
    await put("trips/rome.mp4", 5000, "compressed", { savedBytes: 20_000, montageKey });
    await put("trips/list.mkv", 30, "failed", { error: "EBML header parsing failed", reason: "not a video file (damaged or not Matroska)" });
    await put("later.avi", 900, "probed");
    await stack.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: montageKey, Body: montage, ContentType: "image/jpeg" }));
    await stack.sqs.send(new SendMessageCommand({ QueueUrl: await stack.queueUrl("reelpress-encode"), MessageBody: "{}" }));
    handler = makeDashboardHandler(() => stack);
  });
  afterAll(() => stack?.stop());

  it("serves the page, whose API paths are relative so it works at a function URL's root or behind a proxy", async () => {
    const r = await handler(urlEvent("/"));
    expect(r).toMatchObject({ statusCode: 200, isBase64Encoded: false, headers: { "content-type": "text/html; charset=utf-8" } });
    expect(r.body).toContain("<title>reelpress</title>");
    expect(r.body).toContain('fetch("api/overview"');
    expect(r.body).not.toMatch(/["'`]\/api\//);
  });

  it("answers /api/status with exactly what `reelpress status --json` prints for the same stack", async () => {
    const r = await handler(urlEvent("/api/status"));
    expect(r).toMatchObject({ statusCode: 200, isBase64Encoded: false, headers: { "content-type": "application/json" } });
    const cli = await reelpress(["status", "--json"], { env: stack.env });
    expect(cli.exitCode, cli.stderr).toBe(0);
    expect(JSON.parse(r.body)).toEqual(JSON.parse(cli.stdout));
    expect(JSON.parse(r.body)).toMatchObject({ compressed: { count: 1 }, failed: { count: 1 }, remaining: { count: 1 }, queues: { encode: { visible: 1 } } });
  });

  it("answers /api/overview with failures and savings per folder", async () => {
    const overview = JSON.parse((await handler(urlEvent("/api/overview"))).body);
    expect(overview.bucket).toBe("reelpress");
    expect(overview.failures).toEqual([expect.objectContaining({ key: "trips/list.mkv", reason: "not a video file (damaged or not Matroska)" })]);
    expect(overview.folders).toContainEqual({ folder: "trips/", count: 2, bytes: 5030, saved_bytes: 20_000 });
  });

  it("returns a preview image base64-encoded, and refuses any key outside the previews", async () => {
    const r = await handler(urlEvent("/api/montage", { key: montageKey }));
    expect(r).toMatchObject({ statusCode: 200, isBase64Encoded: true, headers: { "content-type": "image/jpeg" } });
    expect(Buffer.from(r.body, "base64")).toEqual(montage);
    for (const key of ["trips/rome.mp4", `${PREVIEWS_PREFIX}../manifest/trips/rome.mp4.json`, ".reelpress/manifest/trips/rome.mp4.json"]) {
      const refused = await handler(urlEvent("/api/montage", { key }));
      expect(refused.statusCode, key).toBe(400);
      expect(JSON.parse(refused.body).error).toBe(`not a preview key: ${key}`);
    }
    expect((await handler(urlEvent("/api/montage"))).statusCode).toBe(400);
    expect((await handler(urlEvent("/api/montage", { key: `${PREVIEWS_PREFIX}missing.jpg` }))).statusCode).toBe(404);
  });

  it("answers other methods and paths with one sentence, and rejects an event that is not a URL request", async () => {
    expect(await handler(urlEvent("/api/status", undefined, "POST"))).toMatchObject({ statusCode: 405, body: JSON.stringify({ error: "use GET" }) });
    expect(await handler(urlEvent("/admin"))).toMatchObject({ statusCode: 404, body: JSON.stringify({ error: "no such page: /admin" }) });
    await expect(handler({ Records: [] })).rejects.toThrow(/^dashboard handler: not a function URL request$/);
  });
});
