// Prints the trace hash of each swarm seed, one "seed hash" line per seed, so a pure
// optimisation can be shown to leave every trace byte-identical:
//   npx tsx scripts/sim-trace-hashes.ts 1 200 > before.txt   (then again after, and diff)
import { mecdb } from "../sim/mecdb.ts";
import { runSeed } from "../sim/seeds.ts";

const first = Number(process.argv[2] ?? 1);
const count = Number(process.argv[3] ?? 200);
for (let seed = first; seed < first + count; seed++) {
  const o = runSeed(mecdb, seed, { trace: { hash: true } });
  process.stdout.write(`${seed} ${o.traceHash} ${o.events} ${o.violations.length}\n`);
}
