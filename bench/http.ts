// `npm run bench`: HTTP throughput and latency of MecDB against its bound, side by side in one
// run (absolute numbers swing 30-40% between runs on this machine: compare the ratios).
//
//   (a) bare Fastify doing one classic-level put/get per request (bench/lib/bare-server.ts)
//   (b) one MecDB node, N=R=W=1                  (a real `node bin/mec.js --config FILE`)
//   (c) a 3-node local MecDB cluster, N=3 R=2 W=2 (three real node processes; the load is
//       spread over the three nodes, as Dynamo clients do: any node coordinates)
//   (d) the same 3-node cluster with ZeroMQ CURVE on both cluster sockets (key pairs as
//       `mec cluster` makes them): d/c is what authenticated, encrypted cluster traffic costs
//   (t) the transport alone, in this process, CURVE off and on, interleaved 5 times: round
//       trips per second and CPU time per round trip, one at a time (bench/lib/curve-transport.ts)
//
// For each: PUT of a fresh key with a 100-byte body, and GET of a random one of 1000
// pre-written keys, with autocannon (programmatic) on loopback, `--duration` seconds each
// after a 1 s warm-up. Targets: b >= 60% of a, c >= 25% of a, in req/s.
// Every server runs in its own process and is stopped before the next scenario starts, so
// the scenarios do not compete for the two cores; autocannon runs in this process.
//
// --peer etcd: MecDB's 3-node cluster against a local 3-member etcd at equal durability, with the
// bound beside them (bench/lib/peer.ts; --only takes bound,mec,etcd,fsync,nofsync there; 10
// connections unless --connections; --no-curve runs MecDB without CURVE).
//
// Options: --duration S (5)  --connections C (12)  --body BYTES (100)  --keys K (1000)
//          --only a,b,c,d (add h: the HTTP layer alone over an in-memory handle)  --sync (storage writes synced, in a and in b/c)  --json
//          --prof DIR (a V8 CPU profile of each server process, written when it stops)
//          --from-source (start the nodes through tsx from the sources; default: `npm run build` first, then the compiled package, as `mec` runs)
//          --against DIR (A/B: this checkout's nodes against DIR's, both clusters up at once, measured in alternating slices: bench/lib/ab.ts; --only b,c,d, default b,d; --rounds slices, at least 3)
//          --rounds N (1): run the scenarios N times interleaved, a b c a b c ..., and report
//          each one's median run (per PUT and GET): other load on the machine then hits all alike
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { measureTransport, type TransportMeasure } from "./lib/curve-transport.ts";
import {
  fmt,
  freePortPair,
  killAll,
  load,
  loadAverage,
  prefill,
  prefillRetryCount,
  setProfDir,
  startBare,
  startCluster,
  startMemory,
  useBuild,
  type Measure,
  type Target,
} from "./lib/harness.ts";
import { runAb } from "./lib/ab.ts";
import { runPeer } from "./lib/peer.ts";

interface Options {
  durationS: number;
  connections: number;
  bodyBytes: number;
  keys: number;
  only: Set<string>;
  sync: boolean;
  json: boolean;
  /** Run every scenario this many times, interleaved (a b c a b c ...); report the medians. */
  rounds: number;
  /** Write a V8 CPU profile of every server process into this directory (--cpu-prof). */
  profDir: string | null;
  /** --peer etcd: MecDB against a local etcd cluster instead (bench/lib/peer.ts). */
  peer: string | null;
  /** --peer mode: MecDB's cluster without CURVE (default: with, as `mec cluster` runs it). */
  noCurve: boolean;
  /** Start the nodes from the TypeScript sources (tsx) instead of the compiled package. */
  fromSource: boolean;
  /** --against DIR: A/B against another checkout's nodes (bench/lib/ab.ts). */
  against: string | null;
}

function parseArgs(argv: readonly string[]): Options {
  const o: Options = { durationS: 5, connections: 12, bodyBytes: 100, keys: 1000, only: new Set(["a", "b", "c", "d", "t"]), sync: false, json: false, profDir: null, rounds: 1, peer: null, noCurve: false, fromSource: false, against: null };
  let onlyGiven = false;
  // The peer comparison uses the pattern it was first measured with: 10 connections.
  if (argv.includes("--peer")) o.connections = 10;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a === "--duration") o.durationS = Number(next());
    else if (a === "--body") o.bodyBytes = Number(next());
    else if (a === "--keys") o.keys = Number(next());
    else if (a === "--only") {
      o.only = new Set(next().split(","));
      onlyGiven = true;
    } else if (a === "--connections") o.connections = Number(next());
    else if (a === "--sync") o.sync = true;
    else if (a === "--json") o.json = true;
    else if (a === "--prof") o.profDir = resolve(next());
    else if (a === "--rounds") o.rounds = Number(next());
    else if (a === "--peer") o.peer = next();
    else if (a === "--no-curve") o.noCurve = true;
    else if (a === "--from-source") o.fromSource = true;
    else if (a === "--against") o.against = next();
    else throw new Error(`unknown option ${a} (see the header of bench/http.ts)`);
  }
  if (!(o.durationS > 0 && o.connections > 0 && o.bodyBytes >= 0 && o.keys > 0 && Number.isInteger(o.rounds) && o.rounds >= 1)) throw new Error("bad numeric option");
  if (o.peer !== null && o.peer !== "etcd") throw new Error(`--peer ${o.peer}: only etcd is known`);
  if (o.peer !== null && !onlyGiven) o.only = new Set();
  if (o.against !== null && !onlyGiven) o.only = new Set(["b", "d"]);
  return o;
}

interface Row {
  id: "a" | "h" | "b" | "c" | "d";
  label: string;
  put: Measure | null;
  get: Measure | null;
  error: string | null;
}

async function runScenario(id: Row["id"], label: string, start: () => Promise<Target>, o: Options): Promise<Row> {
  const body = Buffer.alloc(o.bodyBytes, "m");
  let target: Target | null = null;
  try {
    process.stderr.write(`${id}: starting ${label} ...\n`);
    target = await start();
    process.stderr.write(`${id}: prefilling ${o.keys} keys, then PUT and GET for ${o.durationS} s each\n`);
    await prefill(target, o.keys, body);
    await load(target, "put", o, 1, body); // warm-up
    const put = await load(target, "put", o, o.durationS, body);
    await load(target, "get", o, 1, body); // warm-up
    const get = await load(target, "get", o, o.durationS, body);
    return { id, label, put, get, error: null };
  } catch (err) {
    return { id, label, put: null, get: null, error: (err as Error).message };
  } finally {
    await target?.stop();
  }
}

// ---------------------------------------------------------------------------------------
// Report

const TARGETS = { b: 0.6, c: 0.25 } as const;

function report(rows: readonly Row[], o: Options): string {
  const out: string[] = [];
  reportTable(rows, o, out);
  reportRatios(rows, out);
  reportCpu(rows, out);
  return out.join("\n");
}

/** The header line and one row per scenario: req/s, p50 and p99 of PUT and GET, errors. */
function reportTable(rows: readonly Row[], o: Options, out: string[]): void {
  out.push(
    `MecDB HTTP bench: ${o.durationS} s per measurement, ${o.connections} connections, ${o.bodyBytes}-byte values, ` +
      `GET over ${o.keys} keys, storage sync ${o.sync ? "on" : "off"}, loopback, node ${process.version}, load average ${loadAverage()}`,
  );
  out.push("");
  const head = ["scenario", "PUT req/s", "p50 ms", "p99 ms", "GET req/s", "p50 ms", "p99 ms", "errors"];
  const widths = [44, 10, 7, 7, 10, 7, 7, 7];
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  out.push(line(head));
  out.push(line(widths.map((w) => "-".repeat(w))));
  for (const r of rows) {
    if (r.put === null || r.get === null) {
      out.push(line([`(${r.id}) ${r.label}`, "-", "-", "-", "-", "-", "-", "-"]));
      out.push(`      not measured: ${(r.error ?? "").split("\n").join("\n      ")}`);
      continue;
    }
    const errs = r.put.errors + r.put.non2xx + r.get.errors + r.get.non2xx;
    out.push(
      line([
        `(${r.id}) ${r.label}`,
        fmt(r.put.rps),
        fmt(r.put.p50Ms, 2),
        fmt(r.put.p99Ms, 2),
        fmt(r.get.rps),
        fmt(r.get.p50Ms, 2),
        fmt(r.get.p99Ms, 2),
        String(errs),
      ]),
    );
  }
}

/** Each scenario's req/s as a share of scenario a's, against its target where it has one. */
function reportRatios(rows: readonly Row[], out: string[]): void {
  out.push("");
  const a = rows.find((r) => r.id === "a");
  for (const id of ["h", "b", "c"] as const) {
    const r = rows.find((x) => x.id === id);
    if (r === undefined) continue;
    if (id === "h") {
      if (a?.put != null && a.get != null && r.put !== null && r.get !== null) {
        out.push(`h/a: PUT ${fmt((r.put.rps / a.put.rps) * 100)}%, GET ${fmt((r.get.rps / a.get.rps) * 100)}%   (no target: the HTTP layer's share of the cost)`);
      }
      continue;
    }
    const goal = TARGETS[id];
    if (a?.put == null || a.get == null || r.put === null || r.get === null) {
      out.push(`${id}/a: not available (target >= ${fmt(goal * 100)}%)`);
      continue;
    }
    const put = r.put.rps / a.put.rps;
    const get = r.get.rps / a.get.rps;
    const met = (x: number): string => (x >= goal ? "met" : "NOT met");
    out.push(
      `${id}/a: PUT ${fmt(put * 100)}% (${met(put)}), GET ${fmt(get * 100)}% (${met(get)})   target >= ${fmt(goal * 100)}% of a`,
    );
  }
  const c = rows.find((r) => r.id === "c");
  const d = rows.find((r) => r.id === "d");
  if (c?.put != null && c.get != null && d?.put != null && d.get != null) {
    out.push(
      `d/c: PUT ${fmt((d.put.rps / c.put.rps) * 100)}%, GET ${fmt((d.get.rps / c.get.rps) * 100)}%   (no target: CURVE's cost; p99 PUT ${fmt(c.put.p99Ms, 2)} -> ${fmt(d.put.p99Ms, 2)} ms, GET ${fmt(c.get.p99Ms, 2)} -> ${fmt(d.get.p99Ms, 2)} ms)`,
    );
  }
}

function reportCpu(rows: readonly Row[], out: string[]): void {
  const a = rows.find((r) => r.id === "a");
  // Where the two cores went: CPU time per request of the server processes (all their
  // threads: libzmq's I/O thread and LevelDB's workers included) and of the load generator.
  const measured = rows.filter((r) => r.put !== null && r.get !== null);
  if (measured.length > 0) {
    out.push("");
    out.push("CPU time per request, us (user + system, all threads; of it JS: the main threads alone; autocannon = the load generator)");
    const cpuLine = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(44) : c.padStart(12))).join("  ");
    out.push(cpuLine(["scenario", "PUT servers", "of it JS", "PUT x a", "PUT autocan.", "GET servers", "of it JS", "GET x a", "GET autocan."]));
    for (const r of measured) {
      const ratio = (x: number, base: number | undefined): string => (base === undefined || !(base > 0) ? "-" : `${fmt(x / base, 1)}x`);
      out.push(
        cpuLine([
          `(${r.id}) ${r.label}`,
          fmt(r.put!.serverCpuUs),
          fmt(r.put!.serverMainCpuUs),
          ratio(r.put!.serverCpuUs, a?.put?.serverCpuUs),
          fmt(r.put!.loadCpuUs),
          fmt(r.get!.serverCpuUs),
          fmt(r.get!.serverMainCpuUs),
          ratio(r.get!.serverCpuUs, a?.get?.serverCpuUs),
          fmt(r.get!.loadCpuUs),
        ]),
      );
    }
  }
}

/** Per scenario, the run with the median PUT req/s (PUT columns) and with the median GET req/s (GET columns). */
function combineRounds(rounds: readonly Row[][]): Row[] {
  const first = rounds[0] ?? [];
  return first.map((row) => {
    const runs = rounds.map((rs) => rs.find((r) => r.id === row.id)!).filter((r) => r !== undefined);
    const failed = runs.find((r) => r.error !== null);
    if (failed !== undefined) return failed;
    const median = (pick: (r: Row) => Measure): Measure => {
      const sorted = runs.map(pick).sort((x, y) => x.rps - y.rps);
      return sorted[Math.floor((sorted.length - 1) / 2)]!;
    };
    return { ...row, put: median((r) => r.put!), get: median((r) => r.get!) };
  });
}

function roundsReport(rounds: readonly Row[][]): string {
  if (rounds.length < 2) return "";
  const out = ["", `Rounds (req/s, PUT / GET; the table shows each scenario's median run):`];
  for (const row of rounds[0] ?? []) {
    const runs = rounds.map((rs) => rs.find((r) => r.id === row.id));
    const cell = (r: Row | undefined): string => (r?.put == null || r.get == null ? "failed" : `${fmt(r.put.rps)} / ${fmt(r.get.rps)}`);
    out.push(`  (${row.id}) ${runs.map(cell).join("   ")}`);
  }
  return out.join("\n");
}

/** (t): the transport with CURVE off and on, interleaved off/on 3 times. */
async function transportRounds(): Promise<TransportMeasure[]> {
  process.stderr.write("t: transport round trips, CURVE off and on ...\n");
  const out: TransportMeasure[] = [];
  for (let i = 0; i < 5; i++) {
    for (const curve of [false, true]) out.push(await measureTransport(curve, await freePortPair(), await freePortPair(), 5000, 1));
  }
  return out;
}

function transportReport(ms: readonly TransportMeasure[]): string {
  if (ms.length === 0) return "";
  const median = (xs: number[]): number => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)] ?? NaN;
  const of = (curve: boolean, f: (m: TransportMeasure) => number): number => median(ms.filter((m) => m.curve === curve).map(f));
  const lines = ["", "(t) ZeroMQ transport alone, 200-byte request/reply, 1 outstanding (median of 5 interleaved runs)"];
  for (const curve of [false, true]) {
    lines.push(`  CURVE ${curve ? "on " : "off"}: ${fmt(of(curve, (m) => m.roundTripsPerS))} round trips/s, ${fmt(of(curve, (m) => m.cpuUsPerRoundTrip), 1)} us CPU per round trip`);
  }
  const rt = of(true, (m) => m.roundTripsPerS) / of(false, (m) => m.roundTripsPerS);
  const cpu = of(true, (m) => m.cpuUsPerRoundTrip) / of(false, (m) => m.cpuUsPerRoundTrip);
  lines.push(`  on/off: ${fmt(rt * 100)}% of the round trips/s, ${fmt(cpu, 2)}x the CPU per round trip`);
  return `${lines.join("\n")}\n`;
}

async function main(): Promise<number> {
  if (process.argv.includes("--curves")) {
    await import("./curves.ts"); // runs the sweeps and exits
    return new Promise<number>(() => {});
  }
  const o = parseArgs(process.argv.slice(2));
  setProfDir(o.profDir);
  if (!o.fromSource) useBuild();
  if (o.peer !== null) return runPeer(o);
  const dir = mkdtempSync(join(tmpdir(), "mec-bench-"));
  if (o.against !== null) {
    return runAb(o.against, { ...o, rounds: Math.max(o.rounds, 3) }, dir).finally(() => rmSync(dir, { recursive: true, force: true }));
  }
  const rounds: Row[][] = [];
  let transport: TransportMeasure[] = [];
  try {
    for (let round = 1; round <= o.rounds; round++) {
      if (o.rounds > 1) process.stderr.write(`round ${round} of ${o.rounds}\n`);
      const rdir = join(dir, `round${round}`);
      mkdirSync(rdir, { recursive: true });
      const rows: Row[] = [];
      if (o.only.has("a")) rows.push(await runScenario("a", "bare Fastify + classic-level (the bound)", () => startBare(rdir, o.sync), o));
      if (o.only.has("h")) rows.push(await runScenario("h", "MecDB HTTP layer only, in-memory handle", () => startMemory(rdir), o));
      if (o.only.has("b")) {
        rows.push(await runScenario("b", "MecDB, 1 node, N=R=W=1", () => startCluster(join(rdir, "b"), 1, { n: 1, r: 1, w: 1 }, o.sync), o));
      }
      if (o.only.has("c")) {
        rows.push(await runScenario("c", "MecDB, 3 nodes, N=3 R=2 W=2", () => startCluster(join(rdir, "c"), 3, { n: 3, r: 2, w: 2 }, o.sync), o));
      }
      if (o.only.has("d")) {
        rows.push(await runScenario("d", "MecDB, 3 nodes, N=3 R=2 W=2, CURVE", () => startCluster(join(rdir, "d"), 3, { n: 3, r: 2, w: 2 }, o.sync, true), o));
      }
      rounds.push(rows);
    }
    if (o.only.has("t")) transport = await transportRounds();
  } finally {
    killAll("SIGKILL");
  }
  const rows = combineRounds(rounds);
  if (prefillRetryCount() > 0) process.stderr.write(`note: ${prefillRetryCount()} prefill PUTs answered 503 and were retried\n`);
  if (o.json) process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
  else process.stdout.write(`${report(rows, o)}${roundsReport(rounds)}\n${transportReport(transport)}`);
  const failed = rows.some((r) => r.error !== null);
  if (!failed) rmSync(dir, { recursive: true, force: true });
  else process.stderr.write(`logs kept in ${dir}\n`);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench: ${(err as Error).message}\n`);
    killAll("SIGKILL");
    process.exit(2);
  },
);
