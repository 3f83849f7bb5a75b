import { mkdtemp, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { GetObjectCommand, PutObjectCommand } from "@aws-sdk/client-s3";
import { ReceiveMessageCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { makeClients } from "../../shared/io/clients.ts";
import { loadConfig } from "../../shared/config.ts";
import { reelpress, startDev, freePort } from "../kit/cli.ts";

describe("reelpress dev (embedded default)", () => {
  const dirs: string[] = [];
  afterAll(async () => Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true }))));

  it("serves S3 and SQS, and keeps objects and queued messages across a restart", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "reelpress-dev-"));
    dirs.push(dataDir);
    const port = await freePort();
    const env = { ...process.env, AWS_ENDPOINT_URL: "", NO_COLOR: "1" };
    const args = ["--data-dir", dataDir, "--port", String(port), "--no-runner"];

    const first = await startDev(args, env);
    expect(first.endpoint).toBe(`http://127.0.0.1:${port}`);
    expect(first.output()).toContain("bucket    reelpress");
    expect(first.output()).toMatch(/s3 cp .* s3:\/\/reelpress\//);
    const clients = makeClients(loadConfig({ AWS_ENDPOINT_URL: first.endpoint }));
    await clients.s3.send(new PutObjectCommand({ Bucket: "reelpress", Key: "holiday/été 1.mp4", Body: "not really a video" }));
    // A message on the encode queue nobody consumes (no runner): it must survive the restart.
    await clients.sqs.send(new SendMessageCommand({ QueueUrl: await clients.queueUrl("reelpress-encode"), MessageBody: "kept" }));
    first.child.kill("SIGINT");
    const exited = await first.child;
    expect(exited.exitCode).toBe(0);
    expect(exited.all).toContain("Stopping");

    const second = await startDev(args, env);
    const again = makeClients(loadConfig({ AWS_ENDPOINT_URL: second.endpoint }));
    const obj = await again.s3.send(new GetObjectCommand({ Bucket: "reelpress", Key: "holiday/été 1.mp4" }));
    expect(await obj.Body!.transformToString()).toBe("not really a video");
    const msgs = await again.sqs.send(new ReceiveMessageCommand({ QueueUrl: await again.queueUrl("reelpress-encode"), WaitTimeSeconds: 1 }));
    expect(msgs.Messages?.map((m) => m.Body)).toEqual(["kept"]);
    second.child.kill("SIGTERM");
    expect((await second.child).exitCode).toBe(0);
  });

  it("says clearly when the port is taken", async () => {
    const srv = net.createServer().listen(0);
    await new Promise((r) => srv.once("listening", r));
    const port = (srv.address() as net.AddressInfo).port;
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "reelpress-dev-"));
    dirs.push(dataDir);
    const r = await reelpress(["dev", "--data-dir", dataDir, "--port", String(port)], { env: { ...process.env, AWS_ENDPOINT_URL: "" } });
    srv.close();
    expect(r.exitCode).toBe(1);
    expect(r.stderr.trim()).toBe(`Port ${port} is in use (another reelpress dev?); pick another with --port N, or --port 0 for any free one.`);
  });

  it("ends with one line, not a half-started server, when a pipeline setting is bad", async () => {
    const dataDir = await mkdtemp(path.join(os.tmpdir(), "reelpress-dev-"));
    dirs.push(dataDir);
    for (const [name, value] of [["REELPRESS_EVENTS", "nope"], ["REELPRESS_DEDUP_INTERVAL", "soon"]]) {
      const r = await reelpress(["dev", "--data-dir", dataDir, "--port", "0"], { env: { ...process.env, AWS_ENDPOINT_URL: "", [name]: value }, timeout: 30_000 });
      expect(r.exitCode).toBe(1);
      expect(r.stderr.trim()).toMatch(new RegExp(`^Bad setting ${name} = "${value}": [^\n]+$`));
    }
  });

  it("rejects bad usage with exit status 2 and no stack trace", async () => {
    const r = await reelpress(["dev", "--port", "nope"]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const unknown = await reelpress(["frobnicate"]);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toContain("Unknown command 'frobnicate'");
  });
});
