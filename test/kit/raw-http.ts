// A raw HTTP request: SDKs normalise or encode some paths and headers, a hostile or unusual client does not.
import http from "node:http";

export type RawResponse = { status: number; body: string };

/** `body` undefined sends no body (and no Content-Length). */
export function rawRequest(endpoint: string, method: string, rawPath: string, headers: Record<string, string> = {}, body?: string | Buffer): Promise<RawResponse> {
  const url = new URL(endpoint);
  const withLength = body === undefined ? headers : { "content-length": String(Buffer.byteLength(body)), ...headers };
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method, path: rawPath, headers: withLength }, (res) => {
      let text = "";
      res.setEncoding("utf8");
      res.on("data", (c) => (text += c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: text }));
    });
    req.on("error", reject);
    req.end(body);
  });
}
