// The benches' shared machinery: child server processes (spawned, logged, stopped, killed at
// exit), free loopback ports, readiness polls, the servers under test (the bare bound, the
// in-memory HTTP layer, a MecDB cluster of real node processes) and the load generator
// (autocannon, programmatic) with exact latency percentiles and server CPU per request read
// from /proc/PID/stat. A server under test is a Target; its Protocol says how a PUT and a GET
// of the generator's keys look on the wire, so other stores (bench/lib/etcd.ts) plug in.
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import autocannon from "autocannon";
import { stringify as stringifyToml } from "smol-toml";
import { mecEntryArgs } from "../../src/cli/self.ts";
import { generateKeyPair, writeKeyFile } from "../../src/adapters/curve-keys.ts";

export const ROOT = resolve(fileURLToPath(new URL("../..", import.meta.url)));
const BUILT_ENTRY = join(ROOT, "dist", "src", "cli", "run.js");
/** How node processes are started: from the sources through tsx until useBuild() switched to the compiled package. */
let mecArgs: string[] = mecEntryArgs();

/**
 * Compiles the package (`tsc -p tsconfig.build.json`, what `npm run build` runs) and starts
 * every MecDB node from dist/ from now on: the path `mec` and `npx mec` run in production.
 * From the sources, tsx's transform (esbuild with keepNames) wraps every function created at
 * run time in a `__name` call, a cost production does not pay (measured: 2-4% of a node's CPU).
 */
/** The argv (without node) that starts a MecDB node, and a way to switch it (bench/lib/ab.ts starts another checkout's nodes). */
export function mecEntry(): string[] {
  return mecArgs;
}
export function setMecEntry(args: string[]): void {
  mecArgs = args;
}

export function useBuild(): void {
  process.stderr.write("building the package (npm run build) to bench the compiled nodes; --from-source skips it\n");
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  const res = spawnSync(process.execPath, [tsc, "-p", "tsconfig.build.json"], { cwd: ROOT, stdio: ["ignore", "inherit", "inherit"] });
  if (res.status !== 0 || !existsSync(BUILT_ENTRY)) throw new Error(`the build failed (exit ${res.status}); run \`npm run build\` or pass --from-source`);
  mecArgs = [BUILT_ENTRY];
}
const BARE_SERVER = join(ROOT, "bench", "lib", "bare-server.ts");
const MEMORY_SERVER = join(ROOT, "bench", "lib", "memory-node-server.ts");

// ---------------------------------------------------------------------------------------
// Processes and ports

const children = new Set<ChildProcess>();

export function killAll(signal: NodeJS.Signals): void {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill(signal);
}
process.on("exit", () => killAll("SIGKILL"));
process.on("SIGINT", () => {
  killAll("SIGKILL");
  process.exit(130);
});

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    children.delete(child);
    return;
  }
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), 3000);
  await exited;
  clearTimeout(timer);
  children.delete(child);
}

function portFree(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once("error", () => res(false));
    s.listen({ host: "127.0.0.1", port, exclusive: true }, () => s.close(() => res(true)));
  });
}

const takenPorts = new Set<number>();
/** A port p with p and p+1 free (a MecDB node binds port and port+1). */
export async function freePortPair(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const p = 20000 + 2 * Math.floor(Math.random() * 15000);
    if (takenPorts.has(p) || takenPorts.has(p + 1)) continue;
    if ((await portFree(p)) && (await portFree(p + 1))) {
      takenPorts.add(p);
      takenPorts.add(p + 1);
      return p;
    }
  }
  throw new Error("no free port pair found");
}

let profDir: string | null = null;
/** Write a V8 CPU profile of every Node server process started from now on into dir (--cpu-prof). */
export function setProfDir(dir: string | null): void {
  profDir = dir;
}

/** Spawns `command args` (node itself when command is null) with stdout and stderr appended to logFile. */
export function spawnLogged(args: string[], logFile: string, command: string | null = null): ChildProcess {
  const fd = openSync(logFile, "a");
  const prof = profDir === null || command !== null ? [] : ["--cpu-prof", "--cpu-prof-dir", profDir];
  const child = spawn(command ?? process.execPath, command === null ? [...prof, ...args] : args, { cwd: ROOT, stdio: ["ignore", fd, fd] });
  children.add(child);
  return child;
}

export function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-8).join("\n");
  } catch {
    return "(no log)";
  }
}

/** Polls until `probe()` resolves true; throws with the log's tail when the child exits or time runs out. */
export async function waitUntil(probe: () => Promise<boolean>, what: string, child: ChildProcess, logFile: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`process exited (${child.exitCode ?? child.signalCode}):\n${tail(logFile)}`);
    try {
      if (await probe()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms: ${what}\n${tail(logFile)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

let readyTimeoutMs = 30_000;
/** How long a server may take to become ready (a heavily loaded machine needs more than 30 s). */
export function setReadyTimeout(ms: number): void {
  readyTimeoutMs = ms;
}

/** Polls until GET url answers something other than 503 / a connection error. */
export function waitReady(url: string, child: ChildProcess, logFile: string, timeoutMs = readyTimeoutMs): Promise<void> {
  return waitUntil(
    async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
      await res.arrayBuffer();
      return res.status !== 503;
    },
    url,
    child,
    logFile,
    timeoutMs,
  );
}

export async function retry(f: () => Promise<void>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await f();
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

// ---------------------------------------------------------------------------------------
// Protocols and targets

/** How the generator's requests look for one store. Keys are plain strings; values are bytes. */
export interface Protocol {
  readonly name: string;
  /** An autocannon request writing `key` (called once per request). */
  put(key: string, value: Buffer): { method: "PUT" | "POST"; path: string; headers: Record<string, string>; body: Buffer | string };
  /** An autocannon request reading `key`. */
  get(key: string): { method: "GET" | "POST"; path: string; headers?: Record<string, string>; body?: string };
}

export const MEC_PROTOCOL: Protocol = {
  name: "mec",
  put: (key, value) => ({ method: "PUT", path: `/mec/${key}`, headers: { "content-type": "text/plain" }, body: value }),
  get: (key) => ({ method: "GET", path: `/mec/${key}` }),
};

export interface Target {
  readonly urls: string[];
  /** The server processes (for their CPU time). */
  readonly pids: number[];
  readonly protocol: Protocol;
  stop(): Promise<void>;
}

export async function startBare(dir: string, sync: boolean): Promise<Target> {
  const port = await freePortPair();
  const log = join(dir, "bare.log");
  const child = spawnLogged(["--import", "tsx", BARE_SERVER, String(port), join(dir, "bare-db"), sync ? "1" : "0"], log);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/mec/__bench_ready__`, child, log);
  return { urls: [url], pids: [child.pid!], protocol: MEC_PROTOCOL, stop: () => stopChild(child) };
}

export async function startMemory(dir: string): Promise<Target> {
  const port = await freePortPair();
  const log = join(dir, "memory.log");
  const child = spawnLogged(["--import", "tsx", MEMORY_SERVER, String(port)], log);
  const url = `http://127.0.0.1:${port}`;
  await waitReady(`${url}/mec/__bench_ready__`, child, log);
  return { urls: [url], pids: [child.pid!], protocol: MEC_PROTOCOL, stop: () => stopChild(child) };
}

export interface NodeSpec {
  name: string;
  port: number;
  httpport: number;
  root: string;
}

export interface Nrw {
  n: number;
  r: number;
  w: number;
}

/** The original README's TOML plus the optional keys the bench needs. */
function nodeToml(self: NodeSpec, all: readonly NodeSpec[], nrw: Nrw, sync: boolean, keys: ReadonlyMap<string, string> | null): string {
  const node = all
    .filter((other) => other !== self)
    .map((other) => (keys === null ? { host: "127.0.0.1", port: other.port } : { host: "127.0.0.1", port: other.port, curve_public_key: keys.get(other.name)! }));
  return stringifyToml({ ...self, ...nrw, sync, log_level: "warn", ...(keys === null ? {} : { curve_key_file: `${self.root}.key` }), node });
}

/** Node specs (fresh ports) for a cluster of `count` nodes under dir. */
export async function clusterSpecs(dir: string, count: number): Promise<NodeSpec[]> {
  const specs: NodeSpec[] = [];
  for (let i = 1; i <= count; i++) {
    specs.push({ name: `bench${i}`, port: await freePortPair(), httpport: await freePortPair(), root: join(dir, `node${i}`) });
  }
  return specs;
}

/** Starts a MecDB cluster of real node processes; specs from clusterSpecs (reusable to restart on the same data). */
export async function startCluster(dir: string, count: number, nrw: Nrw, sync: boolean, curve = false, given: NodeSpec[] | null = null): Promise<Target> {
  mkdirSync(dir, { recursive: true });
  const specs = given ?? (await clusterSpecs(dir, count));
  let keys: Map<string, string> | null = null;
  if (curve) {
    keys = new Map();
    for (const spec of specs) {
      const pair = generateKeyPair();
      writeKeyFile(`${spec.root}.key`, pair, spec.name);
      keys.set(spec.name, pair.publicKey);
    }
  }
  const procs: { child: ChildProcess; log: string; url: string }[] = [];
  for (const spec of specs) {
    const config = join(dir, `${spec.name}.toml`);
    writeFileSync(config, nodeToml(spec, specs, nrw, sync, keys));
    const log = join(dir, `${spec.name}.log`);
    const child = spawnLogged([...mecArgs, "--config", config], log);
    procs.push({ child, log, url: `http://127.0.0.1:${spec.httpport}` });
  }
  const stop = async (): Promise<void> => {
    await Promise.all(procs.map((p) => stopChild(p.child)));
  };
  try {
    for (const p of procs) await waitReady(`${p.url}/mec/__bench_ready__`, p.child, p.log);
    // A write that needs every replica proves the cluster is connected, not just listening.
    await retry(async () => {
      const res = await fetch(`${procs[0]!.url}/mec/__bench_ready__?w=${nrw.n}`, { method: "PUT", body: "x", headers: { "content-type": "text/plain" } });
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`cluster not connected yet (PUT w=${nrw.n} -> ${res.status})`);
    }, 30_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return { urls: procs.map((p) => p.url), pids: procs.map((p) => p.child.pid!), protocol: MEC_PROTOCOL, stop };
}

// ---------------------------------------------------------------------------------------
// Measuring

export interface Measure {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  requests: number;
  errors: number;
  non2xx: number;
  /** CPU time (user + system, all threads) of the server processes per request, microseconds. */
  serverCpuUs: number;
  /** The part of serverCpuUs spent on the processes' main (JavaScript) threads; the rest is libzmq's I/O threads, LevelDB's and libuv's workers, V8's GC and compiler threads. */
  serverMainCpuUs: number;
  /** CPU time of the load generator (this process) per request, microseconds. */
  loadCpuUs: number;
}

/** CPU seconds (user + system, all threads) a process has used so far; NaN off Linux. */
export function processCpuS(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

/** CPU seconds of a process's main thread only (the thread whose id is the pid: where JavaScript runs); NaN off Linux. */
export function mainThreadCpuS(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/task/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

/** Resident set size of a process in bytes (VmRSS); NaN off Linux. */
export function processRssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? NaN : Number(m[1]) * 1024;
  } catch {
    return NaN;
  }
}

let prefillRetries = 0;
export function prefillRetryCount(): number {
  return prefillRetries;
}

/** Writes keys bench-get-0 .. bench-get-(keys-1) with `concurrency` requests in flight, spread over the urls. */
export async function prefill(target: Target, keys: number, body: Buffer, concurrency = 16): Promise<void> {
  let next = 0;
  const worker = async (w: number): Promise<void> => {
    for (let i = next++; i < keys; i = next++) {
      const url = target.urls[(i + w) % target.urls.length]!;
      const req = target.protocol.put(`bench-get-${i}`, body);
      // Not measured: a 503 (e.g. a request timeout on a loaded machine) is retried a few times.
      for (let attempt = 1; ; attempt++) {
        const res = await fetch(`${url}${req.path}`, { method: req.method, body: req.body, headers: req.headers });
        const text = await res.text();
        if (res.status === 200) break;
        if (res.status !== 503 || attempt >= 5) throw new Error(`prefill ${req.method} bench-get-${i} -> ${res.status} ${text.slice(0, 300)}`);
        prefillRetries++;
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
}

let putCounter = 0;

export interface LoadShape {
  connections: number;
  /** GETs read a random one of bench-get-0 .. bench-get-(keys-1). */
  keys: number;
}

export async function load(target: Target, op: "put" | "get", shape: LoadShape, durationS: number, body: Buffer): Promise<Measure> {
  const { urls, pids, protocol } = target;
  const run = op === "put" ? `${process.pid}-${Date.now()}` : "";
  // autocannon gives the urls the connections in turn (10 over 3 members: 4, 3, 3).
  const connections = Math.max(urls.length, shape.connections);
  const instance = autocannon({
    url: [...urls],
    connections,
    duration: durationS,
    timeout: 10,
    requests: [
      {
        setupRequest: (req) => {
          const r = op === "put" ? protocol.put(`bench-put-${run}-${putCounter++}`, body) : protocol.get(`bench-get-${Math.floor(Math.random() * shape.keys)}`);
          return { ...req, ...r };
        },
      },
    ],
  });
  // autocannon's own histogram rounds latencies to whole milliseconds; keep the exact ones.
  const latenciesMs: number[] = [];
  instance.on("response", (_client, _status, _bytes, ms) => void latenciesMs.push(ms));
  const cpu0 = pids.reduce((t, pid) => t + processCpuS(pid), 0);
  const main0 = pids.reduce((t, pid) => t + mainThreadCpuS(pid), 0);
  const self0 = process.cpuUsage();
  const result = await instance;
  const selfUsage = process.cpuUsage(self0);
  const cpu1 = pids.reduce((t, pid) => t + processCpuS(pid), 0);
  const main1 = pids.reduce((t, pid) => t + mainThreadCpuS(pid), 0);
  const requests = result["2xx"] + result.non2xx;
  latenciesMs.sort((x, y) => x - y);
  const pct = (q: number): number => latenciesMs[Math.min(latenciesMs.length - 1, Math.max(0, Math.ceil(q * latenciesMs.length) - 1))] ?? NaN;
  return {
    rps: requests / result.duration,
    p50Ms: pct(0.5),
    p99Ms: pct(0.99),
    p999Ms: pct(0.999),
    requests,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
    serverCpuUs: ((cpu1 - cpu0) * 1e6) / requests,
    serverMainCpuUs: ((main1 - main0) * 1e6) / requests,
    loadCpuUs: (selfUsage.user + selfUsage.system) / requests,
  };
}

export function fmt(x: number, digits = 0): string {
  return x.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

export function median<T>(xs: readonly T[], key: (x: T) => number): T {
  const sorted = [...xs].sort((a, b) => key(a) - key(b));
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The 1-minute load average, for printing beside figures measured on a shared machine. */
export function loadAverage(): string {
  try {
    return readFileSync("/proc/loadavg", "utf8").split(" ").slice(0, 3).join(" ");
  } catch {
    return "?";
  }
}
