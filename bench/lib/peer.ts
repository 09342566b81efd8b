// `npm run bench -- --peer etcd`: MecDB's 3-node cluster (N=3 R=2 W=2, CURVE on as `mec cluster`
// runs it, unless --no-curve) against a local 3-member etcd (bench/lib/etcd.ts), at equal
// durability, interleaved in one run, plus the bare Fastify+LevelDB bound at the same
// durability (the cluster and CPU targets are stated against it):
//
//   fsync       bound sync=true   MecDB sync=true    etcd default (fsync per commit)
//   no fsync    bound sync=false  MecDB sync=false   etcd with no fsync (tmpfs data dir on 3.4)
//
// The no-fsync rows keep every store's data on tmpfs (/dev/shm): etcd 3.4 has no
// --unsafe-no-fsync, and LevelDB still syncs its compaction output and manifest with
// sync=false, so tmpfs for all three keeps the comparison equal. Same generator and pattern
// for all: the connections spread over the members, PUT of a fresh key with a value of --body
// bytes, GET of a random one of --keys prefilled keys (etcd: linearizable range through the v3
// JSON gateway). Each round runs the six scenarios in turn; the tables show each scenario's
// median round (by req/s, PUT and GET separately).
import { mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ensureEtcd, etcdVersion, startEtcdCluster, TMPFS_DIR } from "./etcd.ts";
import { fmt, killAll, load, loadAverage, median, prefill, startBare, startCluster, type Measure, type Target } from "./harness.ts";

export interface PeerOptions {
  durationS: number;
  connections: number;
  bodyBytes: number;
  keys: number;
  rounds: number;
  json: boolean;
  noCurve: boolean;
  /** --only in peer mode: any of bound,mec,etcd and fsync,nofsync (default: all). */
  only: Set<string>;
}

type Store = "bound" | "mec" | "etcd";
type Durability = "fsync" | "nofsync";
const STORES: readonly Store[] = ["bound", "mec", "etcd"];
const DURABILITIES: readonly Durability[] = ["fsync", "nofsync"];

interface Cell {
  store: Store;
  durability: Durability;
  put: Measure | null;
  get: Measure | null;
  error: string | null;
}

function label(store: Store, d: Durability, o: PeerOptions, etcdV: string): string {
  const sync = d === "fsync";
  if (store === "bound") return `bound: Fastify+LevelDB sync=${sync}`;
  if (store === "mec") return `MecDB 3 nodes N3R2W2 sync=${sync}${o.noCurve ? "" : " CURVE"}`;
  return `etcd ${etcdV} 3 members ${sync ? "(default)" : "(no fsync)"}`;
}

async function start(store: Store, d: Durability, dir: string, etcdBin: string, o: PeerOptions): Promise<Target> {
  const sync = d === "fsync";
  if (store === "bound") return startBare(dir, sync);
  if (store === "mec") return startCluster(dir, 3, { n: 3, r: 2, w: 2 }, sync, !o.noCurve);
  return startEtcdCluster(etcdBin, dir, 3, !sync);
}

async function measureCell(store: Store, d: Durability, base: string, etcdBin: string, o: PeerOptions): Promise<Cell> {
  const dir = mkdtempSync(join(d === "fsync" ? base : TMPFS_DIR, `mec-peer-${store}-`));
  const body = Buffer.alloc(o.bodyBytes, "m");
  let target: Target | null = null;
  try {
    process.stderr.write(`  ${store} ${d}: starting, prefilling ${o.keys} keys, PUT and GET for ${o.durationS} s each (load average ${loadAverage()})\n`);
    target = await start(store, d, dir, etcdBin, o);
    await prefill(target, o.keys, body);
    await load(target, "put", o, 1, body); // warm-up
    const put = await load(target, "put", o, o.durationS, body);
    await load(target, "get", o, 1, body); // warm-up
    const get = await load(target, "get", o, o.durationS, body);
    return { store, durability: d, put, get, error: null };
  } catch (err) {
    return { store, durability: d, put: null, get: null, error: (err as Error).message };
  } finally {
    await target?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

function combine(rounds: readonly Cell[][]): Cell[] {
  return (rounds[0] ?? []).map((c0) => {
    const runs = rounds.map((r) => r.find((c) => c.store === c0.store && c.durability === c0.durability)!);
    const failed = runs.find((c) => c.error !== null);
    if (failed !== undefined) return failed;
    return { ...c0, put: median(runs.map((c) => c.put!), (m) => m.rps), get: median(runs.map((c) => c.get!), (m) => m.rps) };
  });
}

function report(cells: readonly Cell[], rounds: readonly Cell[][], o: PeerOptions, etcdV: string, loads: string[]): string {
  const out: string[] = [];
  out.push(
    `MecDB vs etcd: ${o.rounds} interleaved round(s), ${o.durationS} s per measurement, ${o.connections} connections spread over the members, ` +
      `${o.bodyBytes}-byte values, GET over ${o.keys} keys, loopback, node ${process.version}, etcd ${etcdV}`,
  );
  out.push(`load average (1/5/15 min) at the start of each round: ${loads.join(" | ")}`);
  const w = [44, 9, 7, 7, 8, 8, 9, 7, 7, 8, 8, 5];
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join(" ");
  for (const d of DURABILITIES) {
    const rows = cells.filter((c) => c.durability === d);
    if (rows.length === 0) continue;
    out.push("");
    out.push(d === "fsync" ? "Durable: every acknowledged write fsynced" : "No fsync: a process crash loses nothing, a power loss may (data on tmpfs)");
    out.push(line(["", "PUT/s", "p50", "p99", "p99.9", "CPU us", "GET/s", "p50", "p99", "p99.9", "CPU us", "err"]));
    for (const c of rows) {
      if (c.put === null || c.get === null) {
        out.push(line([label(c.store, d, o, etcdV), "-", "-", "-", "-", "-", "-", "-", "-", "-", "-", "-"]));
        out.push(`    not measured: ${(c.error ?? "").split("\n").join("\n    ")}`);
        continue;
      }
      const m = (x: Measure): string[] => [fmt(x.rps), fmt(x.p50Ms, 1), fmt(x.p99Ms, 1), fmt(x.p999Ms, 1), fmt(x.serverCpuUs)];
      const errs = c.put.errors + c.put.non2xx + c.get.errors + c.get.non2xx;
      out.push(line([label(c.store, d, o, etcdV), ...m(c.put), ...m(c.get), String(errs)]));
    }
    const get = (s: Store): Cell | undefined => rows.find((c) => c.store === s && c.put !== null && c.get !== null);
    const mec = get("mec");
    const etcd = get("etcd");
    const bound = get("bound");
    const x = (a: number, b: number): string => `${fmt(a / b, 2)}x`;
    const verdict = (ok: boolean): string => (ok ? "met" : "NOT met");
    if (mec !== undefined && etcd !== undefined) {
      const putX = mec.put!.rps / etcd.put!.rps;
      const lowerP99 = mec.put!.p99Ms < etcd.put!.p99Ms;
      const getX = mec.get!.rps / etcd.get!.rps;
      out.push(
        `  MecDB/etcd  PUT ${x(mec.put!.rps, etcd.put!.rps)} req/s, p99 ${fmt(mec.put!.p99Ms, 1)} vs ${fmt(etcd.put!.p99Ms, 1)} ms, CPU/req ${x(mec.put!.serverCpuUs, etcd.put!.serverCpuUs)}` +
          `   target >= 3x with a lower p99: ${verdict(putX >= 3 && lowerP99)}`,
      );
      out.push(
        `  MecDB/etcd  GET ${x(mec.get!.rps, etcd.get!.rps)} req/s, p99 ${fmt(mec.get!.p99Ms, 1)} vs ${fmt(etcd.get!.p99Ms, 1)} ms, CPU/req ${x(mec.get!.serverCpuUs, etcd.get!.serverCpuUs)}` +
          `   target >= 2x: ${verdict(getX >= 2)}`,
      );
    }
    if (mec !== undefined && bound !== undefined) {
      const putShare = mec.put!.rps / bound.put!.rps;
      const cpuX = mec.put!.serverCpuUs / bound.put!.serverCpuUs;
      out.push(
        `  MecDB/bound PUT ${fmt(putShare * 100)}%, GET ${fmt((mec.get!.rps / bound.get!.rps) * 100)}% of req/s   target >= 25%: ${verdict(putShare >= 0.25 && mec.get!.rps / bound.get!.rps >= 0.25)}`,
      );
      out.push(`  MecDB/bound CPU per PUT ${x(mec.put!.serverCpuUs, bound.put!.serverCpuUs)}, per GET ${x(mec.get!.serverCpuUs, bound.get!.serverCpuUs)}   target PUT <= 4x: ${verdict(cpuX <= 4)}`);
    }
  }
  if (rounds.length > 1) {
    out.push("");
    out.push("Rounds (PUT/s / GET/s; the tables show each scenario's median round):");
    for (const c0 of rounds[0] ?? []) {
      const runs = rounds.map((r) => r.find((c) => c.store === c0.store && c.durability === c0.durability));
      const cell = (c: Cell | undefined): string => (c?.put == null || c.get == null ? "failed" : `${fmt(c.put.rps)} / ${fmt(c.get.rps)}`);
      out.push(`  ${label(c0.store, c0.durability, o, etcdV).padEnd(44)} ${runs.map(cell).join("   ")}`);
    }
  }
  out.push("");
  out.push("CPU us = CPU time (user + system, all threads) of the server processes per request, from /proc/PID/stat.");
  return out.join("\n");
}

export async function runPeer(o: PeerOptions): Promise<number> {
  const etcdBin = ensureEtcd((s) => process.stderr.write(s));
  const etcdV = etcdVersion(etcdBin);
  const base = mkdtempSync(join(tmpdir(), "mec-peer-"));
  const pick = <T extends string>(all: readonly T[]): T[] => (all.some((x) => o.only.has(x)) ? all.filter((x) => o.only.has(x)) : [...all]);
  const stores = pick(STORES);
  const durabilities = pick(DURABILITIES);
  const rounds: Cell[][] = [];
  const loads: string[] = [];
  try {
    for (let round = 1; round <= o.rounds; round++) {
      loads.push(loadAverage());
      process.stderr.write(`round ${round} of ${o.rounds}\n`);
      const cells: Cell[] = [];
      for (const d of durabilities) {
        for (const s of stores) {
          const rdir = join(base, `r${round}`);
          mkdirSync(rdir, { recursive: true });
          cells.push(await measureCell(s, d, rdir, etcdBin, o));
        }
      }
      rounds.push(cells);
    }
  } finally {
    killAll("SIGKILL");
    rmSync(base, { recursive: true, force: true });
  }
  const cells = combine(rounds);
  if (o.json) process.stdout.write(`${JSON.stringify({ etcd: etcdV, loads, cells, rounds }, null, 2)}\n`);
  else process.stdout.write(`${report(cells, rounds, o, etcdV, loads)}\n`);
  return cells.some((c) => c.error !== null) ? 1 : 0;
}
