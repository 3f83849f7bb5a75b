// Clients that stall cannot hold the store: half-open connections that never finish their headers are
// closed (the oldest first once there are too many), a body that stops arriving is cut and leaves no
// object or temp file, and a signed client is served all the while. The limits are set small here; the
// waits are bounded and generous, so a slow machine does not fail them.
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, rm } from "node:fs/promises";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { GetObjectCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { serveFolder } from "../index.ts";
import { rawRequest } from "../../test/kit/raw-http.ts";
import { signHeaders } from "../../test/kit/sigv4.ts";
import { until } from "../../test/kit/wait.ts";

const BUCKET = "library";
const keys = { accessKeyId: "owner", secretAccessKey: "s3cr3t" };
const HALF_OPEN = 400;
const BUDGET = 50;

/** A socket that has sent `text` and stays open; `closed` turns true when the server closes it. */
async function openSocket(port: number, text: string): Promise<{ socket: net.Socket; closed: () => boolean }> {
  const socket = net.connect(port, "127.0.0.1");
  let closed = false;
  socket.on("close", () => (closed = true));
  socket.on("error", () => (closed = true));
  socket.on("data", () => undefined);
  await new Promise<void>((resolve) => socket.once("connect", () => resolve()));
  socket.write(text);
  return { socket, closed: () => closed };
}

describe("store connection limits", () => {
  let dir: string;
  let server: Awaited<ReturnType<typeof serveFolder>>;
  let s3: S3Client;
  const sockets: net.Socket[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), "reelpress-limits-"));
    server = await serveFolder({
      folder: dir,
      bucket: BUCKET,
      port: 0,
      host: "0.0.0.0",
      credentials: [keys],
      limits: { headersTimeoutMs: 1000, bodyIdleMs: 1500, maxUnauthenticated: BUDGET },
    });
    s3 = new S3Client({ endpoint: `http://127.0.0.1:${server.port}`, region: "us-east-1", forcePathStyle: true, credentials: keys, maxAttempts: 1 });
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("serves signed requests while hundreds of half-open connections wait, and closes those", async () => {
    const half: Array<Awaited<ReturnType<typeof openSocket>>> = [];
    for (let i = 0; i < HALF_OPEN; i++) {
      const s = await openSocket(server.port, `GET /${BUCKET}/x HTTP/1.1\r\nHost: a\r\n`);
      sockets.push(s.socket);
      half.push(s);
    }
    // Past the budget, the oldest were closed as the new ones came.
    await until("the connections beyond the budget closed", () => half.filter((h) => h.closed()).length >= HALF_OPEN - BUDGET, 10_000);
    await s3.send(new PutObjectCommand({ Bucket: BUCKET, Key: "served.mp4", Body: "served" }));
    const got = await s3.send(new GetObjectCommand({ Bucket: BUCKET, Key: "served.mp4" }));
    expect(await got.Body!.transformToString()).toBe("served");
    // The rest never finish their headers: the headers timeout closes them.
    await until("every half-open connection closed", () => half.every((h) => h.closed()), 20_000);
  });

  it("cuts a body that stops arriving and keeps nothing of it, but lets a slow, steady one finish", async () => {
    const p = `/${BUCKET}/stalled.mp4`;
    const host = `127.0.0.1:${server.port}`;
    const signed = signHeaders(host, { method: "PUT", path: p, headers: { "content-length": String(1024 * 1024) }, payload: "UNSIGNED-PAYLOAD", keys });
    const head = `PUT ${p} HTTP/1.1\r\n${Object.entries(signed.headers).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`;
    const stalled = await openSocket(server.port, head);
    sockets.push(stalled.socket);
    stalled.socket.write(randomBytes(100 * 1024));
    await until("the stalled upload cut", stalled.closed, 20_000);
    const status = (await rawRequest(`http://${host}`, "HEAD", p, signHeaders(host, { method: "HEAD", path: p, headers: {}, payload: "UNSIGNED-PAYLOAD", keys }).headers)).status;
    expect(status).toBe(404);
    await until("no temp file left", async () => (await readdir(path.join(dir, ".reelpress/store/tmp"))).length === 0, 10_000);

    // 3 s in all, a piece every 250 ms: longer than the idle limit, never idle that long.
    const steadyPath = `/${BUCKET}/steady.mp4`;
    const pieces = Array.from({ length: 12 }, () => randomBytes(8 * 1024));
    const steadyHeaders = signHeaders(host, { method: "PUT", path: steadyPath, headers: { "content-length": String(12 * 8 * 1024) }, payload: "UNSIGNED-PAYLOAD", keys }).headers;
    const steady = await openSocket(server.port, `PUT ${steadyPath} HTTP/1.1\r\n${Object.entries(steadyHeaders).map(([k, v]) => `${k}: ${v}`).join("\r\n")}\r\n\r\n`);
    sockets.push(steady.socket);
    let reply = "";
    steady.socket.on("data", (d: Buffer) => (reply += d.toString()));
    for (const piece of pieces) {
      steady.socket.write(piece);
      await new Promise((r) => setTimeout(r, 250));
    }
    await until("the steady upload answered", () => reply.includes("\r\n\r\n"), 10_000);
    expect(reply).toMatch(/^HTTP\/1\.1 200/);
  });
});
