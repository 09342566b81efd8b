// `npm run bench:rng`: what the seeded generator (seedrandom's alea behind src/core/random.ts)
// costs the simulator. Side by side in one run (absolute numbers swing with the machine's load):
//   1. raw draws/s of the seeded Rng, beside Math.random (the engine's own generator, the
//      fastest a draw gets) as the baseline
//   2. simulator events/s on swarm seeds 1..COUNT, the draws each run makes, and so the share
//      of simulator time the generator takes (draws x time per raw draw / run time)
// Usage: npm run bench:rng [-- --rounds N --seeds COUNT]
import { Rng } from "../src/core/random.ts";
import { mecdb } from "../sim/mecdb.ts";
import { runSeed } from "../sim/seeds.ts";

const args = process.argv.slice(2);
const argOf = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

function rawDraws(draw: () => number, count: number): number {
  let sink = 0;
  const t = performance.now();
  for (let i = 0; i < count; i++) sink += draw();
  const ms = performance.now() - t;
  if (sink < 0) console.log(sink);
  return (count / ms) * 1000;
}

/** Runs swarm seeds 1..seeds, counting the generator's draws (every Rng draw goes through next or nextU32). */
function simulate(seeds: number): { eventsPerSec: number; events: number; draws: number; ms: number } {
  const proto = Rng.prototype as unknown as { next(): number; nextU32(): number };
  const { next, nextU32 } = proto;
  let draws = 0;
  proto.next = function (this: Rng) {
    draws++;
    return next.call(this);
  };
  proto.nextU32 = function (this: Rng) {
    draws++;
    return nextU32.call(this);
  };
  try {
    let events = 0;
    const t = performance.now();
    for (let seed = 1; seed <= seeds; seed++) events += runSeed(mecdb, seed).events;
    const ms = performance.now() - t;
    return { eventsPerSec: (events / ms) * 1000, events, draws, ms };
  } finally {
    proto.next = next;
    proto.nextU32 = nextU32;
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

const rounds = Number(argOf("--rounds") ?? 3);
const seeds = Number(argOf("--seeds") ?? 20);
const rng = new Rng(1);
const seeded = (): number => rng.next();
const ambient = (): number => Math.random();
rawDraws(seeded, 2_000_000);
rawDraws(ambient, 2_000_000);
runSeed(mecdb, 1); // warm-up
const raw = { seeded: [] as number[], ambient: [] as number[] };
const sim: ReturnType<typeof simulate>[] = [];
for (let i = 0; i < rounds; i++) {
  raw.seeded.push(rawDraws(seeded, 5_000_000));
  raw.ambient.push(rawDraws(ambient, 5_000_000));
  sim.push(simulate(seeds));
}
const perDrawMs = 1000 / median(raw.seeded);
const last = sim[sim.length - 1]!;
const share = median(sim.map((s) => (s.draws * perDrawMs) / s.ms));
console.log(`the seeded generator (seedrandom alea, src/core/random.ts); medians of ${rounds} interleaved rounds`);
console.log("");
console.log(`raw draws/s, Rng.next()          ${fmt(median(raw.seeded)).padStart(12)}`);
console.log(`raw draws/s, Math.random()       ${fmt(median(raw.ambient)).padStart(12)}   (baseline; Rng at ${((median(raw.seeded) / median(raw.ambient)) * 100).toFixed(0)}%)`);
console.log(`simulator events/s (seeds 1..${seeds}) ${fmt(median(sim.map((s) => s.eventsPerSec))).padStart(9)}`);
console.log(`draws per event                  ${(last.draws / last.events).toFixed(2).padStart(12)}   (${fmt(last.draws)} draws, ${fmt(last.events)} events)`);
console.log(`share of simulator time drawing  ${(share * 100).toFixed(1).padStart(11)}%`);
