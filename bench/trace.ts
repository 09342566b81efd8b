// `npm run bench:trace`: where a request's time goes on a 3-node cluster (N=3 R=2 W=2, CURVE
// and `sync = true` unless told otherwise). The nodes run with MEC_LATENCY_TRACE
// (src/node-process/latency-trace.ts), the load generator (node:http, keep-alive, a fresh key
// per PUT, GETs of the keys just written, connections spread over the nodes) marks each
// request's send and completion in the same clock, and the trace is cut into the stages of
// each request: client -> node (HTTP in: the client's write, the kernel, the node's event loop,
// HTTP parsing), in the node (coordinator, peers, storage), node -> client (HTTP out). Beside
// them, over all nodes: storage op durations (submit to done), step durations, and peer hops
// (zsend to zrecv, paired per sender, receiver and size in order). Idle CPU of each node is
// measured first. Tracing costs the nodes some CPU: the figures are for finding the waits,
// not for throughput.
//
// Options: --connections 1,10  --requests 400 (per operation and connection count)
//          --no-curve  --no-sync  --from-source (default: compiled, as `npm run bench`)
import http from "node:http";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { clusterSpecs, killAll, loadAverage, processCpuS, startCluster, useBuild, type Target } from "./lib/harness.ts";

interface Options {
  connections: number[];
  requests: number;
  curve: boolean;
  sync: boolean;
  fromSource: boolean;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { connections: [1, 10], requests: 400, curve: true, sync: true, fromSource: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--connections") o.connections = argv[++i]!.split(",").map(Number);
    else if (a === "--requests") o.requests = Number(argv[++i]);
    else if (a === "--no-curve") o.curve = false;
    else if (a === "--no-sync") o.sync = false;
    else if (a === "--from-source") o.fromSource = true;
    else throw new Error(`unknown option ${a}`);
  }
  if (o.connections.some((c) => !Number.isInteger(c) || c < 1) || !(o.requests > 0)) throw new Error("--connections and --requests take positive integers");
  return o;
}

const stamp = (): number => performance.timeOrigin + performance.now();

/** One request of the generator: its op, key and client-side send/done times. */
interface ClientMark {
  op: "put" | "get";
  key: string;
  sent: number;
  done: number;
}

function request(agent: http.Agent, url: string, op: "put" | "get", key: string, body: Buffer): Promise<ClientMark> {
  return new Promise((resolve, reject) => {
    const sent = stamp();
    const headers = op === "put" ? { "content-type": "text/plain", "content-length": body.length } : {};
    const req = http.request(`${url}/mec/${key}`, { method: op === "put" ? "PUT" : "GET", agent, headers }, (res) => {
      res.resume();
      res.on("end", () => (res.statusCode === 200 ? resolve({ op, key, sent, done: stamp() }) : reject(new Error(`${op} ${key}: HTTP ${res.statusCode}`))));
    });
    req.on("error", reject);
    req.end(op === "put" ? body : undefined);
  });
}

async function drive(target: Target, op: "put" | "get", connections: number, requests: number, prefix: string): Promise<ClientMark[]> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  const body = Buffer.alloc(100, "m");
  const marks: ClientMark[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: connections }, async (_, c) => {
      while (next < requests) {
        const i = next++;
        marks.push(await request(agent, target.urls[c % target.urls.length]!, op, `${prefix}-${i}`, body));
      }
    }),
  );
  agent.destroy();
  return marks;
}

function idleCpuPercent(pids: readonly number[], ms: number): Promise<number[]> {
  const before = pids.map(processCpuS);
  const t0 = performance.now();
  return new Promise((resolve) => setTimeout(() => resolve(pids.map((p, i) => ((processCpuS(p) - before[i]!) / ((performance.now() - t0) / 1000)) * 100)), ms));
}

type Line = { t: number; node: string; what: string[] };

function readTrace(file: string): Line[] {
  return readFileSync(file, "utf8")
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => {
      const [t, node, ...what] = l.split(" ");
      return { t: Number(t), node: node!, what };
    })
    .sort((a, b) => a.t - b.t);
}

class Samples {
  readonly by = new Map<string, number[]>();
  add(name: string, ms: number): void {
    const xs = this.by.get(name) ?? [];
    xs.push(ms);
    this.by.set(name, xs);
  }
}

/** The stages of each request (by op and key) and the per-op figures of the lines between first and last. */
function analyse(lines: readonly Line[], marks: readonly ClientMark[], nameOf: ReadonlyMap<string, string>): Samples {
  const s = new Samples();
  const from = Math.min(...marks.map((m) => m.sent));
  const to = Math.max(...marks.map((m) => m.done));
  const window = lines.filter((l) => l.t >= from && l.t <= to);
  const reqIn = new Map<string, number>();
  const reqOut = new Map<string, number>();
  const submitted = new Map<string, number>();
  const inFlight = new Map<string, number[]>();
  for (const l of window) {
    const [kind, a, b] = l.what;
    if (kind === "req-in") reqIn.set(`${a} ${b}`, l.t);
    else if (kind === "req-out") reqOut.set(`${a} ${b}`, l.t);
    else if (kind === "st-submit") submitted.set(`${l.node} ${b}`, l.t);
    else if (kind === "st-done" && submitted.has(`${l.node} ${b}`)) s.add(`storage ${a}`, l.t - submitted.get(`${l.node} ${b}`)!);
    else if (kind === "step") s.add(`step ${a}`, Number(b));
    else if (kind === "zsend") {
      const k = `${l.node}>${nameOf.get(a!) ?? a} ${b}`;
      inFlight.set(k, [...(inFlight.get(k) ?? []), l.t]);
    } else if (kind === "zrecv") {
      const sent = inFlight.get(`${nameOf.get(a!) ?? a}>${l.node} ${b}`)?.shift();
      if (sent !== undefined) s.add("peer hop (zsend to zrecv)", l.t - sent);
    }
  }
  for (const m of marks) {
    const k = `${m.op} ${m.key}`;
    const tin = reqIn.get(k);
    const tout = reqOut.get(k);
    s.add("total (client)", m.done - m.sent);
    if (tin === undefined || tout === undefined) continue;
    s.add("HTTP in (client send to req-in)", tin - m.sent);
    s.add("in the node (req-in to req-out)", tout - tin);
    s.add("HTTP out (req-out to client done)", m.done - tout);
  }
  return s;
}

function pct(xs: readonly number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

function table(title: string, s: Samples): string {
  const first = ["total (client)", "HTTP in (client send to req-in)", "in the node (req-in to req-out)", "HTTP out (req-out to client done)"];
  const rank = (name: string): string => (first.includes(name) ? String(first.indexOf(name)) : `9${name}`);
  const rows = [...s.by].sort(([a], [b]) => rank(a).localeCompare(rank(b))).map(([name, xs]) => `  ${name.padEnd(36)} ${String(xs.length).padStart(6)} ${pct(xs, 0.5).toFixed(2).padStart(8)} ${pct(xs, 0.9).toFixed(2).padStart(8)} ${pct(xs, 0.99).toFixed(2).padStart(8)}`);
  return [title, `  ${"stage".padEnd(36)} ${"n".padStart(6)} ${"p50 ms".padStart(8)} ${"p90 ms".padStart(8)} ${"p99 ms".padStart(8)}`, ...rows].join("\n");
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  if (!o.fromSource) useBuild();
  const dir = mkdtempSync(join(tmpdir(), "mec-trace-"));
  const file = join(dir, "trace.txt");
  process.env.MEC_LATENCY_TRACE = file; // the node processes inherit it
  const specs = await clusterSpecs(dir, 3);
  const nameOf = new Map(specs.map((sp) => [`127.0.0.1:${sp.port}`, sp.name]));
  const target = await startCluster(dir, 3, { n: 3, r: 2, w: 2 }, o.sync, o.curve, specs);
  try {
    const idle = await idleCpuPercent(target.pids, 3000);
    console.log(`3 nodes, N=3 R=2 W=2, CURVE ${o.curve ? "on" : "off"}, sync ${o.sync}, ${o.fromSource ? "from sources" : "compiled"}; load average ${loadAverage()}`);
    console.log(`idle CPU per node (3 s, no load): ${idle.map((x) => `${x.toFixed(1)}%`).join(", ")}`);
    for (const c of o.connections) {
      for (const op of ["put", "get"] as const) {
        const marks = await drive(target, op, c, o.requests, `c${c}`);
        await new Promise((r) => setTimeout(r, 500)); // the nodes flush their trace every 200 ms
        const seconds = (Math.max(...marks.map((m) => m.done)) - Math.min(...marks.map((m) => m.sent))) / 1000;
        console.log("");
        console.log(table(`${op.toUpperCase()}, ${c} connection${c === 1 ? "" : "s"}: ${(marks.length / seconds).toFixed(0)} req/s, load average ${loadAverage()}`, analyse(readTrace(file), marks, nameOf)));
      }
    }
  } finally {
    await target.stop();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err instanceof Error ? err.message : err);
    killAll("SIGKILL");
    process.exit(1);
  },
);
