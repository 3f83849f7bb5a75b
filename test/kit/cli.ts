// Runs the real `reelpress` CLI as a subprocess.
import net from "node:net";
import path from "node:path";
import { execa, type Options } from "execa";

export const REELPRESS = path.resolve(import.meta.dirname, "../../bin/reelpress");

export type CliResult = { exitCode: number; stdout: string; stderr: string };

export async function reelpress(args: string[], options: Options = {}): Promise<CliResult> {
  const r = await execa(REELPRESS, args, { reject: false, timeout: 120_000, ...options });
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout ?? ""), stderr: String(r.stderr ?? "") };
}

/** Starts `reelpress dev` and resolves once it says it is up. */
export async function startDev(args: string[], env: NodeJS.ProcessEnv) {
  const child = execa(REELPRESS, ["dev", ...args], { env, reject: false, buffer: true, all: true });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reelpress dev did not start:\n${out}`)), 60_000);
    child.all!.on("data", (d: Buffer) => {
      out += d.toString();
      if (out.includes("is up")) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.on("exit", () => reject(new Error(`reelpress dev exited:\n${out}`)));
  });
  const endpoint = /endpoint\s+(http\S+)/.exec(out)![1];
  return { child, endpoint, output: () => out };
}

/** A TCP port nobody listens on right now. */
export async function freePort(): Promise<number> {
  const srv = net.createServer().listen(0);
  await new Promise((r) => srv.once("listening", r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}
