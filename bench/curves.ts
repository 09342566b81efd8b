// `npm run bench:curves` (or `npm run bench -- --curves`): how MecDB's costs grow. Sweeps and
// plots (SVG, sim/lab/svg.ts) throughput and p99 of PUT and GET against
//   connections   (3-node cluster N3R2W2, 100-byte values)            1 .. 64
//   value size    (3-node cluster, 10 connections)                    100 B .. 10^6 B (~1 MiB)
//   keys per node (1 node N=R=W=1, 10 connections, GET over all keys)  10^3 .. (see below)
//   cluster size  (N3R2W2, 10 connections, 100-byte values)           3 .. 7 nodes
// and, on the growing single node of the keys sweep, the node's start-up time (spawn to ready)
// and resident memory after start against the number of stored keys (anti-entropy trees are
// rebuilt from storage at every start, so both grow with the data).
// Keys are loaded through the HTTP API with 64 requests in flight (the node's own path, no
// private storage format), bounded by --load-budget seconds per level: the largest level
// reached is printed. Writes docs/perf/*.svg and docs/perf/curves.md (the table), or --out DIR.
//   --quick  fewer points, 1 s per measurement (a try-out: about 3 minutes on a loaded machine)
//   --duration S (3)  --out DIR (docs/perf)  --max-keys K (10^5; --quick 10^4)  --load-budget S (300)
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { linePlot, type Series } from "../sim/lab/svg.ts";
import {
  clusterSpecs,
  fmt,
  killAll,
  load,
  loadAverage,
  prefill,
  processRssBytes,
  ROOT,
  setReadyTimeout,
  startCluster,
  type Measure,
  type Target,
} from "./lib/harness.ts";

const args = process.argv.slice(2).filter((a) => a !== "--curves");
const flag = (name: string): boolean => args.includes(name);
const opt = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : def;
};
const QUICK = flag("--quick");
const DURATION = opt("--duration", QUICK ? 1 : 3);
const MAX_KEYS = opt("--max-keys", QUICK ? 10_000 : 100_000);
const LOAD_BUDGET_S = opt("--load-budget", 300);
const outIdx = args.indexOf("--out");
const OUT = resolve(outIdx >= 0 ? args[outIdx + 1]! : join(ROOT, "docs", "perf"));

const CONNECTIONS = QUICK ? [1, 4, 16, 64] : [1, 2, 4, 8, 16, 32, 64];
// The largest value stays under the node's max_body_bytes (1 MiB, which counts the whole body).
const VALUES = QUICK ? [100, 10_240, 1_000_000] : [100, 1024, 10_240, 102_400, 1_000_000];
const SIZES = QUICK ? [3, 5] : [3, 5, 7];
const KEY_LEVELS = [1000, 10_000, 100_000, 1_000_000, 10_000_000].filter((k) => k <= MAX_KEYS);

interface Point {
  sweep: string;
  x: number;
  put: Measure;
  get: Measure;
}
const points: Point[] = [];
const startups: { keys: number; startMs: number; rssMiB: number }[] = [];
const notes: string[] = [];
const log = (s: string): void => void process.stderr.write(`${s} (load average ${loadAverage()})\n`);

async function measure(target: Target, sweep: string, x: number, connections: number, bodyBytes: number, keys: number): Promise<void> {
  const body = Buffer.alloc(bodyBytes, "m");
  const shape = { connections, keys };
  await load(target, "put", shape, 1, body); // warm-up
  const put = await load(target, "put", shape, DURATION, body);
  const get = await load(target, "get", shape, DURATION, body);
  points.push({ sweep, x, put, get });
  log(`  ${sweep} ${x}: PUT ${fmt(put.rps)}/s p99 ${fmt(put.p99Ms, 1)} ms, GET ${fmt(get.rps)}/s p99 ${fmt(get.p99Ms, 1)} ms`);
}

const NRW3 = { n: 3, r: 2, w: 2 };

async function withCluster(dir: string, count: number, nrw: typeof NRW3, f: (t: Target) => Promise<void>): Promise<void> {
  const t = await startCluster(dir, count, nrw, false);
  try {
    await f(t);
  } finally {
    await t.stop();
  }
}

async function sweepConnectionsAndValues(base: string): Promise<void> {
  log("connections and value size: 3 nodes N3R2W2");
  await withCluster(join(base, "c3"), 3, NRW3, async (t) => {
    await prefill(t, 1000, Buffer.alloc(100, "m"));
    for (const c of CONNECTIONS) await measure(t, "connections", c, c, 100, 1000);
  });
  for (const v of VALUES) {
    // A fresh cluster per size: GETs read keys prefilled with this size.
    await withCluster(join(base, `v${v}`), 3, NRW3, async (t) => {
      await prefill(t, 200, Buffer.alloc(v, "m"), v > 100_000 ? 4 : 16);
      await measure(t, "value bytes", v, 10, v, 200);
    });
  }
}

async function sweepClusterSize(base: string): Promise<void> {
  for (const size of SIZES) {
    log(`cluster size ${size}`);
    await withCluster(join(base, `s${size}`), size, NRW3, async (t) => {
      await prefill(t, 1000, Buffer.alloc(100, "m"));
      await measure(t, "cluster nodes", size, 10, 100, 1000);
    });
  }
}

/** Keys per node and start-up against data size: one node, grown level by level, restarted at each. */
async function sweepKeys(base: string): Promise<void> {
  const dir = join(base, "keys");
  mkdirSync(dir, { recursive: true });
  const specs = await clusterSpecs(dir, 1);
  const nrw = { n: 1, r: 1, w: 1 };
  let loaded = 0;
  for (const level of KEY_LEVELS) {
    const t0 = Date.now();
    const t = await startCluster(dir, 1, nrw, false, false, specs);
    const startMs = Date.now() - t0;
    const rssMiB = processRssBytes(t.pids[0]!) / 2 ** 20;
    startups.push({ keys: loaded, startMs, rssMiB });
    log(`keys: start-up with ${loaded} keys ${startMs} ms, RSS ${fmt(rssMiB)} MiB; loading to ${level}`);
    try {
      const l0 = Date.now();
      await prefillRange(t, loaded, level);
      const loadS = (Date.now() - l0) / 1000;
      if (loadS > LOAD_BUDGET_S) notes.push(`loading ${loaded}..${level} keys took ${fmt(loadS)} s (budget ${LOAD_BUDGET_S} s)`);
      loaded = level;
      await measure(t, "keys per node", level, 10, 100, level);
      if ((Date.now() - l0) / 1000 > LOAD_BUDGET_S) {
        notes.push(`stopped the keys sweep at ${level}: the next level would exceed --load-budget ${LOAD_BUDGET_S} s`);
        break;
      }
    } finally {
      await t.stop();
    }
  }
  const t0 = Date.now();
  const t = await startCluster(dir, 1, nrw, false, false, specs);
  startups.push({ keys: loaded, startMs: Date.now() - t0, rssMiB: processRssBytes(t.pids[0]!) / 2 ** 20 });
  await t.stop();
}

/** Keys bench-get-from .. bench-get-(to-1), 64 in flight (the harness's prefill writes from 0). */
async function prefillRange(t: Target, from: number, to: number): Promise<void> {
  if (from === 0) return prefill(t, to, Buffer.alloc(100, "m"), 64);
  const shifted: Target = { ...t, protocol: { ...t.protocol, put: (key, value) => t.protocol.put(key.replace(/(\d+)$/, (d) => String(Number(d) + from)), value) } };
  return prefill(shifted, to - from, Buffer.alloc(100, "m"), 64);
}

function plots(): string[] {
  mkdirSync(OUT, { recursive: true });
  const files: string[] = [];
  const write = (name: string, svg: string): void => {
    writeFileSync(join(OUT, name), svg);
    files.push(name);
  };
  const sweeps: { sweep: string; file: string; log: boolean; xLabel: string }[] = [
    { sweep: "connections", file: "connections", log: false, xLabel: "connections" },
    { sweep: "value bytes", file: "value-size", log: true, xLabel: "log10(value bytes)" },
    { sweep: "keys per node", file: "keys", log: true, xLabel: "log10(keys per node)" },
    { sweep: "cluster nodes", file: "cluster-size", log: false, xLabel: "nodes (N=3 R=2 W=2)" },
  ];
  for (const s of sweeps) {
    const ps = points.filter((p) => p.sweep === s.sweep);
    if (ps.length === 0) continue;
    const X = (x: number): number => (s.log ? Math.log10(x) : x);
    const series = (f: (m: Measure) => number): Series[] => [
      { label: "PUT", points: ps.map((p) => [X(p.x), f(p.put)] as const) },
      { label: "GET", points: ps.map((p) => [X(p.x), f(p.get)] as const) },
    ];
    write(`${s.file}-throughput.svg`, linePlot(series((m) => m.rps), { title: `throughput vs ${s.sweep}`, xLabel: s.xLabel, yLabel: "req/s" }));
    write(`${s.file}-p99.svg`, linePlot(series((m) => m.p99Ms), { title: `p99 latency vs ${s.sweep}`, xLabel: s.xLabel, yLabel: "p99 ms" }));
  }
  if (startups.length > 0) {
    const X = (k: number): number => Math.log10(Math.max(k, 1));
    write("startup-time.svg", linePlot([{ label: "start-up", points: startups.map((s) => [X(s.keys), s.startMs] as const) }], { title: "node start-up time vs stored keys", xLabel: "log10(keys)", yLabel: "ms" }));
    write("startup-rss.svg", linePlot([{ label: "RSS", points: startups.map((s) => [X(s.keys), s.rssMiB] as const) }], { title: "node memory after start vs stored keys", xLabel: "log10(keys)", yLabel: "RSS MiB" }));
  }
  return files;
}

function table(): string {
  const out = [
    `# MecDB cost curves`,
    "",
    `\`npm run bench:curves${QUICK ? " -- --quick" : ""}\`, ${DURATION} s per measurement, node ${process.version}, ${new Date().toISOString().slice(0, 16)} UTC, load average at the end ${loadAverage()} (2 shared cores: absolute figures are noisy, the shapes are what to read).`,
    "",
    "| sweep | x | PUT req/s | PUT p99 ms | GET req/s | GET p99 ms | CPU us/PUT | CPU us/GET |",
    "|---|---:|---:|---:|---:|---:|---:|---:|",
    ...points.map((p) => `| ${p.sweep} | ${fmt(p.x)} | ${fmt(p.put.rps)} | ${fmt(p.put.p99Ms, 1)} | ${fmt(p.get.rps)} | ${fmt(p.get.p99Ms, 1)} | ${fmt(p.put.serverCpuUs)} | ${fmt(p.get.serverCpuUs)} |`),
    "",
    "| stored keys (1 node) | start-up ms | RSS MiB |",
    "|---:|---:|---:|",
    ...startups.map((s) => `| ${fmt(s.keys)} | ${fmt(s.startMs)} | ${fmt(s.rssMiB)} |`),
    ...(notes.length > 0 ? ["", ...notes.map((n) => `- ${n}`)] : []),
  ];
  return `${out.join("\n")}\n`;
}

/** A sweep that fails (a node not ready in time on a loaded machine, ...) is noted; the others still run. */
async function guarded(name: string, f: () => Promise<void>): Promise<void> {
  try {
    await f();
  } catch (err) {
    const msg = (err as Error).message.split("\n")[0]!;
    notes.push(`${name}: stopped early: ${msg}`);
    process.stderr.write(`${name}: ${(err as Error).message}\n`);
  }
}

async function main(): Promise<void> {
  setReadyTimeout(120_000);
  const base = mkdtempSync(join(tmpdir(), "mec-curves-"));
  try {
    await guarded("connections and value size", () => sweepConnectionsAndValues(base));
    await guarded("cluster size", () => sweepClusterSize(base));
    await guarded("keys and start-up", () => sweepKeys(base));
  } finally {
    killAll("SIGKILL");
    rmSync(base, { recursive: true, force: true });
    const files = plots();
    const md = table();
    writeFileSync(join(OUT, "curves.md"), md);
    process.stdout.write(md);
    process.stdout.write(`\nwrote ${files.map((f) => join(OUT, f)).join(", ")} and ${join(OUT, "curves.md")}\n`);
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench:curves: ${(err as Error).message}\n`);
    killAll("SIGKILL");
    process.exit(2);
  },
);
