// `mec cluster`: a local cluster of real node processes on loopback, for trying MecDB out
// (`npm start` runs it). A supervisor, not a node: it writes one TOML config per node, spawns
// `mec --config FILE` per node, waits until every node's GET /health answers as that node
// (its id and name: another program on the port is not taken for it) and ready, prints the
// URLs and curl examples, and on Ctrl-C /
// SIGTERM stops the nodes (SIGTERM, then SIGKILL after a grace period) and exits.
//
// Layout of DIR (default `.mec-cluster/` in the current directory, git-ignored; it is kept
// between runs so the data survives a restart of the cluster):
//   DIR/node-1.toml      the node's config (rewritten on every start)
//   DIR/node-1.log       its pino log (stdout) and stderr
//   DIR/node-1/          its LevelDB root
//   DIR/node-1.key       its CURVE key pair (made once, kept): cluster traffic is authenticated
//                        and encrypted, and only these nodes' keys are admitted
// Node i (1-based) uses cluster port base + 10*(i-1) (and that + 1 for the ZeroMQ data socket)
// and HTTP port httpBase + (i-1).
import { spawn, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync, writeSync } from "node:fs";
import { join, resolve } from "node:path";
import { mecEntryArgs } from "../cli/self.ts";
import { nodeIdOf } from "../config/index.ts";
import { generateKeyPair, readKeyFile, writeKeyFile } from "../adapters/curve-keys.ts";
import { stringify as stringifyToml } from "smol-toml";

interface ClusterOptions {
  readonly nodes: number;
  readonly dir: string;
  readonly basePort: number;
  readonly httpBasePort: number;
  readonly bind?: string;
  /** Extra keys added to every node's config (e.g. `{ log_level: "warn" }`); they override the generated ones. */
  readonly extraToml?: ExtraToml;
  /** Give up if the nodes are not all ready (GET /health) after this long. Default 60 s. */
  readonly readyTimeoutMs?: number;
  /** Where the supervisor writes its messages. Default process.stdout / process.stderr. */
  readonly out?: (text: string) => void;
  readonly err?: (text: string) => void;
}

export interface ClusterNodeSpec {
  readonly name: string;
  readonly port: number;
  readonly httpPort: number;
  readonly configPath: string;
  readonly logPath: string;
  readonly root: string;
  readonly url: string;
  /** The node's CURVE key file. */
  readonly keyPath: string;
}

/** Cluster ports of consecutive nodes are this far apart (each node uses port and port + 1). */
export const CLUSTER_PORT_STEP = 10;
const STOP_GRACE_MS = 10_000;

/** The last `lines` lines of a text, newline-terminated. */
function tail(text: string, lines: number): string {
  return text.replace(/\s*$/, "").split("\n").slice(-lines).join("\n") + "\n";
}

/** Config keys (TOML names) and values to add to a generated node config. */
export type ExtraToml = Readonly<Record<string, string | number | boolean>>;

/** The specs (ports, paths) of an n-node local cluster. */
export function clusterSpecs(opts: Pick<ClusterOptions, "nodes" | "dir" | "basePort" | "httpBasePort" | "bind">): ClusterNodeSpec[] {
  const dir = resolve(opts.dir);
  const bind = opts.bind ?? "127.0.0.1";
  return Array.from({ length: opts.nodes }, (_, i) => {
    const name = `node-${i + 1}`;
    const httpPort = opts.httpBasePort + i;
    return {
      name,
      port: opts.basePort + CLUSTER_PORT_STEP * i,
      httpPort,
      configPath: join(dir, `${name}.toml`),
      logPath: join(dir, `${name}.log`),
      root: join(dir, name),
      url: `http://${bind}:${httpPort}`,
      keyPath: join(dir, `${name}.key`),
    };
  });
}

/** Makes each node's CURVE key file if it is missing; returns node name -> public key. */
export function ensureNodeKeys(specs: readonly ClusterNodeSpec[]): Map<string, string> {
  const keys = new Map<string, string>();
  for (const spec of specs) {
    if (!existsSync(spec.keyPath)) writeKeyFile(spec.keyPath, generateKeyPair(), spec.name);
    keys.set(spec.name, readKeyFile(spec.keyPath).publicKey);
  }
  return keys;
}

/**
 * One node's config file, in the original MecDB format plus the bind host; with `publicKeys`
 * (node name -> CURVE public key), its key file and every node's public key. `extra` keys
 * override the generated ones.
 */
export function clusterNodeToml(spec: ClusterNodeSpec, all: readonly ClusterNodeSpec[], bind: string, extra: ExtraToml = {}, publicKeys?: ReadonlyMap<string, string>): string {
  const doc = {
    name: spec.name,
    port: spec.port,
    httpport: spec.httpPort,
    root: spec.root,
    bind,
    ...(publicKeys === undefined ? {} : { curve_key_file: spec.keyPath }),
    ...extra,
    // every node of the cluster (this node's own entry is ignored)
    node: all.map((other) => {
      const key = publicKeys?.get(other.name);
      return key === undefined ? { host: bind, port: other.port } : { host: bind, port: other.port, curve_public_key: key };
    }),
  };
  return `# Written by \`mec cluster\`; rewritten on every start.\n${stringifyToml(doc)}`;
}

/** Checks the cluster options; returns a problem or null. */
export function validateClusterOptions(opts: ClusterOptions): string | null {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 64) return `--nodes must be an integer 1-64, got ${opts.nodes}`;
  const lastPort = opts.basePort + CLUSTER_PORT_STEP * (opts.nodes - 1) + 1;
  if (!Number.isInteger(opts.basePort) || opts.basePort < 1 || lastPort > 65535) return `--base-port must leave room for ${opts.nodes} nodes below 65536, got ${opts.basePort}`;
  const lastHttp = opts.httpBasePort + opts.nodes - 1;
  if (!Number.isInteger(opts.httpBasePort) || opts.httpBasePort < 1 || lastHttp > 65535) return `--http-base-port must leave room for ${opts.nodes} nodes below 65536, got ${opts.httpBasePort}`;
  const cluster = new Set<number>();
  for (let i = 0; i < opts.nodes; i++) cluster.add(opts.basePort + CLUSTER_PORT_STEP * i).add(opts.basePort + CLUSTER_PORT_STEP * i + 1);
  for (let i = 0; i < opts.nodes; i++) {
    if (cluster.has(opts.httpBasePort + i)) return `HTTP port ${opts.httpBasePort + i} clashes with a cluster port: choose --http-base-port and --base-port further apart`;
  }
  return null;
}

function examples(specs: readonly ClusterNodeSpec[]): string {
  const a = specs[0]!.url;
  const b = (specs[1] ?? specs[0]!).url;
  const c = (specs[2] ?? specs[specs.length - 1]!).url;
  return [
    "Try it:",
    "",
    "  # write, then read it back through another node",
    `  curl -i -X PUT -H 'Content-Type: text/plain' --data-binary 'hello' ${a}/mec/greeting`,
    `  curl -i ${b}/mec/greeting`,
    "",
    "  # two blind writes through two nodes: the read answers 300 with both siblings",
    `  curl -X PUT -H 'Content-Type: text/plain' --data-binary 'Mary' ${a}/mec/guest`,
    `  curl -X PUT -H 'Content-Type: text/plain' --data-binary 'Peter' ${b}/mec/guest`,
    `  curl -i ${c}/mec/guest`,
    "",
    "  # resolve: write the merged value back with the X-Mec-Vclock of that read",
    `  VC=$(curl -s -o /dev/null -D - ${c}/mec/guest | tr -d '\\r' | sed -n 's/^x-mec-vclock: //Ip')`,
    `  curl -i -X PUT -H "X-Mec-Vclock: $VC" -H 'Content-Type: text/plain' --data-binary 'Mary and Peter' ${a}/mec/guest`,
    "",
    "  # delete with the context of a read, then the key is gone (404)",
    `  VC=$(curl -s -o /dev/null -D - ${a}/mec/guest | tr -d '\\r' | sed -n 's/^x-mec-vclock: //Ip')`,
    `  curl -i -X DELETE -H "X-Mec-Vclock: $VC" ${b}/mec/guest`,
    `  curl -i ${c}/mec/guest`,
    "",
    `  # per-request quorums, and what the node has been doing`,
    `  curl -i '${a}/mec/greeting?r=3'`,
    `  curl -s ${a}/stats`,
  ].join("\n");
}

interface Child {
  readonly spec: ClusterNodeSpec;
  readonly proc: ChildProcess;
  stderr: string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exit: { code: number | null; signal: NodeJS.Signals | null } | null;
}

export async function ping(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/ping`, { signal: AbortSignal.timeout(1000) });
    await res.arrayBuffer();
    return res.ok;
  } catch {
    return false;
  }
}

/** Who should answer at a URL: the node id (`bind:port`) and name it was started with. */
interface ExpectedNode {
  readonly id: string;
  readonly name: string;
}

/**
 * What GET /health at `url` says about the node expected there: "ready" (it is that node and
 * ready), "waiting" (no answer yet, or that node not ready yet), or "foreign" with what
 * answered instead (another program on the port, or another MecDB node).
 */
type HealthCheck = { readonly state: "ready" | "waiting" } | { readonly state: "foreign"; readonly what: string };

export async function checkHealth(url: string, expected: ExpectedNode): Promise<HealthCheck> {
  let res: Response;
  let text: string;
  try {
    res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(1000) });
    text = await res.text();
  } catch {
    return { state: "waiting" }; // nothing listening yet (or too slow to answer)
  }
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    return { state: "foreign", what: `GET /health answered ${res.status} with ${describeBody(text)}, not a MecDB node's JSON` };
  }
  const b = (typeof body === "object" && body !== null ? body : {}) as { id?: unknown; name?: unknown; ready?: unknown };
  if (b.id !== expected.id || b.name !== expected.name) {
    const who = typeof b.id === "string" ? `node ${JSON.stringify(b.name)} (${b.id})` : `${describeBody(text)}`;
    return { state: "foreign", what: `GET /health answered ${res.status} as ${who}, not ${expected.name} (${expected.id})` };
  }
  return { state: res.status === 200 && b.ready === true ? "ready" : "waiting" };
}

function describeBody(text: string): string {
  const t = text.trim().replace(/\s+/g, " ");
  return t === "" ? "an empty body" : JSON.stringify(t.length > 60 ? `${t.slice(0, 60)}...` : t);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type Log = (text: string) => void;

/** How a supervisor is told to stop: the first signal's name once one came, and a promise that wakes the waiters. */
interface StopState {
  readonly signalled: () => string | null;
  readonly woken: Promise<void>;
  readonly dispose: () => void;
}

/**
 * Runs the cluster until SIGINT/SIGTERM (or `stopSignal` resolves); resolves with the exit
 * code: 0 after a clean stop, 1 if a node failed to boot.
 */
export async function runCluster(opts: ClusterOptions, stopSignal?: Promise<unknown>): Promise<number> {
  const out = opts.out ?? ((s: string) => void process.stdout.write(s));
  const err = opts.err ?? ((s: string) => void process.stderr.write(s));
  const bind = opts.bind ?? "127.0.0.1";
  const specs = clusterSpecs(opts);
  const dir = writeClusterConfigs(opts, specs, bind);
  out(`Starting ${specs.length} MecDB node${specs.length === 1 ? "" : "s"} in ${dir} ...\n`);
  const children = specs.map(spawnNode);
  const stop = listenForStop(children, stopSignal);
  try {
    const booted = await waitUntilReady(children, bind, opts, stop, err);
    if (booted !== "ready") return booted;
    reportReady(specs, out);
    await superviseUntilStopped(children, stop, out, err);
    return 0;
  } finally {
    stop.dispose();
    for (const c of children) if (c.exit === null) c.proc.kill("SIGKILL");
  }
}

/** Makes DIR and the nodes' keys, writes one config per node; returns DIR's absolute path. */
function writeClusterConfigs(opts: ClusterOptions, specs: readonly ClusterNodeSpec[], bind: string): string {
  const dir = resolve(opts.dir);
  mkdirSync(dir, { recursive: true });
  const publicKeys = ensureNodeKeys(specs);
  for (const spec of specs) writeFileSync(spec.configPath, clusterNodeToml(spec, specs, bind, opts.extraToml ?? {}, publicKeys));
  return dir;
}

/** Spawns one node process; its stderr is kept (the last 20 kB) and appended to its log. */
function spawnNode(spec: ClusterNodeSpec): Child {
  const logFd = openSync(spec.logPath, "a");
  // Each node in its own process group (detached), so a terminal's Ctrl-C reaches only the
  // supervisor, which stops the nodes once (SIGTERM); an IPC channel lets a node notice when
  // the supervisor dies without stopping it, and stop itself.
  const proc = spawn(process.execPath, [...mecEntryArgs(), "--config", spec.configPath], { stdio: ["ignore", logFd, "pipe", "ipc"], detached: true, env: process.env });
  closeSync(logFd);
  const child: Child = { spec, proc, stderr: "", exited: Promise.resolve({ code: null, signal: null }), exit: null };
  proc.stderr?.on("data", (chunk: Buffer) => {
    child.stderr = (child.stderr + chunk.toString("utf8")).slice(-20_000);
    try {
      const fd = openSync(spec.logPath, "a");
      writeSync(fd, chunk);
      closeSync(fd);
    } catch {
      // the log is best effort
    }
  });
  child.exited = new Promise((res) => {
    proc.on("exit", (code, signal) => {
      child.exit = { code, signal };
      res({ code, signal });
    });
    proc.on("error", (e) => {
      child.stderr += `\n${e.message}`;
      child.exit = { code: 1, signal: null };
      res({ code: 1, signal: null });
    });
  });
  return child;
}

/** SIGTERM to every running node, SIGKILL to those still running after the grace period. */
async function stopAll(children: readonly Child[], err: Log): Promise<void> {
  for (const c of children) if (c.exit === null) c.proc.kill("SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const grace = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), STOP_GRACE_MS)));
  try {
    for (const c of children) {
      if ((await Promise.race([c.exited, grace])) === "timeout" && c.exit === null) {
        err(`${c.spec.name} did not stop within ${STOP_GRACE_MS / 1000} s: killing it\n`);
        c.proc.kill("SIGKILL");
        await c.exited;
      }
    }
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Listens for SIGINT/SIGTERM, `stopSignal` and (started with an IPC channel) the parent going
 * away; the first wakes the supervisor, a second one kills the nodes at once.
 */
function listenForStop(children: readonly Child[], stopSignal: Promise<unknown> | undefined): StopState {
  let signalled: string | null = null;
  let wake: () => void = () => {};
  const woken = new Promise<void>((r) => (wake = r));
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signalled !== null) {
      // A second Ctrl-C: do not wait for graceful stops.
      for (const c of children) if (c.exit === null) c.proc.kill("SIGKILL");
      return;
    }
    signalled = sig;
    wake();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  void stopSignal?.then(() => onSignal("SIGTERM"));
  // Started with an IPC channel (e.g. by a test): stop when the parent goes away.
  const onDisconnect = (): void => onSignal("SIGTERM");
  if (process.channel) {
    process.on("disconnect", onDisconnect);
    process.channel.unref();
  }
  const dispose = (): void => {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    process.off("disconnect", onDisconnect);
  };
  return { signalled: () => signalled, woken, dispose };
}

/**
 * Waits until every node answers /health as itself, or one of them dies, or we are told to
 * stop. Something else answering on a node's port is never taken for the node; it is
 * remembered: the node will fail to bind that port and exit, and the report says both.
 * Resolves "ready", or the exit code after stopping the nodes.
 */
async function waitUntilReady(children: readonly Child[], bind: string, opts: ClusterOptions, stop: StopState, err: Log): Promise<"ready" | number> {
  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  const ready = new Set<string>();
  const foreign = new Map<string, string>();
  const reportForeign = (): void => {
    for (const [name, what] of foreign) err(`${name}: ${children.find((c) => c.spec.name === name)!.spec.url} is answered by another program: ${what}\n`);
  };
  while (ready.size < children.length) {
    const dead = children.find((c) => c.exit !== null);
    if (dead) {
      await sleep(50); // let the last stderr chunks arrive
      reportForeign();
      err(`${dead.spec.name} exited during boot (${dead.exit!.signal ?? `code ${dead.exit!.code}`}). Its stderr:\n`);
      err(dead.stderr.trim() === "" ? "  (empty; see the log)\n" : tail(dead.stderr, 20));
      err(`Log: ${dead.spec.logPath}\n`);
      await stopAll(children, err);
      return 1;
    }
    if (stop.signalled() !== null) {
      await stopAll(children, err);
      return 0;
    }
    if (Date.now() > deadline) {
      const waiting = children.filter((c) => !ready.has(c.spec.name)).map((c) => `${c.spec.name} (log: ${c.spec.logPath})`);
      reportForeign();
      err(`nodes not ready after ${(opts.readyTimeoutMs ?? 60_000) / 1000} s: ${waiting.join(", ")}\n`);
      await stopAll(children, err);
      return 1;
    }
    await Promise.all(
      children.filter((c) => !ready.has(c.spec.name)).map(async (c) => {
        const h = await checkHealth(c.spec.url, { id: nodeIdOf(bind, c.spec.port), name: c.spec.name });
        if (h.state === "ready") ready.add(c.spec.name);
        if (h.state === "foreign") foreign.set(c.spec.name, h.what);
        else foreign.delete(c.spec.name); // it went away: the node may bind the port yet
      }),
    );
    if (ready.size < children.length) await Promise.race([sleep(100), stop.woken]);
  }
  return "ready";
}

/** Prints the nodes' URLs, ports and logs, and curl examples. */
function reportReady(specs: readonly ClusterNodeSpec[], out: Log): void {
  const width = Math.max(...specs.map((s) => s.name.length));
  out(`\nMecDB cluster ready: ${specs.length} node${specs.length === 1 ? "" : "s"} (N, R, W from the configs; defaults 3/2/2).\n\n`);
  for (const s of specs) out(`  ${s.name.padEnd(width)}  ${s.url}   cluster port ${s.port} (+1)   log ${s.logPath}\n`);
  out(`\n${examples(specs)}\n\nPress Ctrl-C to stop the cluster.\n`);
}

/** Running: reports nodes that die; on a signal stops them all and says how they ended. */
async function superviseUntilStopped(children: readonly Child[], stop: StopState, out: Log, err: Log): Promise<void> {
  for (const c of children) {
    void c.exited.then((e) => {
      if (stop.signalled() === null) err(`\n${c.spec.name} exited (${e.signal ?? `code ${e.code}`}); the others keep running. Log: ${c.spec.logPath}\n${tail(c.stderr, 10)}`);
    });
  }
  await stop.woken;
  out(`\nStopping the cluster (${stop.signalled()}) ...\n`);
  await stopAll(children, err);
  const unclean = children.filter((c) => c.exit !== null && c.exit.code !== 0 && c.exit.signal === null);
  out(`Cluster stopped.${unclean.length > 0 ? ` (${unclean.map((c) => `${c.spec.name}: code ${c.exit!.code}`).join(", ")})` : ""}\n`);
}
