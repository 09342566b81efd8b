// The composition root of a production node: wires the deterministic node (src/core) to the
// real world through the production adapters, and serves the HTTP API.
//
//   LevelDB storage (root)  --+
//   ZeroMQ transport (port, port+1) --+--> NodeHost(createNode(config)) <-- HTTP API (httpport)
//   system clock, pino log --+
//
// Boot order, chosen so failures are fast and leave nothing behind:
//   1. open LevelDB under root (a root held by another process fails here, before any port
//      is bound);
//   2. bind the ZeroMQ sockets (a taken port fails here);
//   3. start the node and wait for its "ready" event (meta record read or written, state
//      rebuilt from storage; no peer needs to be up);
//   4. only then listen for HTTP: an answering /ping means the node is ready.
// If a step fails, everything opened before it is closed and the error is rethrown.
//
// stop() reverses it: HTTP (no new requests; in-flight ones finish), node host, sockets,
// LevelDB (waits for running storage ops, releases the LOCK).
import { randomInt } from "node:crypto";
import type { FastifyInstance } from "fastify";
import type { Logger } from "pino";
import { createNode } from "../core/node.ts";
import type { ClientOp, ClientResult, NodeConfig, NodeEvent, NodeInspection } from "../core/types.ts";
import { applyChange, describeCluster, memberOf, type ClusterState } from "../core/membership/cluster-state.ts";
import { LEFT_LINGER_HEARTBEATS } from "../core/membership/membership.ts";
import { NodeHost } from "../host/host.ts";
import type { Ports } from "../ports/index.ts";
import { toNodeConfig, type MecConfig } from "../config/index.ts";
import { LevelStorage } from "../adapters/level-storage.ts";
import { ZmqTransport } from "../adapters/zmq-transport.ts";
import { classifyPeerMessage } from "../adapters/peer-channel.ts";
import { SystemClock } from "../adapters/system-clock.ts";
import { createLogger, pinoLogPort } from "../adapters/logger.ts";
import { buildHttpServer } from "../adapters/http/server.ts";
import { NodeStats } from "../adapters/http/stats.ts";
import type { ClusterApi, NodeApiHandle } from "../adapters/http/handle.ts";
import { readKeyFile, type CurveKeyPair } from "../adapters/curve-keys.ts";
import { readTokensFile } from "../adapters/http/auth.ts";
import { SecurityMetrics } from "../adapters/security-metrics.ts";
import { readFileSync } from "node:fs";
import { isLoopbackHost, nodeIdOf } from "../config/index.ts";
import { LatencyTrace } from "./latency-trace.ts";

interface StartNodeOptions {
  /** Seed of the node's PRNG; default: from the OS. */
  readonly seed?: number;
  /** Logger to use; default: pino on stdout at the config's log_level. */
  readonly logger?: Logger;
  /** Log every HTTP request (costs throughput). Default false. */
  readonly requestLogging?: boolean;
  /** Give up waiting for the node's "ready" event after this long. Default 30 s. */
  readonly readyTimeoutMs?: number;
}

export interface RunningNode {
  readonly config: MecConfig;
  readonly nodeConfig: NodeConfig;
  readonly host: NodeHost;
  readonly transport: ZmqTransport;
  readonly storage: LevelStorage;
  readonly stats: NodeStats;
  readonly http: FastifyInstance;
  readonly logger: Logger;
  /** e.g. http://127.0.0.1:3000 */
  readonly url: string;
  /** The node's actor in vclocks (name.incarnation). */
  readonly actor: string;
  /**
   * Resolves when the node asks its process to end: code 0 after it left the cluster (POST
   * /cluster/leave, or it was removed), 1 when a member refused to add it (the message says why).
   */
  readonly exit: Promise<{ readonly code: number; readonly message: string }>;
  /** Stops HTTP, the node, the sockets and LevelDB. Idempotent. */
  stop(): Promise<void>;
}

export { classifyPeerMessage };

function httpHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** The files a config names (key pair, TLS, tokens), read before anything is opened; throws naming the key. */
function readSecrets(config: MecConfig): { curve?: { keys: CurveKeyPair; peerKeys: Map<string, string> }; tls: { cert: Buffer; key: Buffer } | null; tokens?: string[] } {
  const named = <T>(key: string, read: () => T): T => {
    try {
      return read();
    } catch (err) {
      throw new Error(`${key}: ${(err as Error).message}`);
    }
  };
  const out: ReturnType<typeof readSecrets> = { tls: null };
  if (config.curveKeyFile !== null) {
    const keys = named("curve_key_file", () => readKeyFile(config.curveKeyFile!));
    const peerKeys = new Map([[nodeIdOf(config.bind, config.port), keys.publicKey]]);
    for (const p of config.peers) peerKeys.set(nodeIdOf(p.host, p.port), p.curvePublicKey!);
    out.curve = { keys, peerKeys };
  }
  if (config.httpTlsCertFile !== null && config.httpTlsKeyFile !== null) {
    out.tls = {
      cert: named("http_tls_cert_file", () => readFileSync(config.httpTlsCertFile!)),
      key: named("http_tls_key_file", () => readFileSync(config.httpTlsKeyFile!)),
    };
  }
  if (config.httpAuthTokensFile !== null) out.tokens = named("http_auth_tokens_file", () => readTokensFile(config.httpAuthTokensFile!));
  return out;
}

/** Start-up warnings for a node reachable beyond loopback without the protections. */
function exposureWarnings(config: MecConfig, secrets: ReturnType<typeof readSecrets>): string[] {
  if (isLoopbackHost(config.bind)) return [];
  const out: string[] = [];
  if (secrets.curve === undefined) out.push(`allow_insecure: cluster ports on ${config.bind} accept anyone (no curve_key_file): any process that reaches them can read and write every key`);
  if (secrets.tls === null) out.push(`HTTP on ${config.bind} without TLS (http_tls_cert_file/http_tls_key_file): values and tokens travel in clear text`);
  if (secrets.tokens === undefined) out.push(`HTTP on ${config.bind} without authentication (http_auth_tokens_file): anyone who reaches it can read and write`);
  return out;
}

/** GET /cluster and the membership commands, over the node's read-only inspection (a dry run of the change says whether it is accepted). */
function clusterApi(host: NodeHost, nodeConfig: NodeConfig): ClusterApi {
  const inspect = (): NodeInspection => host.node.inspect!();
  const state = (): ClusterState => inspect().cluster!;
  return {
    view: () => describeCluster(state(), nodeConfig.n, inspect().transfers?.active ?? []),
    leave: () => {
      const r = applyChange(state(), { type: "leave", id: nodeConfig.id }, nodeConfig.n);
      if (!r.ok) return r.message;
      host.admin({ type: "leave" });
      return null;
    },
    remove: (node) => {
      if (memberOf(state(), node) === undefined) return { refused: `${node} is not a member (members are named by id, host:port)`, unknown: true };
      const r = applyChange(state(), { type: "remove", id: node }, nodeConfig.n);
      if (!r.ok) return { refused: r.message, unknown: false };
      host.admin({ type: "remove", node });
      return null;
    },
  };
}

type Secrets = ReturnType<typeof readSecrets>;
type Cleanups = (() => Promise<void> | void)[];
type ReadyEvent = Extract<NodeEvent, { type: "ready" }>;
type ExitOutcome = { code: number; message: string };

export async function startNode(config: MecConfig, opts: StartNodeOptions = {}): Promise<RunningNode> {
  const seed = opts.seed ?? randomInt(0, 2 ** 32 - 1);
  const nodeConfig = toNodeConfig(config, seed);
  const logger = opts.logger ?? createLogger({ level: config.logLevel, bindings: { node: config.name, id: nodeConfig.id } });
  const cleanups: Cleanups = [];
  const cleanup = async (): Promise<void> => {
    for (const fn of cleanups.splice(0).reverse()) {
      try {
        await fn();
      } catch (err) {
        logger.warn({ err }, "error while stopping");
      }
    }
  };

  try {
    for (const notice of config.notices) logger.warn({ config: config.source }, `config: ${notice}`);
    const secrets = readSecrets(config);
    for (const w of exposureWarnings(config, secrets)) logger.warn(`security: ${w}`);
    const storage = await LevelStorage.open(config.root, { sync: config.sync });
    cleanups.push(() => storage.close());
    const transport = await startTransport(config, nodeConfig, secrets, logger);
    cleanups.push(() => transport.close());
    const stats = new NodeStats({ nodeId: nodeConfig.id, name: config.name });
    const booting = createHost(config, nodeConfig, storage, transport, stats, logger);
    const host = booting.host;
    cleanups.push(() => host.stop());
    host.start();
    const actor = (await awaitReady(booting.ready, opts.readyTimeoutMs ?? 30_000)).actor;
    const handle = apiHandle(host, config, nodeConfig, stats, booting.readyEvent, booting.trace);
    const { http, url } = await listenHttp(handle, stats, config, secrets, logger, opts, cleanups);
    logger.info({ url, actor, members: nodeConfig.members, port: config.port, dataPort: config.port + 1 }, "node ready");

    let stopping: Promise<void> | null = null;
    return {
      config,
      nodeConfig,
      host,
      transport,
      storage,
      stats,
      http,
      logger,
      url,
      actor,
      exit: booting.exit,
      stop(): Promise<void> {
        stopping ??= (async () => {
          logger.info({ transport: transport.stats }, "node stopping");
          await cleanup();
          logger.info("node stopped");
        })();
        return stopping;
      },
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

function startTransport(config: MecConfig, nodeConfig: NodeConfig, secrets: Secrets, logger: Logger): Promise<ZmqTransport> {
  return ZmqTransport.start({
    selfId: nodeConfig.id,
    bind: config.bind,
    port: config.port,
    peers: nodeConfig.members,
    classify: classifyPeerMessage,
    maxMessageBytes: config.maxMessageBytes,
    ...(secrets.curve === undefined ? {} : { curve: secrets.curve }),
    onWarning: (msg, fields) => logger.warn(fields, `transport: ${msg}`),
  });
}

/**
 * The node's host on real ports, not yet started. `ready` resolves on the node's first "ready"
 * event (kept in `readyEvent()`) and rejects on "boot-failed"; `exit` resolves when the node
 * asks its process to end (it left, or its join was refused).
 */
function createHost(config: MecConfig, nodeConfig: NodeConfig, storage: LevelStorage, transport: ZmqTransport, stats: NodeStats, logger: Logger): { host: NodeHost; ready: Promise<ReadyEvent>; readyEvent: () => ReadyEvent | null; exit: Promise<ExitOutcome>; trace: LatencyTrace | null } {
  const security = new SecurityMetrics(stats.registry, () => transport.stats);
  let readyEvent: ReadyEvent | null = null;
  let signalReady: (event: ReadyEvent) => void = () => {};
  let signalBootFailed: (err: Error) => void = () => {};
  let signalExit: (outcome: ExitOutcome) => void = () => {};
  const exit = new Promise<ExitOutcome>((resolve) => (signalExit = resolve));
  const ready = new Promise<ReadyEvent>((resolve, reject) => {
    signalReady = resolve;
    signalBootFailed = reject;
  });
  const trace = LatencyTrace.fromEnv(config.name);
  const ports: Ports = { clock: new SystemClock(), transport: trace?.transport(transport) ?? transport, storage: trace?.storage(storage) ?? storage, log: pinoLogPort(logger) };
  const machine = createNode(nodeConfig);
  const host = new NodeHost(trace?.machine(machine) ?? machine, ports, {
    onEvent(event, now) {
      stats.onEvent(event, now);
      security.onEvent(event);
      if (event.type === "ready" && readyEvent === null) {
        readyEvent = event;
        signalReady(event);
      }
      // Booted without its meta record, told to join: not ready (503) until a member's state names it.
      if (event.type === "joining") stats.setJoining(true);
      if (event.type === "joined") stats.setJoining(false);
      // A corrupt store (e.g. a damaged table block): startNode fails, `mec` exits 1 with the message.
      if (event.type === "boot-failed") signalBootFailed(new Error(`cannot boot from root ${storage.root}: ${event.message}`));
      if (event.type === "join-refused") signalExit({ code: 1, message: event.message });
      if (event.type === "left") setTimeout(() => signalExit({ code: 0, message: "left the cluster" }), LEFT_LINGER_HEARTBEATS * config.heartbeatIntervalMs).unref();
    },
  });
  return { host, ready, readyEvent: () => readyEvent, exit, trace };
}

function awaitReady(ready: Promise<ReadyEvent>, readyTimeoutMs: number): Promise<ReadyEvent> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    ready,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`node did not become ready within ${readyTimeoutMs} ms (see the log)`)), readyTimeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** What the HTTP API sees of the node. */
function apiHandle(host: NodeHost, config: MecConfig, nodeConfig: NodeConfig, stats: NodeStats, readyEvent: () => ReadyEvent | null, trace: LatencyTrace | null): NodeApiHandle {
  const request = (op: ClientOp): Promise<ClientResult> => host.requestAsync(op);
  return {
    request: trace?.request(request) ?? request,
    nodeId: nodeConfig.id,
    name: config.name,
    limits: { n: config.n, r: config.r, w: config.w, maxBodyBytes: config.maxBodyBytes, maxKeyBytes: config.maxKeyBytes },
    isReady: () => readyEvent() !== null,
    cluster: clusterApi(host, nodeConfig),
    health: () => ({
      status: readyEvent() === null ? "starting" : stats.joining ? "joining" : stats.storageFailingReason !== null ? "storage-failing" : "ok",
      actor: readyEvent()?.actor ?? null,
    }),
  };
}

/** Builds the HTTP server (its close joins `cleanups`) and listens on the configured port. */
async function listenHttp(handle: NodeApiHandle, stats: NodeStats, config: MecConfig, secrets: Secrets, logger: Logger, opts: StartNodeOptions, cleanups: Cleanups): Promise<{ http: FastifyInstance; url: string }> {
  const http = buildHttpServer(handle, stats, {
    logger,
    requestLogging: opts.requestLogging ?? false,
    connection: { requestTimeoutMs: config.httpRequestTimeoutMs, idleTimeoutMs: config.httpIdleTimeoutMs, tls: secrets.tls },
    ...(secrets.tokens === undefined ? {} : { authTokens: secrets.tokens }),
  });
  cleanups.push(() => http.close());
  try {
    await http.listen({ host: config.bind, port: config.httpPort, listenTextResolver: () => "" });
  } catch (err) {
    const code = (err as { code?: string }).code;
    const why = code === "EADDRINUSE" ? "already in use" : (err as Error).message;
    throw new Error(`cannot listen for HTTP on ${config.bind}:${config.httpPort}: ${why}`);
  }
  return { http, url: `${secrets.tls === null ? "http" : "https"}://${httpHost(config.bind)}:${config.httpPort}` };
}
