// Loading and validating a node's TOML config. Owns: the config file format
// (the original MecDB README's keys plus optional keys with documented defaults, see
// README.md next to this file), its validation with messages that name the file, the key
// and the problem, and the mapping to the core's NodeConfig. Must not know: how the node is
// booted (src/cli), the ring, or storage; it reads one file and nothing else.
//
// Every key of the file is described once in KEY_SPECS below; validation, defaults, the
// unknown-key check and the README table all follow from that list. Parsing and value checks
// are the shared strict reader's (toml-reader.ts), the one scenarios use too.
import { mkdirSync, readFileSync, statSync } from "node:fs";
import { dirname, isAbsolute, resolve } from "node:path";
import type { NodeConfig, NodeId } from "../core/types.ts";
import type { VersioningMode } from "../core/versioning/types.ts";
import { BOOLEAN, checkValue, describeKind, int, NON_EMPTY, oneOf, parseToml, showValue, unknownKeyMessage, type ErrorFactory, type Kind } from "./toml-reader.ts";

/** A config problem: the message names the file, the key (when there is one) and the problem. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  constructor(
    message: string,
    /** The file (or label) the config came from. */
    readonly source: string,
    /** The offending key, e.g. "httpport" or "node[2].port" (1-based [[node]] index); null for file-level errors. */
    readonly key: string | null = null,
    /** Extra lines worth showing under the message (the TOML code block around a syntax error). */
    readonly detail: string | null = null,
  ) {
    super(message);
  }
}

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal" | "silent";
export const LOG_LEVELS: readonly LogLevel[] = ["trace", "debug", "info", "warn", "error", "fatal", "silent"];
export const VERSIONING_MODES: readonly VersioningMode[] = ["dvv", "lww", "client-vclock"];

/** One other node of the cluster, as listed in a [[node]] table. */
export interface PeerAddress {
  readonly host: string;
  readonly port: number;
  /** `curve_public_key`: the node's CURVE public key (Z85); null when the cluster runs without CURVE. */
  readonly curvePublicKey: string | null;
}

/** A validated config. Field names are the TOML keys in camelCase with units last. */
export interface MecConfig {
  /** Where the config came from (the path given to loadConfigFile, or parseConfig's source). */
  readonly source: string;
  /** `name`: this instance's name, unique in the cluster; the prefix of its vclock actors. */
  readonly name: string;
  /** `port`: cluster/membership port; the ZeroMQ ROUTER for peer requests binds port + 1. */
  readonly port: number;
  /** `httpport`: the HTTP API port. */
  readonly httpPort: number;
  /** `root`: the LevelDB directory, as an absolute path. */
  readonly root: string;
  /** `[[node]]`: the other nodes (this node's own bind:port is dropped if listed). */
  readonly peers: readonly PeerAddress[];
  readonly bind: string;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  /** `partitions` */
  readonly partitionCount: number;
  readonly sync: boolean;
  readonly mode: VersioningMode;
  readonly requestTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  readonly suspectAfterMs: number;
  readonly handoffIntervalMs: number;
  /** 0 = anti-entropy off. */
  readonly antiEntropyIntervalMs: number;
  /** -1 = keep tombstones forever. */
  readonly reapDelayMs: number;
  readonly maxBodyBytes: number;
  readonly maxKeyBytes: number;
  readonly logLevel: LogLevel;
  /**
   * What validation adjusted, one sentence each, for the node to log at start: n, r and w
   * larger than the number of members are capped at it (a 1-node cluster cannot keep 3 copies).
   */
  readonly notices: readonly string[];
  /** `curve_key_file`: this node's CURVE key pair (mec keygen), as an absolute path; null = no CURVE. */
  readonly curveKeyFile: string | null;
  /** `allow_insecure`: allow a non-loopback bind without CURVE. */
  readonly allowInsecure: boolean;
  /** `join`: the [[node]] list names members to join through, not the whole cluster (n/r/w are not capped at its size). */
  readonly join: boolean;
  readonly maxMessageBytes: number;
  readonly warnSiblings: number;
  readonly maxSiblings: number;
  readonly warnObjectBytes: number;
  readonly maxObjectBytes: number;
  readonly httpRequestTimeoutMs: number;
  readonly httpIdleTimeoutMs: number;
  /** `http_tls_cert_file` / `http_tls_key_file`: PEM files (absolute paths); both null = plain HTTP. */
  readonly httpTlsCertFile: string | null;
  readonly httpTlsKeyFile: string | null;
  /** `http_auth_tokens_file`: bearer tokens, one per line (absolute path); null = no authentication. */
  readonly httpAuthTokensFile: string | null;
}

type OptionalField = Exclude<keyof MecConfig, "source" | "name" | "port" | "httpPort" | "root" | "peers" | "notices">;

/** Defaults of the optional keys (TypeScript field names; the TOML keys are in KEY_SPECS). */
export const CONFIG_DEFAULTS: { readonly [K in OptionalField]: MecConfig[K] } = Object.freeze({
  bind: "127.0.0.1",
  n: 3,
  r: 2,
  w: 2,
  partitionCount: 64,
  sync: true,
  mode: "dvv",
  requestTimeoutMs: 2000,
  heartbeatIntervalMs: 200,
  suspectAfterMs: 800,
  handoffIntervalMs: 1000,
  antiEntropyIntervalMs: 10000,
  reapDelayMs: 3000,
  maxBodyBytes: 1048576,
  maxKeyBytes: 512,
  logLevel: "info",
  curveKeyFile: null,
  allowInsecure: false,
  join: false,
  maxMessageBytes: 64 * 1024 * 1024,
  warnSiblings: 25,
  maxSiblings: 100,
  warnObjectBytes: 2 * 1024 * 1024,
  maxObjectBytes: 8 * 1024 * 1024,
  httpRequestTimeoutMs: 30_000,
  httpIdleTimeoutMs: 10_000,
  httpTlsCertFile: null,
  httpTlsKeyFile: null,
  httpAuthTokensFile: null,
});

// ---- key specifications ----

export interface KeySpec {
  /** The key as written in TOML. */
  readonly toml: string;
  /** The MecConfig field it fills. */
  readonly field: Exclude<keyof MecConfig, "source" | "peers">;
  readonly kind: Kind;
  readonly required: boolean;
  /** One line for the config reference. */
  readonly doc: string;
}

const PORT: Kind = int(1, 65535);
const MS: Kind = int(1, 86_400_000);
const STRING: Kind = NON_EMPTY;

/** Every top-level key of the config file, in the order of the reference table. */
export const KEY_SPECS: readonly KeySpec[] = [
  { toml: "name", field: "name", kind: STRING, required: true, doc: "Name of this instance, unique in the cluster (the prefix of its vclock actors)." },
  { toml: "port", field: "port", kind: int(1, 65534), required: true, doc: "Cluster port (membership/heartbeats); the ZeroMQ ROUTER for peer requests binds `port + 1`, so both must be free." },
  { toml: "httpport", field: "httpPort", kind: PORT, required: true, doc: "Port of the HTTP API. Must differ from `port` and `port + 1`." },
  { toml: "root", field: "root", kind: STRING, required: true, doc: "LevelDB directory, created if missing. A relative path is resolved against the config file's directory." },
  { toml: "bind", field: "bind", kind: STRING, required: false, doc: "Host to bind (all three ports) and this node's own address in the cluster; its id is `bind:port`." },
  { toml: "n", field: "n", kind: int(1, 64), required: false, doc: "Replicas per key (N); capped at the number of nodes." },
  { toml: "r", field: "r", kind: int(1, 64), required: false, doc: "Default read quorum (R), 1..n; `?r=` overrides it per request. Capped at the number of nodes." },
  { toml: "w", field: "w", kind: int(1, 64), required: false, doc: "Default write quorum (W), 1..n; `?w=` overrides it per request. Capped at the number of nodes." },
  { toml: "partitions", field: "partitionCount", kind: int(1, 65536), required: false, doc: "Number of ring partitions; every node of a cluster must use the same value, and it cannot change later." },
  { toml: "sync", field: "sync", kind: BOOLEAN, required: false, doc: "Sync LevelDB writes to disk before acknowledging them (false: a power loss can lose the last acknowledged writes of this node, never a dot reused; a process crash loses nothing)." },
  { toml: "mode", field: "mode", kind: oneOf(VERSIONING_MODES), required: false, doc: "Versioning: `dvv` (dotted version vectors, correct), or the teaching modes `lww` (last write wins) and `client-vclock` (the original's client-id clocks)." },
  { toml: "request_timeout_ms", field: "requestTimeoutMs", kind: MS, required: false, doc: "A coordinator gives up on a request (503) after this long." },
  { toml: "heartbeat_interval_ms", field: "heartbeatIntervalMs", kind: MS, required: false, doc: "Interval between heartbeats to peers (sent to every peer, whatever other traffic flows)." },
  { toml: "suspect_after_ms", field: "suspectAfterMs", kind: MS, required: false, doc: "A peer silent this long is suspected; sloppy quorum routes around it. A peer whose request timed out is suspected too, until it answers a request again." },
  { toml: "handoff_interval_ms", field: "handoffIntervalMs", kind: MS, required: false, doc: "How often hinted handoff retries delivering hints to their owners." },
  { toml: "anti_entropy_interval_ms", field: "antiEntropyIntervalMs", kind: int(0, 86_400_000), required: false, doc: "Interval between anti-entropy exchanges; 0 turns anti-entropy off." },
  { toml: "reap_delay_ms", field: "reapDelayMs", kind: int(-1, 86_400_000 * 365), required: false, doc: "Tombstones held by all N replicas are removed after this delay; -1 keeps tombstones forever." },
  { toml: "max_body_bytes", field: "maxBodyBytes", kind: int(0, 1 << 30), required: false, doc: "Largest accepted request body (413 above)." },
  { toml: "max_key_bytes", field: "maxKeyBytes", kind: int(1, 65536), required: false, doc: "Longest accepted key, in UTF-8 bytes (400 above)." },
  { toml: "log_level", field: "logLevel", kind: oneOf(LOG_LEVELS), required: false, doc: "pino log level: trace, debug, info, warn, error, fatal or silent." },
  { toml: "curve_key_file", field: "curveKeyFile", kind: STRING, required: false, doc: "This node's CURVE key pair (written by `mec keygen`); relative to the config file. Turns on authenticated, encrypted cluster traffic: every `[[node]]` then needs its `curve_public_key`." },
  { toml: "allow_insecure", field: "allowInsecure", kind: BOOLEAN, required: false, doc: "Allow a `bind` beyond loopback without `curve_key_file` (anyone who reaches the cluster ports can then read and write everything); warns at start." },
  { toml: "join", field: "join", kind: BOOLEAN, required: false, doc: "The `[[node]]` list names running members to join through, not the whole cluster: n, r and w are then not capped at its length. Every node asks its listed nodes to add it in any case; a member that does not know it adds it (GET /cluster shows the result)." },
  { toml: "max_message_bytes", field: "maxMessageBytes", kind: int(65_536, 1 << 30), required: false, doc: "Largest ZeroMQ message a node accepts from a peer (a larger one drops the connection); at least twice `max_object_bytes`." },
  { toml: "warn_siblings", field: "warnSiblings", kind: int(1, 1_000_000), required: false, doc: "A write leaving more siblings than this logs a warning." },
  { toml: "max_siblings", field: "maxSiblings", kind: int(1, 1_000_000), required: false, doc: "A write that would leave more siblings is refused (409 `too-many-siblings`)." },
  { toml: "warn_object_bytes", field: "warnObjectBytes", kind: int(1, 1 << 30), required: false, doc: "A write making a key's stored object (all siblings) larger than this logs a warning." },
  { toml: "max_object_bytes", field: "maxObjectBytes", kind: int(1, 1 << 29), required: false, doc: "A write that would make the stored object larger is refused (413 `object-too-large`)." },
  { toml: "http_request_timeout_ms", field: "httpRequestTimeoutMs", kind: MS, required: false, doc: "A request (headers and body) not fully received after this long is answered 408 and its connection closed." },
  { toml: "http_idle_timeout_ms", field: "httpIdleTimeoutMs", kind: MS, required: false, doc: "A connection that sends nothing for this long (a stalled body, an idle keep-alive) is closed." },
  { toml: "http_tls_cert_file", field: "httpTlsCertFile", kind: STRING, required: false, doc: "PEM certificate (chain) for HTTPS; with `http_tls_key_file`. Relative to the config file." },
  { toml: "http_tls_key_file", field: "httpTlsKeyFile", kind: STRING, required: false, doc: "PEM private key for HTTPS; with `http_tls_cert_file`." },
  { toml: "http_auth_tokens_file", field: "httpAuthTokensFile", kind: STRING, required: false, doc: "File of bearer tokens, one per line (`#` comments); every request except `/ping` and `/health` then needs `Authorization: Bearer <token>` (401 otherwise)." },
];

/** Keys whose value is a file path, resolved against the config file's directory. */
const PATH_FIELDS = ["curveKeyFile", "httpTlsCertFile", "httpTlsKeyFile", "httpAuthTokensFile"] as const;

/** True for a host that only this machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase();
  return h === "localhost" || h === "::1" || h === "[::1]" || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h);
}

/** The keys of a [[node]] table. */
const NODE_KEYS = ["host", "port", "curve_public_key"] as const;
/** A Z85 CURVE key: 40 characters of the Z85 alphabet. */
const CURVE_KEY = /^[0-9a-zA-Z.\-:+=^!/*?&<>()[\]{}@%$#]{40}$/;

// ---- helpers ----

/** The cluster-wide id of the node at host:port (what the ring and the transport use). */
export function nodeIdOf(host: string, port: number): NodeId {
  return `${host}:${port}`;
}

/** ConfigErrors from the shared reader's messages. */
function errorsFor(source: string): ErrorFactory {
  return (message, key, detail) => new ConfigError(message, source, key, detail);
}

// ---- parsing ----

/**
 * parseConfig validates TOML text. `source` names it in error messages; a relative `root` is
 * resolved against `baseDir` (by default the directory of `source`, taken as a path).
 * Throws ConfigError. Reads no files.
 */
export function parseConfig(text: string, source: string, baseDir: string = dirname(resolve(source))): MecConfig {
  const errorOf = errorsFor(source);
  const doc = parseToml(text, source, errorOf);

  // Unknown keys first: a misspelt optional key would otherwise silently take its default.
  const knownTop = [...KEY_SPECS.map((s) => s.toml), "node"];
  for (const key of Object.keys(doc)) {
    if (!knownTop.includes(key)) throw new ConfigError(`${source}: key "${key}": ${unknownKeyMessage(key, knownTop)}`, source, key);
  }

  const values: Record<string, string | number | boolean | null> = {};
  for (const spec of KEY_SPECS) {
    const v = doc[spec.toml];
    if (v === undefined) {
      if (spec.required) throw new ConfigError(`${source}: key "${spec.toml}": required but missing (${describeKind(spec.kind)})`, source, spec.toml);
      values[spec.field] = CONFIG_DEFAULTS[spec.field as OptionalField];
    } else {
      values[spec.field] = checkValue(source, spec.toml, spec.kind, v, errorOf);
    }
  }
  const cfg = values as unknown as Omit<MecConfig, "source" | "peers" | "root" | "notices"> & { root: string };

  // Cross-key rules.
  const err = (key: string, problem: string): never => {
    throw new ConfigError(`${source}: key "${key}": ${problem}`, source, key);
  };
  if (cfg.r > cfg.n) err("r", `must be at most n (${cfg.n}), got ${cfg.r}`);
  if (cfg.w > cfg.n) err("w", `must be at most n (${cfg.n}), got ${cfg.w}`);
  if (cfg.httpPort === cfg.port) err("httpport", `must differ from port (${cfg.port}), got ${cfg.httpPort}`);
  if (cfg.httpPort === cfg.port + 1) err("httpport", `must differ from port + 1 (${cfg.port + 1}, the ZeroMQ ROUTER), got ${cfg.httpPort}`);
  if (!isLoopbackHost(cfg.bind) && cfg.curveKeyFile === null && !cfg.allowInsecure) {
    err("bind", `${JSON.stringify(cfg.bind)} is beyond loopback but curve_key_file is not set: anyone who reaches the cluster ports could read and write every key. Set curve_key_file (mec keygen) or, knowingly, allow_insecure = true`);
  }
  if (cfg.maxSiblings < cfg.warnSiblings) err("max_siblings", `must be at least warn_siblings (${cfg.warnSiblings}), got ${cfg.maxSiblings}`);
  if (cfg.maxObjectBytes < cfg.warnObjectBytes) err("max_object_bytes", `must be at least warn_object_bytes (${cfg.warnObjectBytes}), got ${cfg.maxObjectBytes}`);
  if (cfg.maxMessageBytes < 2 * cfg.maxObjectBytes) err("max_message_bytes", `must be at least twice max_object_bytes (${2 * cfg.maxObjectBytes}), got ${cfg.maxMessageBytes}`);
  if ((cfg.httpTlsCertFile === null) !== (cfg.httpTlsKeyFile === null)) err(cfg.httpTlsCertFile === null ? "http_tls_cert_file" : "http_tls_key_file", "http_tls_cert_file and http_tls_key_file go together");

  // [[node]]: the other nodes. Missing means a single-node cluster.
  const peers: PeerAddress[] = [];
  const rawNodes = doc["node"];
  if (rawNodes !== undefined) {
    if (!Array.isArray(rawNodes)) err("node", `expected an array of tables ([[node]] with host and port), got ${showValue(rawNodes)}`);
    const selfId = nodeIdOf(cfg.bind, cfg.port);
    const seen = new Set<string>();
    (rawNodes as unknown[]).forEach((entry, i) => {
      const where = `node[${i + 1}]`;
      if (entry === null || typeof entry !== "object" || Array.isArray(entry)) err(where, `expected a table with host and port, got ${showValue(entry)}`);
      const table = entry as Record<string, unknown>;
      for (const key of Object.keys(table)) {
        if (!(NODE_KEYS as readonly string[]).includes(key)) err(`${where}.${key}`, unknownKeyMessage(key, NODE_KEYS));
      }
      if (table["host"] === undefined) err(`${where}.host`, "required but missing (a non-empty string)");
      if (table["port"] === undefined) err(`${where}.port`, "required but missing (an integer 1-65534)");
      const host = checkValue(source, `${where}.host`, STRING, table["host"], errorOf) as string;
      const port = checkValue(source, `${where}.port`, int(1, 65534), table["port"], errorOf) as number;
      const rawKey = table["curve_public_key"];
      const curvePublicKey = rawKey === undefined ? null : (checkValue(source, `${where}.curve_public_key`, STRING, rawKey, errorOf) as string);
      if (curvePublicKey !== null && !CURVE_KEY.test(curvePublicKey)) err(`${where}.curve_public_key`, "expected a Z85 CURVE public key (40 characters, from mec keygen)");
      if (cfg.curveKeyFile !== null && curvePublicKey === null) err(`${where}.curve_public_key`, "required when curve_key_file is set (the node's public key, from mec keygen)");
      if (cfg.curveKeyFile === null && curvePublicKey !== null) err(`${where}.curve_public_key`, "given, but curve_key_file is not set: set this node's key pair too");
      const id = nodeIdOf(host, port);
      if (id === selfId) return; // listing oneself is harmless: drop it
      if (seen.has(id)) err(`${where}`, `duplicate node ${id}`);
      seen.add(id);
      peers.push({ host, port, curvePublicKey });
    });
  }

  const memberCount = cfg.join ? Math.max(cfg.n, peers.length + 1) : peers.length + 1;
  if (cfg.partitionCount < peers.length + 1) err("partitions", `must be at least the number of nodes (${peers.length + 1}: every node owns a partition), got ${cfg.partitionCount}`);

  const { quorums, notices } = capQuorums(cfg, memberCount);
  const abs = (p: string): string => (isAbsolute(p) ? p : resolve(baseDir, p));
  const paths: Record<string, string | null> = {};
  for (const f of PATH_FIELDS) paths[f] = cfg[f] === null ? null : abs(cfg[f]);
  return Object.freeze({ ...cfg, ...quorums, ...paths, source, root: abs(cfg.root), peers: Object.freeze(peers), notices: Object.freeze(notices) });
}

/**
 * n, r and w capped at the member count: a cluster of m nodes keeps at most m copies, so the
 * defaults (3/2/2) on a single node (no [[node]]) become 1/1/1 instead of a node that can
 * never reach a quorum. Each adjustment is reported as a notice the node logs at start.
 */
function capQuorums(q: { n: number; r: number; w: number }, memberCount: number): { quorums: { n: number; r: number; w: number }; notices: string[] } {
  const notices: string[] = [];
  const cap = (key: "n" | "r" | "w"): number => {
    if (q[key] <= memberCount) return q[key];
    notices.push(`${key} = ${q[key]} is more than the ${memberCount} node${memberCount === 1 ? "" : "s"} of the cluster: using ${key} = ${memberCount}`);
    return memberCount;
  };
  return { quorums: { n: cap("n"), r: cap("r"), w: cap("w") }, notices };
}

/**
 * loadConfigFile reads and validates the TOML file at `path`. A relative `root` is resolved
 * against the file's directory. Throws ConfigError (missing or unreadable file, bad TOML,
 * bad keys, or a `root` that exists but is not a directory). Does not create `root`: the
 * storage adapter creates it when it opens the database (see ensureRootDir).
 */
export function loadConfigFile(path: string): MecConfig {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "is a directory, not a file" : code === "EACCES" ? "permission denied" : e instanceof Error ? e.message : String(e);
    throw new ConfigError(`${path}: cannot read the config file: ${why}`, path);
  }
  const cfg = parseConfig(text, path, dirname(resolve(path)));
  try {
    if (!statSync(cfg.root).isDirectory()) throw new ConfigError(`${path}: key "root": ${cfg.root} exists and is not a directory`, path, "root");
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    // Missing is fine (created on open); anything else is reported when the database opens.
  }
  return cfg;
}

/** Creates the `root` directory (and its parents) if missing; a failure is a ConfigError naming root. */
export function ensureRootDir(cfg: MecConfig): void {
  try {
    mkdirSync(cfg.root, { recursive: true });
  } catch (e) {
    throw new ConfigError(`${cfg.source}: key "root": cannot create ${cfg.root}: ${e instanceof Error ? e.message : String(e)}`, cfg.source, "root");
  }
}

/** Maps a config to the core node's config. `seed` seeds the node's PRNG (production: e.g. from the OS). */
export function toNodeConfig(cfg: MecConfig, seed: number): NodeConfig {
  const id = nodeIdOf(cfg.bind, cfg.port);
  const members = [...new Set([id, ...cfg.peers.map((p) => nodeIdOf(p.host, p.port))])].sort();
  return {
    id,
    name: cfg.name,
    members,
    n: cfg.n,
    r: cfg.r,
    w: cfg.w,
    partitionCount: cfg.partitionCount,
    mode: cfg.mode,
    seed,
    requestTimeoutMs: cfg.requestTimeoutMs,
    heartbeatIntervalMs: cfg.heartbeatIntervalMs,
    suspectAfterMs: cfg.suspectAfterMs,
    handoffIntervalMs: cfg.handoffIntervalMs,
    antiEntropyIntervalMs: cfg.antiEntropyIntervalMs,
    reapDelayMs: cfg.reapDelayMs < 0 ? null : cfg.reapDelayMs,
    syncWrites: cfg.sync,
    bugs: [],
    // Ask the listed nodes to add this one (a member that already knows it just answers with its state).
    join: true,
    limits: {
      maxKeyBytes: cfg.maxKeyBytes,
      siblingsWarn: cfg.warnSiblings,
      siblingsMax: cfg.maxSiblings,
      objectBytesWarn: cfg.warnObjectBytes,
      objectBytesMax: cfg.maxObjectBytes,
    },
  };
}
