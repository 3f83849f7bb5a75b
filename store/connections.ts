// What a client may hold of the server before it proves who it is. Headers must arrive within a time limit,
// a body that stops arriving is cut, and connections that have not yet sent an authenticated request share
// a fixed budget (the oldest goes first), so idle or half-open sockets cannot crowd out signed clients.
// Uploads themselves have no time limit: a huge, slow but steady one goes on as long as it needs.
import http from "node:http";
import type { Socket } from "node:net";

export type ConnectionLimits = {
  /** Time to send a request's whole header. */
  headersTimeoutMs: number;
  /** Time a request body may go without a byte before the connection is cut. */
  bodyIdleMs: number;
  /** Time an idle keep-alive connection stays open. */
  keepAliveMs: number;
  /** Connections that have not yet sent an authenticated request; beyond it, the oldest is closed. */
  maxUnauthenticated: number;
};

export const DEFAULT_LIMITS: ConnectionLimits = { headersTimeoutMs: 30_000, bodyIdleMs: 60_000, keepAliveMs: 60_000, maxUnauthenticated: 256 };

/** Sockets still counted against their server's budget, with how to stop counting them. */
const unproven = new WeakMap<Socket, () => void>();

/** The request on `socket` was authenticated (or the server takes anyone): it no longer counts. */
export function admit(socket: Socket): void {
  unproven.get(socket)?.();
}

/** Cuts the connection when a request's body stalls for `idleMs`; bodiless requests are not timed. */
function cutStalledBody(req: http.IncomingMessage, idleMs: number): void {
  const hasBody = Number(req.headers["content-length"] ?? 0) > 0 || req.headers["transfer-encoding"] !== undefined;
  if (!hasBody) return;
  req.setTimeout(idleMs, () => req.socket.destroy());
  const clear = () => req.socket.setTimeout(0);
  req.once("end", clear);
  req.once("close", clear);
}

/** An HTTP server for `handle` under `limits`. */
export function createLimitedServer(handle: http.RequestListener, limits: Partial<ConnectionLimits> = {}): http.Server {
  const l = { ...DEFAULT_LIMITS, ...limits };
  const server = http.createServer(
    {
      // No limit on a whole request (uploads may be huge); the header limit is checked this often.
      requestTimeout: 0,
      headersTimeout: l.headersTimeoutMs,
      connectionsCheckingInterval: Math.min(5_000, l.headersTimeoutMs),
      keepAliveTimeout: l.keepAliveMs,
    },
    (req, res) => {
      cutStalledBody(req, l.bodyIdleMs);
      handle(req, res);
    },
  );
  const waiting = new Set<Socket>();
  server.on("connection", (socket: Socket) => {
    const forget = () => {
      waiting.delete(socket);
      unproven.delete(socket);
    };
    waiting.add(socket);
    unproven.set(socket, forget);
    socket.once("close", forget);
    if (waiting.size > l.maxUnauthenticated) {
      // A Set iterates in insertion order: the first is the oldest.
      const oldest = waiting.values().next().value!;
      unproven.get(oldest)?.();
      oldest.destroy();
    }
  });
  return server;
}
