// `npm run bench:rng`: is seedrandom's alea fast enough for the simulator? Side by side in one
// run (absolute numbers swing with the machine's load; compare the ratios):
//   1. raw draws/s of the hand-written sfc32 (sim/rng.ts) and of seedrandom's alea
//   2. simulator events/s on swarm seeds 1..COUNT with each generator behind the simulator's Rng
//      (each generator runs in its own child process, rounds interleaved, medians taken, so
//      neither side's JIT state leaks into the other)
// Usage: npm run bench:rng [-- --rounds N --seeds COUNT]
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import seedrandom from "seedrandom";
import { Rng } from "../sim/rng.ts";

const alea = seedrandom.alea;

type Generator = "sfc32" | "alea";
const args = process.argv.slice(2);
const argOf = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};

/** Puts alea behind the simulator's Rng: every stream draws from an alea seeded with its sfc32 state. */
function useAlea(): void {
  type Patched = Rng & { gen?: seedrandom.PRNG };
  const proto = Rng.prototype as unknown as { nextU32(this: Patched): number; next(this: Patched): number };
  const genOf = (r: Patched): seedrandom.PRNG => (r.gen ??= alea(JSON.stringify(r)));
  proto.nextU32 = function () {
    return genOf(this).int32() >>> 0;
  };
  proto.next = function () {
    return genOf(this)();
  };
}

/**
 * The child: runs swarm seeds 1..`seeds` with one generator and prints its events/s. The two
 * generators draw different worlds from the same seed, so many seeds are run to compare like
 * with like (a mix of worlds on each side), not one trace against another.
 */
async function child(gen: Generator, seeds: number): Promise<void> {
  if (gen === "alea") useAlea();
  const { mecdb } = await import("../sim/mecdb.ts");
  const { runSeed } = await import("../sim/seeds.ts");
  runSeed(mecdb, 1); // warm-up
  let events = 0;
  const t = performance.now();
  for (let seed = 1; seed <= seeds; seed++) events += runSeed(mecdb, seed).events;
  const ms = performance.now() - t;
  process.stdout.write(JSON.stringify({ eventsPerSec: (events / ms) * 1000, events }) + "\n");
}

function rawDraws(gen: Generator, count: number): number {
  let sink = 0;
  const t = performance.now();
  if (gen === "sfc32") {
    const r = new Rng(1);
    for (let i = 0; i < count; i++) sink += r.next();
  } else {
    const r = alea("1");
    for (let i = 0; i < count; i++) sink += r();
  }
  const ms = performance.now() - t;
  if (sink < 0) console.log(sink);
  return (count / ms) * 1000;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (n: number): string => Math.round(n).toLocaleString("en-US");

const childGen = argOf("--child") as Generator | undefined;
if (childGen !== undefined) {
  await child(childGen, Number(argOf("--seeds") ?? 20));
} else {
  const rounds = Number(argOf("--rounds") ?? 3);
  rawDraws("sfc32", 2_000_000);
  rawDraws("alea", 2_000_000);
  const raw: Record<Generator, number[]> = { sfc32: [], alea: [] };
  for (let i = 0; i < 5; i++) for (const g of ["sfc32", "alea"] as const) raw[g].push(rawDraws(g, 5_000_000));
  const sim: Record<Generator, number[]> = { sfc32: [], alea: [] };
  const seeds = Number(argOf("--seeds") ?? 20);
  const events: Record<Generator, number> = { sfc32: 0, alea: 0 };
  const self = fileURLToPath(import.meta.url);
  for (let i = 0; i < rounds; i++) {
    for (const g of ["sfc32", "alea"] as const) {
      const p = spawnSync(process.execPath, ["--import", "tsx", self, "--child", g, "--runs", "3"], { encoding: "utf8" });
      if (p.status !== 0) throw new Error(`child ${g} failed: ${p.stderr}`);
      const o = JSON.parse(p.stdout.trim().split("\n").pop()!) as { eventsPerSec: number; events: number };
      sim[g].push(o.eventsPerSec);
      events[g] = o.events;
    }
  }
  console.log(`seeded generators: sfc32 (hand-written, sim/rng.ts) vs seedrandom alea (medians; ${rounds} interleaved rounds)`);
  console.log("");
  console.log(`                                        sfc32          alea     alea/sfc32`);
  const row = (label: string, a: number, b: number): void =>
    console.log(`${label.padEnd(36)}${fmt(a).padStart(10)}    ${fmt(b).padStart(10)}     ${((b / a) * 100).toFixed(0)}%`);
  row("raw draws/s (next())", median(raw.sfc32), median(raw.alea));
  row(`simulator events/s (seeds 1..${seeds})`, median(sim.sfc32), median(sim.alea));
  console.log(`(events in seeds 1..${seeds}: ${fmt(events.sfc32)} with sfc32, ${fmt(events.alea)} with alea)`);
}
