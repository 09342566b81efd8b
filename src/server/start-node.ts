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
import { decode as msgpackDecode } from "@msgpack/msgpack";
import { createNode } from "../core/node.ts";
import type { NodeConfig, NodeEvent } from "../core/types.ts";
import { NodeHost } from "../host/host.ts";
import type { Ports } from "../ports/index.ts";
import { toNodeConfig, type MecConfig } from "../config/index.ts";
import { LevelStorage } from "../adapters/level-storage.ts";
import { ZmqTransport, type Channel } from "../adapters/zmq-transport.ts";
import { SystemClock } from "../adapters/system-clock.ts";
import { createLogger, pinoLogPort } from "../adapters/logger.ts";
import { buildHttpServer } from "../adapters/http/server.ts";
import { NodeStats } from "../adapters/http/stats.ts";
import type { NodeApiHandle } from "../adapters/http/handle.ts";

export interface StartNodeOptions {
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
  /** Stops HTTP, the node, the sockets and LevelDB. Idempotent. */
  stop(): Promise<void>;
}

/** Peer messages that travel on the control channel (`port`): membership traffic. */
const CONTROL_TYPES = new Set(["heartbeat"]);
/** Heartbeats are a few dozen bytes; anything larger is data without decoding it. */
const CONTROL_SIZE_MAX = 256;

/** Routes heartbeats to the control socket, the rest to the data socket (see zmq-transport.ts). */
export function classifyPeerMessage(bytes: Uint8Array): Channel {
  if (bytes.length > CONTROL_SIZE_MAX) return "data";
  // A heartbeat is a msgpack map of two fields (type, from); every other message has at least
  // three (type, from, reqId), so anything else is data without decoding it (acks, gets).
  if (bytes[0] !== 0x82) return "data";
  try {
    const msg = msgpackDecode(bytes) as { type?: unknown } | null;
    return typeof msg === "object" && msg !== null && typeof msg.type === "string" && CONTROL_TYPES.has(msg.type) ? "control" : "data";
  } catch {
    return "data";
  }
}

function httpHost(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

export async function startNode(config: MecConfig, opts: StartNodeOptions = {}): Promise<RunningNode> {
  const seed = opts.seed ?? randomInt(0, 2 ** 32 - 1);
  const nodeConfig = toNodeConfig(config, seed);
  const logger = opts.logger ?? createLogger({ level: config.logLevel, bindings: { node: config.name, id: nodeConfig.id } });
  const cleanups: (() => Promise<void> | void)[] = [];
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
    const storage = await LevelStorage.open(config.root, { sync: config.sync });
    cleanups.push(() => storage.close());

    const transport = await ZmqTransport.start({
      selfId: nodeConfig.id,
      bind: config.bind,
      port: config.port,
      peers: nodeConfig.members,
      classify: classifyPeerMessage,
      onWarning: (msg, fields) => logger.warn(fields, `transport: ${msg}`),
    });
    cleanups.push(() => transport.close());

    const stats = new NodeStats({ nodeId: nodeConfig.id, name: config.name });
    let readyEvent: Extract<NodeEvent, { type: "ready" }> | null = null;
    let signalReady: () => void = () => {};
    let signalBootFailed: (err: Error) => void = () => {};
    const ready = new Promise<void>((resolve, reject) => {
      signalReady = resolve;
      signalBootFailed = reject;
    });
    const ports: Ports = { clock: new SystemClock(), transport, storage, log: pinoLogPort(logger) };
    const host = new NodeHost(createNode(nodeConfig), ports, {
      onEvent(event, now) {
        stats.onEvent(event, now);
        if (event.type === "ready" && readyEvent === null) {
          readyEvent = event;
          signalReady();
        }
        // A corrupt store (e.g. a damaged table block): startNode fails, `mec` exits 1 with the message.
        if (event.type === "boot-failed") signalBootFailed(new Error(`cannot boot from root ${storage.root}: ${event.message}`));
      },
    });
    cleanups.push(() => host.stop());

    const handle: NodeApiHandle = {
      request: (op) => host.requestAsync(op),
      nodeId: nodeConfig.id,
      name: config.name,
      limits: { n: config.n, r: config.r, w: config.w, maxBodyBytes: config.maxBodyBytes, maxKeyBytes: config.maxKeyBytes },
      isReady: () => readyEvent !== null,
      health: () => ({
        status: readyEvent === null ? "starting" : stats.storageFailingReason !== null ? "storage-failing" : "ok",
        actor: readyEvent?.actor ?? null,
      }),
    };

    host.start();
    const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      ready,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`node did not become ready within ${readyTimeoutMs} ms (see the log)`)), readyTimeoutMs);
      }),
    ]).finally(() => clearTimeout(timer));
    const actor = (readyEvent as Extract<NodeEvent, { type: "ready" }> | null)?.actor ?? "";

    const http = buildHttpServer(handle, stats, { logger, requestLogging: opts.requestLogging ?? false });
    cleanups.push(() => http.close());
    try {
      await http.listen({ host: config.bind, port: config.httpPort, listenTextResolver: () => "" });
    } catch (err) {
      const code = (err as { code?: string }).code;
      const why = code === "EADDRINUSE" ? "already in use" : (err as Error).message;
      throw new Error(`cannot listen for HTTP on ${config.bind}:${config.httpPort}: ${why}`);
    }
    const url = `http://${httpHost(config.bind)}:${config.httpPort}`;
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
