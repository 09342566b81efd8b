// The HTTP server's connection-level defences: the Node server a Fastify instance runs on
// (plain or TLS) with bounded time for every request, and the JSON answers to the errors
// Node's HTTP parser finds before Fastify sees a request. Owns: timeouts, TLS setup, parser
// error answers. Must not know: routes, keys, the node.
//
// Time bounds (Node's http.Server):
// - requestTimeoutMs: headers and body must have arrived within this long of the request's
//   start, or Node answers 408 and closes the connection (a body trickled a byte a second is
//   cut here). Node checks every connectionsCheckingInterval; we check 4 times per timeout (at
//   most once a second), so a request is cut between 1x and 1.25x the timeout (+1 s at most).
// - headersTimeoutMs: the same for the headers alone (the smaller of the request timeout and 60 s).
// - idleTimeoutMs: a socket with no traffic for this long is destroyed (a half-sent body that
//   stalls, or an idle keep-alive connection); keep-alive connections close sooner, after
//   min(5 s, idle).
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { Duplex } from "node:stream";

export interface HttpConnectionOptions {
  readonly requestTimeoutMs: number;
  readonly idleTimeoutMs: number;
  /** PEM certificate and key: serve HTTPS. */
  readonly tls?: { readonly cert: string | Buffer; readonly key: string | Buffer } | null;
}

export const DEFAULT_CONNECTION_OPTIONS: HttpConnectionOptions = { requestTimeoutMs: 30_000, idleTimeoutMs: 10_000 };

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

/** A Fastify serverFactory: the Node server with the time bounds above, HTTPS when tls is given. */
export function serverFactory(opts: HttpConnectionOptions): (handler: Handler) => Server {
  return (handler) => {
    const bounds = {
      requestTimeout: opts.requestTimeoutMs,
      headersTimeout: Math.min(opts.requestTimeoutMs, 60_000),
      connectionsCheckingInterval: Math.max(10, Math.min(1000, Math.floor(opts.requestTimeoutMs / 4))),
      keepAliveTimeout: Math.min(5000, opts.idleTimeoutMs),
    };
    const server: Server = opts.tls ? createHttpsServer({ ...bounds, cert: opts.tls.cert, key: opts.tls.key }, handler) : createHttpServer(bounds, handler);
    server.setTimeout(opts.idleTimeoutMs); // no 'timeout' listener: an idle socket is destroyed
    return server;
  };
}

/** The JSON error shape of the API ({"error", "message"}) for what Node's parser refuses. */
function clientErrorAnswer(code: string | undefined): { status: number; reason: string; error: string; message: string } {
  switch (code) {
    case "ERR_HTTP_REQUEST_TIMEOUT":
      return { status: 408, reason: "Request Timeout", error: "timeout", message: "the request was not received in time (see http_request_timeout_ms)" };
    case "HPE_HEADER_OVERFLOW":
      return { status: 431, reason: "Request Header Fields Too Large", error: "headers-too-large", message: "request headers larger than the server accepts (16 KiB)" };
    default:
      return { status: 400, reason: "Bad Request", error: "bad-request", message: `malformed HTTP request${code ? ` (${code})` : ""}` };
  }
}

/** Fastify's clientErrorHandler: answers in the API's JSON shape, then closes the connection. */
export function clientErrorHandler(err: Error & { code?: string }, socket: Duplex): void {
  if (err.code === "ECONNRESET" || socket.destroyed) return;
  const a = clientErrorAnswer(err.code);
  const body = JSON.stringify({ error: a.error, message: a.message });
  if (socket.writable) {
    socket.write(`HTTP/1.1 ${a.status} ${a.reason}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
  }
  socket.destroy();
}
