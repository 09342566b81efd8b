// `npm run bench:sim`: the simulator's speed, side by side in one run (absolute numbers swing
// with the machine's load; compare the ratios):
//   1. events/s of the simulator running the default seed vs a bare baseline loop (binary
//      heap + msgpack encode/decode of a small message per event)       target >= 30%
//   2. simulated time per wall second on the default seed               target >= 1,000x
//   3. seeds/s of the default swarm on worker threads, and the wall time of 1,000 seeds
//                                                                        target < 60 s
// Usage: npm run bench:sim [-- --seeds N --workers K]
import { availableParallelism, loadavg } from "node:os";
import { decode, encode } from "@msgpack/msgpack";
import { mecdb } from "../sim/mecdb.ts";
import { runSeeds } from "../sim/pool.ts";
import { Scheduler } from "../sim/scheduler.ts";
import { runSeed } from "../sim/seeds.ts";

const args = process.argv.slice(2);
const arg = (name: string, def: number): number => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : def;
};
const SEEDS = arg("--seeds", 1000);
const WORKERS = arg("--workers", availableParallelism());
const DEFAULT_SEED = 1;

/** Baseline: n events through a binary heap, each encoding and decoding a small msgpack message. */
function baseline(events: number): { eventsPerSec: number } {
  const sched = new Scheduler();
  let left = events;
  let sink = 0;
  const fire = (): void => {
    const bytes = encode({ type: "replicate-ack", reqId: "n1/3f2a9c01/17", from: "n2", partition: 7 });
    const msg = decode(bytes) as { partition: number };
    sink += msg.partition;
    if (--left > 0) sched.after(1 + (left % 7), fire);
  };
  for (let i = 0; i < 64; i++) sched.after(i, fire);
  const t = performance.now();
  sched.runUntil(Number.MAX_SAFE_INTEGER);
  const ms = performance.now() - t;
  if (sink < 0) console.log(sink);
  return { eventsPerSec: (sched.eventsRun / ms) * 1000 };
}

function simulator(runs: number): { eventsPerSec: number; realTimeFactor: number; events: number; simulatedMs: number } {
  let events = 0;
  let simulatedMs = 0;
  const t = performance.now();
  for (let i = 0; i < runs; i++) {
    const o = runSeed(mecdb, DEFAULT_SEED);
    events += o.events;
    simulatedMs += o.simulatedMs;
  }
  const ms = performance.now() - t;
  return { eventsPerSec: (events / ms) * 1000, realTimeFactor: simulatedMs / ms, events: events / runs, simulatedMs: simulatedMs / runs };
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");
const verdict = (ok: boolean): string => (ok ? "MET" : "NOT MET");

// Warm up the JIT on both sides (steady state, not compile time, is what is compared), then
// measure them interleaved and take medians.
baseline(300_000);
simulator(12);
const base: number[] = [];
const sims: ReturnType<typeof simulator>[] = [];
for (let round = 0; round < 5; round++) {
  base.push(baseline(300_000).eventsPerSec);
  sims.push(simulator(5));
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const baseEps = median(base);
const simEps = median(sims.map((s) => s.eventsPerSec));
const rtf = median(sims.map((s) => s.realTimeFactor));
const ratio = simEps / baseEps;

console.log(`mec simulator benchmark (default seed ${DEFAULT_SEED}: ${fmt(sims[0]!.events)} events, ${(sims[0]!.simulatedMs / 1000).toFixed(1)} s simulated per run), node ${process.version}, load average ${loadavg().map((x) => x.toFixed(2)).join(" ")}`);
console.log("");
console.log(`                                       simulator      baseline (heap + msgpack)`);
console.log(`events/s                               ${fmt(simEps).padStart(9)}      ${fmt(baseEps).padStart(9)}`);
console.log(`simulator / baseline                   ${(ratio * 100).toFixed(0)}%   target >= 30%: ${verdict(ratio >= 0.3)}`);
console.log(`simulated time per wall second        ${fmt(rtf)}x   target >= 1,000x: ${verdict(rtf >= 1000)}`);

const seeds = Array.from({ length: SEEDS }, (_, i) => 1 + i);
const t = performance.now();
const results = await runSeeds(mecdb, seeds, { bugs: [], workers: WORKERS, determinismEvery: 0 });
const wallMs = performance.now() - t;
const failing = results.filter((r) => r.violations.length > 0).length;
const swarmEvents = results.reduce((n, r) => n + r.events, 0);
const swarmSim = results.reduce((n, r) => n + r.simulatedMs, 0);
console.log(
  `default swarm, ${SEEDS} seeds, ${WORKERS} workers    ${(wallMs / 1000).toFixed(1)} s wall, ${((SEEDS / wallMs) * 1000).toFixed(1)} seeds/s, ${fmt((swarmEvents / wallMs) * 1000)} events/s, ${fmt(swarmSim / wallMs)}x real time, ${failing} failing`,
);
if (SEEDS === 1000) console.log(`1,000 seeds in ${(wallMs / 1000).toFixed(1)} s   target < 60 s: ${verdict(wallMs < 60_000)}`);
else console.log(`(${SEEDS} seeds: run with --seeds 1000 for the 1,000-seed target; projected ${((wallMs / SEEDS) * 1000 / 1000).toFixed(1)} s)`);
