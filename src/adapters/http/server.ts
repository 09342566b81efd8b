// The HTTP API of the original MecDB on Fastify: GET / PUT / POST / DELETE /mec/:key, plus
// /ping, /stats and /metrics. Owns request validation (keys, X-Mec-Vclock, r/w, body size),
// the mapping of ClientResults to status codes and headers, and the multipart/mixed body of
// a 300 Multiple Choices. Must not know: how the node serves a request (it calls
// NodeApiHandle.request), ZeroMQ, LevelDB. buildHttpServer returns an instance that is not
// listening; the node process calls listen().
//
// Keys: a key is the rest of the path after "/mec/", percent-decoded exactly once, strictly:
//   - any UTF-8 text except NUL, 1..maxKeyBytes bytes after decoding;
//   - '/' is allowed in a key only as %2F (a literal '/' after /mec/ is refused, so
//     /mec/a/b is not silently a different key from /mec/a%2Fb);
//   - a '%' not followed by two hex digits, or escapes that are not valid UTF-8, are refused;
//   - raw characters outside printable ASCII must be percent-encoded; '+' is a literal '+'.
// We decode the raw request URL ourselves: Node hands %2F, '..' and %00 to the handler as is.
//
// Every error is JSON {"error": code, "message": text} with a 4xx status for bad input and
// 503 when the node cannot answer (starting, quorum not met); a 5xx other than 503 is a bug.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import type { ClientOp, ClientResult } from "../../core/types.ts";
import type { Sibling, SiblingSet, VClock } from "../../core/versioning/index.ts";
import { KEY_ACTORS_MAX } from "../../core/replica/write-guard.ts";
import { decodeVclock, encodeVclock, formatVclockError, isTombstoneOnly, liveSiblings } from "../../core/versioning/index.ts";
import { writeAnswer } from "../../api/write-answer.ts";
import type { ClusterApi, HealthBody, HealthStatus, NodeApiHandle } from "./handle.ts";
import type { NodeStats, RequestOp } from "./stats.ts";
import { randomBytes } from "node:crypto";
import { CLIENT_ID_HEADER, CONTENT_TYPE_HEADER, DEFAULT_CONTENT_TYPE, LAST_MODIFIED_HEADER, SIBLINGS_HEADER, TIMESTAMP_HEADER, VCLOCK_HEADER } from "../../http-api/headers.ts";
import { chooseBoundary, encodeMultipart, multipartContentType } from "../../http-api/multipart.ts";
import { BearerAuth } from "./auth.ts";
import { DEFAULT_CONNECTION_OPTIONS, clientErrorHandler, serverFactory, type HttpConnectionOptions } from "./limits.ts";

interface HttpServerOptions {
  /** A pino logger, pino options, or true/false (Fastify's `logger` option). Default: off. */
  readonly logger?: unknown;
  /** Log every request and response at info level (Fastify's default). Default false: it costs throughput. */
  readonly requestLogging?: boolean;
  /** Timeouts and TLS of the underlying Node server (limits.ts); default: 30 s per request, 10 s idle, plain HTTP. */
  readonly connection?: HttpConnectionOptions;
  /** Bearer tokens; absent: no authentication (auth.ts). */
  readonly authTokens?: readonly string[];
}

type ErrorCode =
  | "bad-key"
  | "bad-vclock"
  | "bad-param"
  | "bad-request"
  | "too-large"
  | "too-many-siblings"
  | "object-too-large"
  | "unauthorized"
  | "headers-too-large"
  | "timeout"
  | "unsupported-media-type"
  | "method-not-allowed"
  | "not-found"
  | "conflict"
  | "quorum"
  | "unavailable"
  | "starting"
  | "storage-full"
  | "storage-error"
  | "internal";

class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: ErrorCode,
    message: string,
    readonly extra: Readonly<Record<string, unknown>> = {},
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------
// Keys

type KeyResult = { ok: true; key: string } | { ok: false; message: string };

const HEX = /^[0-9A-Fa-f]{2}$/;
const PLAIN_KEY = /^[\x21-\x24\x26-\x2e\x30-\x7e]+$/;
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** Decodes the raw (still percent-encoded) key segment of a request path; see the header for the rules. */
export function decodeKey(raw: string, maxKeyBytes: number): KeyResult {
  if (raw.length === 0) return { ok: false, message: "empty key: use /mec/<key>" };
  // A fully encoded key of maxKeyBytes bytes is 3 * maxKeyBytes characters; longer cannot fit.
  if (raw.length > 3 * maxKeyBytes) return { ok: false, message: `key longer than ${maxKeyBytes} bytes` };
  // Fast path: printable ASCII with no escapes is the key itself.
  if (PLAIN_KEY.test(raw)) {
    return raw.length <= maxKeyBytes ? { ok: true, key: raw } : { ok: false, message: `key has ${raw.length} bytes, more than ${maxKeyBytes}` };
  }
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c === 0x25 /* % */) {
      const hex = raw.slice(i + 1, i + 3);
      if (!HEX.test(hex)) return { ok: false, message: `invalid percent-encoding at character ${i + 1} of the key: ${JSON.stringify(raw.slice(i, i + 3))}` };
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else if (c === 0x2f /* / */) {
      return { ok: false, message: "key contains '/': encode it as %2F" };
    } else if (c < 0x21 || c > 0x7e) {
      return { ok: false, message: `key contains a raw character U+${c.toString(16).padStart(4, "0")}: percent-encode it` };
    } else {
      bytes.push(c);
    }
  }
  if (bytes.length > maxKeyBytes) return { ok: false, message: `key has ${bytes.length} bytes, more than ${maxKeyBytes}` };
  if (bytes.includes(0)) return { ok: false, message: "key contains NUL (%00)" };
  let key: string;
  try {
    key = utf8.decode(Uint8Array.from(bytes));
  } catch {
    return { ok: false, message: "key is not valid UTF-8 after percent-decoding" };
  }
  return { ok: true, key };
}

/** The raw key segment of a request URL ("/mec/a%2Fb?r=1" -> "a%2Fb"), or null if the path is not under /mec/. */
function rawKeyOf(url: string): string | null {
  const q = url.indexOf("?");
  const path = q < 0 ? url : url.slice(0, q);
  if (path === "/mec") return "";
  if (!path.startsWith("/mec/")) return null;
  return path.slice(5);
}

// ---------------------------------------------------------------------------------------
// Query parameters

function queryParam(request: FastifyRequest, name: string): string | undefined {
  const query = request.query as Record<string, unknown> | undefined;
  const v = query?.[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string") throw new HttpError(400, "bad-param", `${name} given more than once`);
  return v;
}

function quorumParam(request: FastifyRequest, name: "r" | "w", n: number): number | undefined {
  const v = queryParam(request, name);
  if (v === undefined) return undefined;
  if (!/^[0-9]{1,6}$/.test(v)) throw new HttpError(400, "bad-param", `${name} must be an integer from 1 to n=${n}, got ${JSON.stringify(v.slice(0, 40))}`);
  const x = Number(v);
  if (x < 1 || x > n) throw new HttpError(400, "bad-param", `${name}=${x} is out of range: must be from 1 to n=${n}`);
  return x;
}

function returnBodyParam(request: FastifyRequest): boolean {
  const v = queryParam(request, "returnbody");
  if (v === undefined || v === "false" || v === "0") return false;
  if (v === "true" || v === "1" || v === "") return true;
  throw new HttpError(400, "bad-param", `returnbody must be true or false, got ${JSON.stringify(v.slice(0, 40))}`);
}

/** The client's causal context, or null for a blind write (header absent or empty). */
function contextOf(request: FastifyRequest): VClock | null {
  const header = request.headers[VCLOCK_HEADER];
  if (header === undefined) return null;
  const text = Array.isArray(header) ? header.join(",") : header;
  if (text.trim() === "") return null;
  const decoded = decodeVclock(text);
  if (!decoded.ok) throw new HttpError(400, "bad-vclock", `malformed X-Mec-Vclock: ${formatVclockError(decoded.error)}`);
  if (decoded.clock.size > KEY_ACTORS_MAX) {
    throw new HttpError(400, "bad-vclock", `X-Mec-Vclock names ${decoded.clock.size} actors, more than a key's clock may hold (${KEY_ACTORS_MAX})`);
  }
  return decoded.clock;
}

/** The X-Mec-Client-Id header: absent, or 1..255 printable ASCII characters. */
function clientIdOf(request: FastifyRequest): { clientId?: string } {
  const header = request.headers[CLIENT_ID_HEADER];
  if (header === undefined) return {};
  if (typeof header !== "string" || !/^[\x21-\x7e]{1,255}$/.test(header)) {
    throw new HttpError(400, "bad-request", "X-Mec-Client-Id must be 1 to 255 printable ASCII characters without spaces");
  }
  return { clientId: header };
}

// ---------------------------------------------------------------------------------------
// Answers

/** A header-safe Content-Type: what was stored, or application/octet-stream if it could not be sent back. */
function safeContentType(ct: string): string {
  return ct.length > 0 && ct.length <= 1024 && /^[\t\x20-\x7e\x80-\xff]*$/.test(ct) ? ct : DEFAULT_CONTENT_TYPE;
}

/** HTTP date of a nanosecond timestamp (Last-Modified). */
export function httpDate(timestampNs: bigint): string {
  const ms = Number(timestampNs / 1_000_000n);
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? new Date(0).toUTCString() : d.toUTCString();
}

function siblingHeaders(s: Sibling): [string, string][] {
  return [
    [CONTENT_TYPE_HEADER, safeContentType(s.contentType)],
    [LAST_MODIFIED_HEADER, httpDate(s.timestamp)],
    [TIMESTAMP_HEADER, s.timestamp.toString()],
  ];
}

/**
 * Answers with a sibling set as GET does: 200 and the value for one live sibling, 300 with a
 * multipart/mixed body for several, 404 for none (with the tombstone's clock, if any, so a
 * later write supersedes the delete). One X-Mec-Vclock: the set's clock, which descends
 * every sibling, so writing back with it resolves the conflict.
 */
function sendSet(reply: FastifyReply, set: SiblingSet | null): FastifyReply {
  if (set === null) return sendError(reply, new HttpError(404, "not-found", "key not found"));
  const vclock = encodeVclock(set.clock);
  const live = liveSiblings(set);
  if (live.length === 0 || isTombstoneOnly(set)) {
    if (set.clock.size > 0) reply.header(VCLOCK_HEADER, vclock);
    return sendError(reply, new HttpError(404, "not-found", "key not found (deleted)"));
  }
  reply.header(VCLOCK_HEADER, vclock);
  if (live.length === 1) {
    const s = live[0]!;
    for (const [k, v] of siblingHeaders(s)) reply.header(k, v);
    return reply.code(200).send(bufferOf(s.value ?? new Uint8Array(0)));
  }
  return sendMultiple(reply, live);
}

/** 300 Multiple Choices: the live siblings as a multipart/mixed body (the caller sets the vclock). */
function sendMultiple(reply: FastifyReply, live: readonly Sibling[]): FastifyReply {
  const parts = live.map((s) => ({ headers: siblingHeaders(s), body: s.value ?? new Uint8Array(0) }));
  const boundary = chooseBoundary(parts, () => randomBytes(16).toString("hex"));
  return reply
    .code(300)
    .header(CONTENT_TYPE_HEADER, multipartContentType(boundary))
    .send(bufferOf(encodeMultipart(parts, boundary)));
}

/** A Buffer view of the bytes, without copying. */
function bufferOf(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function sendError(reply: FastifyReply, err: HttpError): FastifyReply {
  return reply
    .code(err.statusCode)
    .header("content-type", "application/json; charset=utf-8")
    .send(JSON.stringify({ error: err.code, message: err.message, ...err.extra }));
}

/** A failed ClientResult as an HttpError: 503 when the node could not answer, 400 when it refused the request. */
function resultError(result: Extract<ClientResult, { ok: false }>): HttpError {
  const extra = { answered: result.answered, needed: result.needed };
  switch (result.error) {
    case "quorum": {
      const tail = result.type === "get" ? "" : result.maybeApplied ? " (the write may still be applied)" : " (the write was not applied)";
      const msg = `only ${result.answered} of ${result.needed} replicas answered${tail}`;
      // The node's own wording (e.g. why the minting replica failed) rides along as detail.
      const detail = result.message && result.message !== msg ? { detail: result.message } : {};
      return new HttpError(503, "quorum", msg, { ...extra, ...detail });
    }
    case "unavailable":
      return new HttpError(503, "unavailable", result.message || "no replica could be reached", extra);
    case "starting":
      return new HttpError(503, "starting", result.message || "the node is still starting", extra);
    case "storage-full":
      // 507 Insufficient Storage (RFC 4918): no replica that had to apply the write had space.
      return new HttpError(507, "storage-full", result.message || "the replica's disk is full; the write was not applied", extra);
    case "storage-error":
      return new HttpError(503, "storage-error", result.message || "the replica's storage failed; the write was not applied", extra);
    case "bad-request":
      return new HttpError(400, "bad-request", result.message || "bad request", extra);
    case "too-many-siblings":
      return new HttpError(409, "too-many-siblings", result.message);
    case "object-too-large":
      return new HttpError(413, "object-too-large", result.message);
    default: {
      const e: never = result.error;
      return new HttpError(503, "unavailable", String(e), extra);
    }
  }
}

// ---------------------------------------------------------------------------------------
// The server

function requestOpOf(method: string, url: string): RequestOp {
  if (!url.startsWith("/mec")) return "other";
  switch (method) {
    case "GET":
    case "HEAD":
      return "get";
    case "PUT":
    case "POST":
      return "put";
    case "DELETE":
      return "delete";
    default:
      return "other";
  }
}

const MEC_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE"];

function notReadyError(status: HealthStatus): HttpError {
  if (status === "joining") return new HttpError(503, "starting", "the node has not joined the cluster yet (it waits for a member's cluster state); retry shortly");
  return status === "storage-failing"
    ? new HttpError(503, "unavailable", "the node's storage is failing; use another node")
    : new HttpError(503, "starting", "the node is still starting; retry shortly");
}

export function buildHttpServer(handle: NodeApiHandle, stats: NodeStats, opts: HttpServerOptions = {}): FastifyInstance {
  const limits = handle.limits;
  const app = createFastify(limits.maxBodyBytes, stats, opts);
  if (opts.authTokens !== undefined) requireBearerToken(app, opts.authTokens);
  app.addHook("onResponse", (request, reply, done) => {
    stats.recordRequest(requestOpOf(request.method, request.url), reply.statusCode, reply.elapsedTime);
    done();
  });
  setErrorHandlers(app, limits.maxBodyBytes);
  addStatusRoutes(app, handle, stats);
  if (handle.cluster !== undefined) addClusterRoutes(app, handle.cluster);
  const serveKey = async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> => {
    const { op, returnBody } = parseKeyRequest(request, limits);
    if (!handle.isReady()) throw notReadyError("starting");
    const result = await handle.request(op);
    if (!result.ok) throw resultError(result);
    return sendKeyResult(reply, result, returnBody);
  };
  app.route({ method: MEC_METHODS.filter((m) => m !== "HEAD"), url: "/mec/*", handler: serveKey });
  app.route({ method: MEC_METHODS.filter((m) => m !== "HEAD"), url: "/mec", handler: serveKey });
  return app;
}

/** The Fastify instance: logger, body limit, connection limits, and a body parser that keeps raw bytes. */
function createFastify(maxBodyBytes: number, stats: NodeStats, opts: HttpServerOptions): FastifyInstance {
  const logger = opts.logger ?? false;
  const isInstance = typeof logger === "object" && logger !== null && typeof (logger as { child?: unknown }).child === "function";
  const app = Fastify({
    ...(isInstance ? { loggerInstance: logger as FastifyBaseLogger } : { logger: logger as boolean | Record<string, unknown> }),
    logController: new LogController({ disableRequestLogging: !(opts.requestLogging ?? false) }),
    // Without request logging, requests log through the node's logger itself: Fastify's
    // default makes a pino child (with the request id bound) for every request, a cost
    // measured in `npm run bench` (the one line that logs from a request names its id).
    ...(opts.requestLogging === true ? {} : { childLoggerFactory: (parent: FastifyBaseLogger) => parent }),
    bodyLimit: maxBodyBytes,
    serverFactory: serverFactory(opts.connection ?? DEFAULT_CONNECTION_OPTIONS),
    clientErrorHandler,
    // Errors Fastify finds before routing (e.g. a malformed URL) get our JSON shape too.
    frameworkErrors: (error, request, reply) => {
      const underMec = (request.raw.url ?? "").startsWith("/mec");
      const message = underMec ? "invalid percent-encoding in the key" : error.message;
      // Hooks do not run for these errors: count the request here.
      stats.recordRequest(requestOpOf(request.method, request.raw.url ?? ""), 400, 0);
      void sendError(reply, new HttpError(400, underMec ? "bad-key" : "bad-request", message));
    },
  });

  // Every body is raw bytes, whatever its Content-Type (JSON included: never reparsed).
  app.removeAllContentTypeParsers();
  app.addContentTypeParser("*", { parseAs: "buffer", bodyLimit: maxBodyBytes }, (_req, body, done) => done(null, body));
  return app;
}

/** Answers 401 (with a Bearer challenge) to every request the tokens do not allow. */
function requireBearerToken(app: FastifyInstance, authTokens: NonNullable<HttpServerOptions["authTokens"]>): void {
  const auth = new BearerAuth(authTokens);
  app.addHook("onRequest", (request, reply, done) => {
    if (auth.allows(request.url.split("?")[0] ?? "", request.headers.authorization)) return done();
    reply.header("www-authenticate", 'Bearer realm="mec"');
    void sendError(reply, new HttpError(401, "unauthorized", "missing or wrong bearer token (Authorization: Bearer <token>)"));
  });
}

/** Our JSON error shape for thrown errors, Fastify's own 4xx, unknown routes and wrong methods. */
function setErrorHandlers(app: FastifyInstance, maxBodyBytes: number): void {
  app.setErrorHandler((error: FastifyError | HttpError, request, reply) => {
    if (error instanceof HttpError) return sendError(reply, error);
    const status = typeof error.statusCode === "number" ? error.statusCode : 500;
    if (status >= 400 && status < 500) {
      const code: ErrorCode =
        status === 413 ? "too-large" : status === 415 ? "unsupported-media-type" : status === 405 ? "method-not-allowed" : "bad-request";
      const message = status === 413 ? `request body larger than ${maxBodyBytes} bytes` : error.message;
      return sendError(reply, new HttpError(status, code, message));
    }
    request.log.error({ err: error, reqId: request.id }, "unexpected error in the HTTP API");
    return sendError(reply, new HttpError(500, "internal", "internal error (a bug): see the node's log"));
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split("?")[0] ?? "";
    if (path === "/mec" || path.startsWith("/mec/")) {
      reply.header("allow", "GET, HEAD, PUT, POST, DELETE");
      return sendError(reply, new HttpError(405, "method-not-allowed", `${request.method} is not supported on /mec/:key (use GET, PUT, POST or DELETE)`));
    }
    if (path === "/ping" || path === "/health" || path === "/stats" || path === "/metrics") {
      reply.header("allow", "GET, HEAD");
      return sendError(reply, new HttpError(405, "method-not-allowed", `${request.method} is not supported on ${path}`));
    }
    return sendError(reply, new HttpError(404, "not-found", `no route ${request.method} ${path.slice(0, 200)}`));
  });
}

/** GET /health, /ping, /stats and /metrics. */
function addStatusRoutes(app: FastifyInstance, handle: NodeApiHandle, stats: NodeStats): void {
  // Readiness and identity. /health always answers JSON (200 ready, 503 not); /ping is the
  // original's plain check: 200 pong only when ready.
  const healthBody = (): HealthBody => {
    const h = handle.health();
    return { status: h.status, id: handle.nodeId, name: handle.name, actor: h.actor, ready: h.status === "ok" };
  };
  app.get("/health", (_request, reply) => {
    const body = healthBody();
    return reply.code(body.ready ? 200 : 503).type("application/json; charset=utf-8").send(JSON.stringify(body));
  });
  app.get("/ping", (_request, reply) => {
    const body = healthBody();
    if (!body.ready) return sendError(reply, notReadyError(body.status));
    return reply.type("text/plain; charset=utf-8").send("pong");
  });

  app.get("/stats", async (_request, reply) => {
    const snap = await stats.snapshot();
    const snapshot = { ...snap, node: { ...snap.node, ready: handle.isReady() }, limits: handle.limits };
    return reply.type("application/json; charset=utf-8").send(JSON.stringify(snapshot));
  });

  app.get("/metrics", async (_request, reply) => {
    const text = await stats.metrics();
    return reply.type(stats.metricsContentType).send(text);
  });
}

/** GET /cluster and the membership commands POST /cluster/leave and /cluster/remove/:node. */
function addClusterRoutes(app: FastifyInstance, cluster: ClusterApi): void {
  const json = (reply: FastifyReply, code: number, body: unknown): FastifyReply => reply.code(code).type("application/json; charset=utf-8").send(JSON.stringify(body));
  app.get("/cluster", (_request, reply) => json(reply, 200, cluster.view()));
  app.post("/cluster/leave", async (_request, reply) => {
    const before = cluster.view().ring.epoch;
    const refused = cluster.leave();
    if (refused !== null) return sendError(reply, new HttpError(409, "conflict", refused));
    await adopted(cluster, before);
    return json(reply, 202, { leaving: true, ...cluster.view() });
  });
  app.post("/cluster/remove/:node", async (request, reply) => {
    const node = (request.params as { node: string }).node;
    const before = cluster.view().ring.epoch;
    const outcome = cluster.remove(node);
    if (outcome !== null) return sendError(reply, new HttpError(outcome.unknown ? 404 : 409, outcome.unknown ? "not-found" : "conflict", outcome.refused));
    await adopted(cluster, before);
    return json(reply, 202, { removed: node, ...cluster.view() });
  });
}

/** How long an accepted membership command waits for the node to adopt the change (it persists it first). */
const ADOPT_WAIT_MS = 2000;

/** Resolves once the node's ring epoch moved past `before` (the change is durable and adopted), or after ADOPT_WAIT_MS. */
async function adopted(cluster: ClusterApi, before: number): Promise<void> {
  const until = Date.now() + ADOPT_WAIT_MS;
  while (cluster.view().ring.epoch === before && Date.now() < until) await new Promise((resolve) => setTimeout(resolve, 5));
}

/**
 * Reads a /mec/<key> request into the client operation it asks for (throws HttpError on a bad
 * key, parameter, context or method), and whether the answer should carry the stored set.
 */
function parseKeyRequest(request: FastifyRequest, limits: NodeApiHandle["limits"]): { op: ClientOp; returnBody: boolean } {
  const { n, maxKeyBytes } = limits;
  const rawKey = rawKeyOf(request.raw.url ?? request.url);
  if (rawKey === null) throw new HttpError(400, "bad-key", "path must be /mec/<key>");
  const decoded = decodeKey(rawKey, maxKeyBytes);
  if (!decoded.ok) throw new HttpError(400, "bad-key", decoded.message);
  const key = decoded.key;
  switch (request.method) {
    case "GET":
    case "HEAD": {
      const r = quorumParam(request, "r", n);
      quorumParam(request, "w", n);
      return { op: r === undefined ? { type: "get", key } : { type: "get", key, r }, returnBody: false };
    }
    case "PUT":
    case "POST": {
      quorumParam(request, "r", n);
      const w = quorumParam(request, "w", n);
      const returnBody = returnBodyParam(request);
      const context = contextOf(request);
      const body = request.body;
      const value = Buffer.isBuffer(body) ? new Uint8Array(body.buffer, body.byteOffset, body.byteLength) : new Uint8Array(0);
      const ctHeader = request.headers["content-type"];
      const contentType = typeof ctHeader === "string" && ctHeader.length > 0 ? ctHeader : DEFAULT_CONTENT_TYPE;
      return { op: { type: "put", key, value, contentType, context, ...(w === undefined ? {} : { w }), ...clientIdOf(request) }, returnBody };
    }
    case "DELETE": {
      quorumParam(request, "r", n);
      const w = quorumParam(request, "w", n);
      const context = contextOf(request);
      return { op: { type: "delete", key, context, ...(w === undefined ? {} : { w }), ...clientIdOf(request) }, returnBody: false };
    }
    default:
      throw new HttpError(405, "method-not-allowed", `${request.method} is not supported on /mec/:key`);
  }
}

/** Answers a successful client operation: the sibling set for a read, headers only for a write. */
function sendKeyResult(reply: FastifyReply, result: Extract<ClientResult, { ok: true }>, returnBody: boolean): FastifyReply {
  if (result.type === "get") return sendSet(reply, result.set);
  if (returnBody) {
    // Like GET, with the stored set's clock (the client now sees every sibling).
    return sendSet(reply, result.set);
  }
  // src/api/write-answer.ts decides: the stored set's clock when the written value is the
  // only live one; no clock (and the sibling count) when it left siblings the client was
  // not shown.
  const answer = writeAnswer(result);
  if (answer.clock !== null) reply.header(VCLOCK_HEADER, encodeVclock(answer.clock));
  reply.header(SIBLINGS_HEADER, String(answer.liveSiblings));
  if (answer.status === 204) return reply.code(204).send();
  return reply.code(200).header("content-length", "0").send();
}
