// Multi-process test harness: real `mec --config FILE` node processes on loopback, each with
// its own LevelDB root in a temp dir, on random free high ports. Uses the same config writer
// as `mec cluster` (src/server/cluster.ts). Every spawned process is tracked and killed by
// stopAll() (call it in afterAll), so a failing test never leaves nodes behind.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { CLUSTER_PORT_STEP, clusterNodeToml, clusterSpecs, type ClusterNodeSpec } from "../../src/server/cluster.ts";
import { freePortBlock } from "../adapters/free-ports.ts";
import { mecEntryArgs } from "../../src/cli/self.ts";

/** argv (after the node binary) that runs `mec` from source, as the tests' node processes run. */
export const MEC_ARGS = mecEntryArgs();
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** Fast timings for tests: failure detection in < 1 s, handoff and anti-entropy within ~1-2 s. */
export const TEST_TOML = [
  "sync = false",
  'log_level = "warn"',
  "request_timeout_ms = 4000", // generous: six engineers share two cores
  "heartbeat_interval_ms = 100",
  "suspect_after_ms = 500",
  "handoff_interval_ms = 300",
  "anti_entropy_interval_ms = 100",
  // Anti-entropy exchanges one partition per round: few partitions so a round covers them soon.
  "partitions = 8",
  "max_body_bytes = 65536",
];

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

/** Spawns `node bin/mec.js ARGS` (tracked: killed by killAllSpawned). */
export function spawnMec(args: readonly string[], opts: { cwd?: string } = {}): MecProcess {
  // With an IPC channel, a node stops by itself should this test process die without afterAll.
  const proc = spawn(process.execPath, [...MEC_ARGS, ...args], { cwd: opts.cwd ?? REPO_ROOT, stdio: ["ignore", "pipe", "pipe", "ipc"], env: { ...process.env } });
  const p = new MecProcess(proc);
  everyProcess.add(p);
  void p.exited.then(() => everyProcess.delete(p));
  return p;
}

export async function killAllSpawned(): Promise<void> {
  const alive = [...everyProcess].filter((p) => p.exit === null);
  for (const p of alive) p.proc.kill("SIGKILL");
  await Promise.all(alive.map((p) => p.exited));
}

import { ping } from "../../src/server/cluster.ts";

export { ping };

export class TestNode {
  process: MecProcess | null = null;

  constructor(readonly spec: ClusterNodeSpec) {}

  get url(): string {
    return this.spec.url;
  }

  get name(): string {
    return this.spec.name;
  }

  start(): MecProcess {
    this.process = spawnMec(["--config", this.spec.configPath]);
    return this.process;
  }

  /** Waits until /ping answers; throws with the node's stderr if it exits or times out. */
  async waitReady(ms = 30_000): Promise<void> {
    const until = Date.now() + ms;
    for (;;) {
      const p = this.process;
      if (p === null) throw new Error(`${this.name} not started`);
      if (p.exit !== null) throw new Error(`${this.name} exited during boot (${JSON.stringify(p.exit)}):\n${p.stderr}\n${p.stdout.slice(-4000)}`);
      if (await ping(this.url)) return;
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

/** Writes configs for n nodes in a fresh temp dir, starts them, waits until all answer /ping. */
export async function startTestCluster(n: number, extraToml: readonly string[] = TEST_TOML): Promise<TestCluster> {
  const dir = mkdtempSync(join(tmpdir(), "mec-cluster-test-"));
  const span = CLUSTER_PORT_STEP * n + n;
  const base = await freePortBlock(span);
  const specs = clusterSpecs({ nodes: n, dir, basePort: base, httpBasePort: base + CLUSTER_PORT_STEP * n });
  for (const spec of specs) writeFileSync(spec.configPath, clusterNodeToml(spec, specs, "127.0.0.1", extraToml));
  const nodes = specs.map((s) => new TestNode(s));
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
