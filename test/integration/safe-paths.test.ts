// Keys that could name a file outside the store's folder are refused by the store itself, whatever the client.
import { existsSync } from "node:fs";
import { readdir } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest } from "../kit/raw-http.ts";
import { startTestStack, type TestStack } from "../kit/stack.ts";

const raw = (endpoint: string, method: string, rawPath: string, headers: Record<string, string> = {}, body = "x") => rawRequest(endpoint, method, rawPath, headers, body);

describe("safe paths in the store", () => {
  let stack: TestStack;
  const marker = `reelpress-escape-${process.pid}-${Date.now()}`;
  beforeAll(async () => {
    stack = await startTestStack();
  });
  afterAll(() => stack.stop());

  it.each([
    ["dot-dot segments", `/reelpress/../../../../../../../../tmp/${marker}.txt`],
    ["encoded dot-dot", `/reelpress/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/%2e%2e/tmp/${marker}.txt`],
    ["encoded slashes", `/reelpress/..%2F..%2F..%2F..%2F..%2F..%2F..%2Ftmp%2F${marker}.txt`],
    ["a backslash", `/reelpress/a%5C..%5C${marker}.txt`],
    ["a NUL", `/reelpress/a%00${marker}.txt`],
    ["a manifest escape", `/reelpress/.reelpress/manifest/../../${marker}.mp4`],
  ])("refuses a PUT with %s with S3's 400, writing nothing", async (_, p) => {
    const res = await raw(stack.endpoint, "PUT", p);
    expect(res.status).toBe(400);
    expect(res.body).toMatch(/<Error><Code>InvalidArgument<\/Code>/);
    expect(existsSync(path.join(os.tmpdir(), `${marker}.txt`))).toBe(false);
    expect(existsSync(path.join(os.tmpdir(), `${marker}.txt.data`))).toBe(false);
    expect(existsSync(`/tmp/${marker}.txt.data`)).toBe(false);
  });

  it("refuses a copy whose source leaves the folder", async () => {
    const res = await raw(stack.endpoint, "PUT", "/reelpress/ok.mp4", { "x-amz-copy-source": "/reelpress/../../etc/passwd" }, "");
    expect(res.status).toBe(400);
  });

  it("still serves ordinary keys", async () => {
    const res = await raw(stack.endpoint, "PUT", "/reelpress/dir/%C3%A9t%C3%A9%20..a.mp4");
    expect(res.status).toBe(200);
    const entries = await readdir(os.tmpdir());
    expect(entries.filter((e) => e.includes(marker))).toEqual([]);
  });
});
