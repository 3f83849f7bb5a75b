// The dedup Lambda handler with real S3 (the folder store): schedule, function URL, bad requests.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { makeDedupHandler, type HttpResponse } from "../../functions/dedup/handler.ts";
import { patchRecord } from "../../shared/io/manifest.ts";
import { DedupReport } from "../../shared/schemas.ts";
import { headObject } from "../../shared/io/objects.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

const get = (query: Record<string, string> = {}) => ({ version: "2.0", rawPath: "/", requestContext: { http: { method: "GET" } }, queryStringParameters: query });
const scheduled = { version: "0", source: "aws.events", "detail-type": "Scheduled Event", detail: {} };

describe("dedup handler", () => {
  let stack: TestStack;
  let handler: ReturnType<typeof makeDedupHandler>;
  beforeAll(async () => {
    stack = await startTestStack();
    handler = makeDedupHandler(() => stack, { REELPRESS_DEDUP_QUALITY: "2" }, () => undefined);
    const body = Buffer.alloc(300_000, 7);
    for (const key of ["lib/a.mp4", "lib/b.mp4"]) {
      await stack.s3.send(new PutObjectCommand({ Bucket: stack.config.bucket, Key: key, Body: body }));
      const head = (await headObject(stack, key))!;
      await patchRecord(stack, key, { size: head.size, etag: head.etag, state: "probed" });
    }
  });
  afterAll(() => stack?.stop());

  it("answers 404 before any report, builds on ?build=1, then serves the latest", async () => {
    expect(((await handler(get())) as HttpResponse).statusCode).toBe(404);
    const built = (await handler(get({ build: "1" }))) as HttpResponse;
    expect(built.statusCode).toBe(200);
    const report = DedupReport.parse(JSON.parse(built.body));
    expect(report.groups.map((g) => [g.type, g.winner.key, g.losers.map((l) => l.key)])).toEqual([["exact", "lib/a.mp4", ["lib/b.mp4"]]]);
    const latest = (await handler(get())) as HttpResponse;
    expect(JSON.parse(latest.body)).toEqual(report);
  });

  it("builds and stores a report on its schedule, with settings from the environment", async () => {
    const out = (await handler(scheduled)) as { key: string; summary: { quality: number; total_groups: number } };
    expect(out.key).toMatch(/^\.reelpress\/reports\/.+\.json$/);
    expect(out.summary).toMatchObject({ quality: 2, total_groups: 1 });
    expect(await headObject(stack, out.key)).toBeDefined();
  });

  it("says what is wrong with a bad request", async () => {
    const bad = (await handler(get({ build: "1", quality: "9" }))) as HttpResponse;
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(bad.body).error).toMatch(/quality/);
    const post = (await handler({ ...get(), requestContext: { http: { method: "POST" } } })) as HttpResponse;
    expect(post.statusCode).toBe(405);
    await expect(handler({ hello: "world" })).rejects.toThrow(/neither/);
  });
});
