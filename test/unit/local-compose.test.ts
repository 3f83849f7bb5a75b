// infra/local/docker-compose.yml and local.env: the structure `docker compose config` would check
// (it runs too where the compose plugin exists), plus what must agree between the two files.
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";
import { parse } from "yaml";
import { describe, expect, it } from "vitest";
import { loadConfig, s3EndpointOf, sqsEndpointOf } from "../../shared/config.ts";

const LOCAL = path.resolve(import.meta.dirname, "../../infra/local");
const COMPOSE = path.join(LOCAL, "docker-compose.yml");

type Service = {
  image: string;
  command?: string[];
  environment?: Record<string, string>;
  env_file?: string[];
  ports?: string[];
  volumes?: string[];
  healthcheck?: { test: string[] };
  depends_on?: Record<string, { condition: string }>;
};
type Compose = { services: Record<string, Service>; volumes: Record<string, unknown> };

const compose = parse(await readFile(COMPOSE, "utf8")) as Compose;
const localEnv = Object.fromEntries(
  (await readFile(path.join(LOCAL, "local.env"), "utf8"))
    .split("\n")
    .filter((l) => l.trim() && !l.startsWith("#"))
    .map((l) => [l.slice(0, l.indexOf("=")), l.slice(l.indexOf("=") + 1)]),
);
const hostPort = (s: Service, container: number) => s.ports?.map((p) => p.split(":")).find((p) => Number(p.at(-1)) === container)?.at(-2);

const composePlugin = await execa("docker", ["compose", "version"], { reject: false }).then((r) => r.exitCode === 0, () => false);
if (!composePlugin) console.warn("local-compose: `docker compose` is not installed here; checking the file's structure only.");

describe("infra/local/docker-compose.yml", () => {
  it.skipIf(!composePlugin)("passes `docker compose config`", async () => {
    const r = await execa("docker", ["compose", "-f", COMPOSE, "config", "--quiet"], { reject: false });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
  });

  it("runs MinIO with its console, LocalStack for SQS, and a one-shot init", () => {
    expect(Object.keys(compose.services).sort()).toEqual(["init", "localstack", "minio"]);
    const { minio, localstack } = compose.services;
    expect(minio.command).toEqual(expect.arrayContaining(["server", "/data", "--console-address", ":9001"]));
    expect(hostPort(minio, 9000)).toBe("9000");
    expect(hostPort(minio, 9001)).toBe("9001");
    expect(localstack.environment?.SERVICES.split(",")).toContain("sqs");
    expect(hostPort(localstack, 4566)).toBe("4566");
  });

  it("pins every image to a version", () => {
    for (const [name, s] of Object.entries(compose.services)) expect(s.image, name).toMatch(/^[\w./-]+:(?!latest$)[\w.-]+$/);
  });

  it("gives both servers health checks and declared volumes, and starts init once both are healthy", () => {
    for (const name of ["minio", "localstack"]) {
      const s = compose.services[name];
      expect(s.healthcheck?.test[0], name).toMatch(/^CMD(-SHELL)?$/);
      const named = (s.volumes ?? []).map((v) => v.split(":")[0]).filter((v) => !v.startsWith("."));
      expect(named.length, name).toBeGreaterThan(0);
      for (const v of named) expect(Object.keys(compose.volumes), `${name}: ${v}`).toContain(v);
    }
    const init = compose.services.init;
    expect(init.depends_on).toEqual({ minio: { condition: "service_healthy" }, localstack: { condition: "service_healthy" } });
    expect(init.command).toEqual(["node", "infra/local/init.ts"]);
    expect(existsSync(path.join(LOCAL, "init.ts"))).toBe(true);
    expect(init.env_file).toEqual(["local.env"]);
    expect(init.environment).toMatchObject({ AWS_ENDPOINT_URL_S3: "http://minio:9000", AWS_ENDPOINT_URL_SQS: "http://localstack:4566" });
  });
});

describe("infra/local/local.env", () => {
  it("holds MinIO's root credentials (password long enough for MinIO)", () => {
    const env = compose.services.minio.environment!;
    expect(localEnv.AWS_ACCESS_KEY_ID).toBe(env.MINIO_ROOT_USER);
    expect(localEnv.AWS_SECRET_ACCESS_KEY).toBe(env.MINIO_ROOT_PASSWORD);
    expect(env.MINIO_ROOT_PASSWORD.length).toBeGreaterThanOrEqual(8);
  });

  it("is a valid configuration pointing at the published ports, with MinIO events", () => {
    const config = loadConfig(localEnv);
    expect(s3EndpointOf(config)).toBe(`http://localhost:${hostPort(compose.services.minio, 9000)}`);
    expect(sqsEndpointOf(config)).toBe(`http://localhost:${hostPort(compose.services.localstack, 4566)}`);
    expect(localEnv.REELPRESS_EVENTS).toBe("minio");
  });
});
