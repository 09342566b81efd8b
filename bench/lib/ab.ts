// `npm run bench -- --against DIR`: A/B of this checkout's nodes against another checkout's
// (DIR: e.g. `git worktree add /tmp/base main`, with node_modules), paired so that the load
// of a shared machine hits both alike: both clusters run at once, and their measurements
// alternate in short slices (A, B, A, B, ...), PUT slices first, then GET slices. It prints
// each side's median req/s, p99 and server CPU per request (all threads, and the main JS
// threads alone), and B/A. DIR's nodes start from its sources (tsx); this checkout's as the
// bench was told (compiled by default, --from-source: from the sources too), so `--against .`
// measures what the compiled package saves over tsx.
import { join, resolve } from "node:path";
import { fmt, load, loadAverage, mecEntry, median, prefill, setMecEntry, startCluster, type Measure, type Target } from "./harness.ts";

export interface AbOptions {
  durationS: number;
  connections: number;
  bodyBytes: number;
  keys: number;
  sync: boolean;
  /** Slices per side and operation. */
  rounds: number;
  /** Scenarios: b (1 node), c (3 nodes), d (3 nodes with CURVE). */
  only: Set<string>;
}

const SCENARIOS = [
  { id: "b", label: "1 node, N=R=W=1", count: 1, nrw: { n: 1, r: 1, w: 1 }, curve: false },
  { id: "c", label: "3 nodes, N=3 R=2 W=2", count: 3, nrw: { n: 3, r: 2, w: 2 }, curve: false },
  { id: "d", label: "3 nodes, N=3 R=2 W=2, CURVE", count: 3, nrw: { n: 3, r: 2, w: 2 }, curve: true },
] as const;

type Side = { name: string; target: Target; put: Measure[]; get: Measure[] };

export async function runAb(other: string, o: AbOptions, dir: string): Promise<number> {
  const mine = mecEntry();
  const theirs = [join(resolve(other), "src", "cli", "dev.mjs")];
  const out: string[] = [
    `A/B: A = ${resolve(other)} (from its sources), B = this checkout (${mine[0]!.endsWith(".js") ? "compiled" : "from its sources"}); ` +
      `${o.rounds} alternating slices of ${o.durationS} s per side and operation, ${o.connections} connections, sync ${o.sync ? "on" : "off"}, load average ${loadAverage()}`,
    "",
  ];
  const body = Buffer.alloc(o.bodyBytes, "m");
  for (const sc of SCENARIOS.filter((s) => o.only.has(s.id))) {
    process.stderr.write(`${sc.id}: starting A and B (${sc.label}) ...\n`);
    const sides: Side[] = [];
    try {
      for (const [name, entry] of [["A", theirs], ["B", mine]] as const) {
        setMecEntry(entry);
        const target = await startCluster(join(dir, `${sc.id}-${name}`), sc.count, sc.nrw, o.sync, sc.curve);
        sides.push({ name, target, put: [], get: [] });
        await prefill(target, o.keys, body);
      }
      for (const op of ["put", "get"] as const) {
        for (const side of sides) await load(side.target, op, o, 1, body); // warm-up
        for (let i = 0; i < o.rounds; i++) for (const side of sides) side[op].push(await load(side.target, op, o, o.durationS, body));
      }
    } finally {
      setMecEntry(mine);
      for (const side of sides) await side.target.stop();
    }
    out.push(`(${sc.id}) ${sc.label}, load average ${loadAverage()}`);
    for (const op of ["put", "get"] as const) {
      const row = (s: Side): { rps: number; p99: number; cpu: number; js: number } => ({
        rps: median(s[op], (m) => m.rps).rps,
        p99: median(s[op], (m) => m.p99Ms).p99Ms,
        cpu: median(s[op], (m) => m.serverCpuUs).serverCpuUs,
        js: median(s[op], (m) => m.serverMainCpuUs).serverMainCpuUs,
      });
      const [a, b] = [row(sides[0]!), row(sides[1]!)];
      const cell = (x: typeof a): string => `${fmt(x.rps).padStart(6)} req/s  p99 ${fmt(x.p99, 1).padStart(6)} ms  CPU ${fmt(x.cpu).padStart(6)} us/req (JS ${fmt(x.js).padStart(6)})`;
      out.push(`  ${op.toUpperCase()} A ${cell(a)}`);
      out.push(`  ${op.toUpperCase()} B ${cell(b)}   B/A: ${fmt((b.rps / a.rps) * 100)}% req/s, ${fmt((b.cpu / a.cpu) * 100)}% CPU, ${fmt((b.js / a.js) * 100)}% JS CPU`);
    }
    out.push("");
  }
  process.stdout.write(`${out.join("\n")}\n`);
  return 0;
}
