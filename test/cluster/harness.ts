// Multi-process test harness: real `mec --config FILE` node processes on loopback, each with
// its own LevelDB root in a temp dir, on random free high ports. Uses the same config writer
// as `mec cluster` (src/dev-cluster/cluster.ts). Every spawned process is tracked and killed by
// stopAll() (call it in afterAll), so a failing test never leaves nodes behind: each runs in
// its own process group, and clean-up kills the groups of the process and of every
// descendant (`mec cluster` starts its nodes in process groups of their own).
// A node counts as ready only when GET /health answers as that node (its id and name), so a
// foreign server on a port never passes for it.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CLUSTER_PORT_STEP, clusterNodeToml, clusterSpecs, ensureNodeKeys, type ClusterNodeSpec, type ExtraToml } from "../../src/dev-cluster/cluster.ts";
import { freePortBlock } from "../adapters/free-ports.ts";
import { mecEntryArgs } from "../../src/cli/self.ts";

/** argv (after the node binary) that runs `mec` from source, as the tests' node processes run. */
export const MEC_ARGS = mecEntryArgs();
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Fast timings for tests: failure detection in < 1 s, handoff and anti-entropy within ~1-2 s. */
export const TEST_TOML: ExtraToml = {
  sync: false,
  log_level: "warn",
  request_timeout_ms: 4000, // generous: six engineers share two cores
  heartbeat_interval_ms: 100,
  suspect_after_ms: 500,
  handoff_interval_ms: 300,
  anti_entropy_interval_ms: 100,
  // Anti-entropy exchanges one partition per round: few partitions so a round covers them soon.
  partitions: 8,
  max_body_bytes: 65536,
};

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** One spawned `mec` process with its captured output. */
export class MecProcess {
  stdout = "";
  stderr = "";
  exit: Exit | null = null;
  readonly exited: Promise<Exit>;

  constructor(readonly proc: ChildProcess) {
    proc.stdout?.on("data", (c: Buffer) => (this.stdout = (this.stdout + c.toString("utf8")).slice(-200_000)));
    proc.stderr?.on("data", (c: Buffer) => (this.stderr = (this.stderr + c.toString("utf8")).slice(-200_000)));
    this.exited = new Promise((resolve) => {
      proc.on("exit", (code, signal) => {
        this.exit = { code, signal };
        resolve(this.exit);
      });
    });
  }

  /** Resolves with the exit, or rejects if the process is still running after ms. */
  async waitExit(ms: number): Promise<Exit> {
    let timer: NodeJS.Timeout | undefined;
    try {
      return await Promise.race([
        this.exited,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`process still running after ${ms} ms; stderr:\n${this.stderr}`)), ms);
        }),
      ]);
    } finally {
      clearTimeout(timer);
    }
  }
}

const everyProcess = new Set<MecProcess>();

/**
 * Spawns `node bin/mec.js ARGS` (tracked: killed by killAllSpawned). A prefix runs it through
 * a launcher that execs the rest (e.g. `unshare --mount sh -c '... exec "$@"' sh`), so the
 * child's pid is still the node's.
 */
export function spawnMec(
  args: readonly string[],
  opts: { cwd?: string; env?: Readonly<Record<string, string>>; prefix?: readonly string[] } = {},
): MecProcess {
  const argv = [...(opts.prefix ?? []), process.execPath, ...MEC_ARGS, ...args];
  // With an IPC channel, a node stops by itself should this test process die without afterAll.
  const proc = spawn(argv[0]!, argv.slice(1), { cwd: opts.cwd ?? REPO_ROOT, stdio: ["ignore", "pipe", "pipe", "ipc"], env: { ...process.env, ...opts.env }, detached: true });
  const p = new MecProcess(proc);
  everyProcess.add(p);
  void p.exited.then(() => everyProcess.delete(p));
  return p;
}

export async function killAllSpawned(): Promise<void> {
  const alive = [...everyProcess].filter((p) => p.exit === null);
  for (const p of alive) killTree(p.proc.pid);
  await Promise.all(alive.map((p) => p.exited));
}

/** SIGKILLs the process group of `pid` and of each of its descendants (found in /proc). */
export function killTree(pid: number | undefined): void {
  if (pid === undefined) return;
  // Deepest first: a node dies before its supervisor could tell it to stop.
  const groups = new Set<number>();
  for (const p of [pid, ...descendantsOf(pid)].reverse()) groups.add(processGroupOf(p) ?? p);
  for (const g of groups) {
    try {
      process.kill(-g, "SIGKILL");
    } catch {
      // already gone
    }
  }
  try {
    process.kill(pid, "SIGKILL"); // in case it left its group
  } catch {
    // already gone
  }
}

/** /proc/PID/stat: "pid (comm) state ppid pgrp ..."; comm may contain spaces and parentheses. */
function statFields(pid: number): string[] | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  } catch {
    return null;
  }
}

function processGroupOf(pid: number): number | null {
  const f = statFields(pid);
  return f === null ? null : Number(f[2]);
}

function descendantsOf(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    const f = statFields(Number(name));
    if (f === null) continue;
    const ppid = Number(f[1]);
    children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
  }
  const out: number[] = [];
  const stack = [root];
  while (stack.length > 0) {
    for (const c of children.get(stack.pop()!) ?? []) {
      out.push(c);
      stack.push(c);
    }
  }
  return out;
}

import { checkHealth, ping } from "../../src/dev-cluster/cluster.ts";
import { nodeIdOf } from "../../src/config/index.ts";

export { checkHealth, ping };

export class TestNode {
  process: MecProcess | null = null;
  /** Launcher prefix for spawnMec (e.g. a private mount namespace with a small tmpfs root). */
  prefix: readonly string[] = [];

  constructor(
    readonly spec: ClusterNodeSpec,
    /** Extra environment of this node's process (e.g. libfaketime's). */
    readonly env: Readonly<Record<string, string>> = {},
  ) {}

  get url(): string {
    return this.spec.url;
  }

  get name(): string {
    return this.spec.name;
  }

  start(): MecProcess {
    this.process = spawnMec(["--config", this.spec.configPath], { env: this.env, prefix: this.prefix });
    return this.process;
  }

  /** This node's id, as its GET /health reports it. */
  get id(): string {
    return nodeIdOf("127.0.0.1", this.spec.port);
  }

  /** Waits until /health answers as this node and ready; throws with the node's stderr if it exits, something else answers, or it times out. */
  async waitReady(ms = 30_000): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      const p = this.process;
      if (p === null) throw new Error(`${this.name} not started`);
      if (p.exit !== null) throw new Error(`${this.name} exited during boot (${JSON.stringify(p.exit)}):\n${p.stderr}\n${p.stdout.slice(-4000)}`);
      const h = await checkHealth(this.url, { id: this.id, name: this.name });
      if (h.state === "foreign") throw new Error(`${this.name}: ${this.url} is answered by another program: ${h.what}`);
      if (h.state === "ready") return;
      if (Date.now() > until) throw new Error(`${this.name} not ready after ${ms} ms:\n${p.stderr}\n${p.stdout.slice(-4000)}`);
      await sleep(50);
    }
  }

  kill(signal: NodeJS.Signals): Promise<Exit> {
    const p = this.process;
    if (p === null || p.exit !== null) return Promise.resolve(p?.exit ?? { code: null, signal: null });
    p.proc.kill(signal);
    return p.exited;
  }
}

export interface TestCluster {
  readonly dir: string;
  readonly nodes: readonly TestNode[];
  node(i: number): TestNode;
  /** Kills every process and removes the temp dir. */
  stopAll(): Promise<void>;
}

/** Writes configs for n nodes in a fresh temp dir, starts them, waits until all answer /ping. `curve`: with CURVE keys (as `mec cluster`). */
export async function startTestCluster(
  n: number,
  extraToml: ExtraToml = TEST_TOML,
  opts: { env?: (index: number) => Readonly<Record<string, string>>; curve?: boolean; prefixFor?: (spec: ClusterNodeSpec, i: number) => readonly string[] } = {},
): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), "mec-cluster-test-"));
  const span = CLUSTER_PORT_STEP * n + n;
  const base = await freePortBlock(span);
  const specs = clusterSpecs({ nodes: n, dir, basePort: base, httpBasePort: base + CLUSTER_PORT_STEP * n });
  const publicKeys = opts.curve === true ? ensureNodeKeys(specs) : undefined;
  for (const spec of specs) writeFileSync(spec.configPath, clusterNodeToml(spec, specs, "127.0.0.1", extraToml, publicKeys));
  const nodes = specs.map((s, i) => {
    const node = new TestNode(s, opts.env?.(i) ?? {});
    if (opts.prefixFor !== undefined) node.prefix = opts.prefixFor(s, i);
    return node;
  });
  const cluster: TestCluster = {
    dir,
    nodes,
    node: (i) => nodes[i]!,
    async stopAll() {
      await killAllSpawned();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  try {
    for (const node of nodes) node.start();
    await Promise.all(nodes.map((node) => node.waitReady()));
  } catch (err) {
    await cluster.stopAll();
    throw err;
  }
  return cluster;
}
