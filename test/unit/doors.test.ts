// One door per kind of effect: S3 calls go through shared/io/objects.ts, SQS calls through
// shared/io/queues.ts, and only shared/io/clients.ts builds the clients. This reads the source and
// fails on a raw AWS SDK command, send, upload or presigner anywhere else.
import { readdir, readFile } from "node:fs/promises";
import path from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = path.resolve(import.meta.dirname, "../..");
const FOLDERS = ["functions", "shared", "gpu-runner", "cli"];
const DOORS = new Set(["shared/io/objects.ts", "shared/io/queues.ts", "shared/io/clients.ts"]);
/** Files allowed through anyway, each with its reason; none today. */
const EXCEPTIONS: Record<string, string> = {};

async function sourceFiles(dir: string): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, dir), { withFileTypes: true });
  const nested = await Promise.all(entries.map((e) => {
    const rel = `${dir}/${e.name}`;
    if (e.isDirectory()) return sourceFiles(rel);
    return Promise.resolve(/\.(ts|mts|js|mjs)$/.test(e.name) ? [rel] : []);
  }));
  return nested.flat();
}

/** Pure: what in `source` reaches AWS without a door (type-only SDK imports are fine). */
function rawAwsUses(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/import\s+(type\s+)?([^;]*?)\s+from\s+["'](@aws-sdk\/[^"']+)["']/g)) {
    if (m[1]) continue;
    const names = /^\{([^}]*)\}$/.exec(m[2].trim())?.[1].split(",").map((n) => n.trim()).filter(Boolean);
    const values = names ? names.filter((n) => !n.startsWith("type ")) : [m[2].trim()];
    if (values.length) found.push(`imports ${values.join(", ")} from ${m[3]}`);
  }
  for (const [pattern, what] of [
    [/\.send\(\s*new\s+\w+/g, "sends a raw command"],
    [/\b(s3|sqs)\.send\(/g, "calls send on a client"],
    [/\bnew\s+Upload\(/g, "starts an Upload"],
    [/\bgetSignedUrl\(/g, "presigns"],
  ] as const) {
    if (pattern.test(source)) found.push(what);
  }
  return found;
}

describe("doors to I/O", () => {
  it("finds a raw command, a client send, an upload and a value import, and lets type imports pass", () => {
    expect(rawAwsUses(`import type { SQSClient } from "@aws-sdk/client-sqs";\nimport { type Message } from "@aws-sdk/client-sqs";`)).toEqual([]);
    expect(rawAwsUses(`import {\n  GetObjectCommand,\n  type GetObjectCommandOutput,\n} from "@aws-sdk/client-s3";`)).toEqual(["imports GetObjectCommand from @aws-sdk/client-s3"]);
    expect(rawAwsUses(`await clients.s3.send(x)`)).toEqual(["calls send on a client"]);
    expect(rawAwsUses(`await client.send(new PutObjectCommand({}))`)).toEqual(["sends a raw command"]);
    expect(rawAwsUses(`const u = new Upload({ client })`)).toEqual(["starts an Upload"]);
    expect(rawAwsUses(`await notifier.send({ event: "x" })`)).toEqual([]);
  });

  it("every S3 and SQS call outside the doors goes through them", async () => {
    const files = (await Promise.all(FOLDERS.map(sourceFiles))).flat();
    const offenders: string[] = [];
    for (const file of files) {
      if (DOORS.has(file)) continue;
      const uses = rawAwsUses(await readFile(path.join(ROOT, file), "utf8"));
      if (uses.length && !(file in EXCEPTIONS)) offenders.push(`${file}: ${uses.join("; ")}`);
      if (!uses.length && file in EXCEPTIONS) offenders.push(`${file} is listed as an exception but needs none`);
    }
    expect(offenders).toEqual([]);
  });
});
