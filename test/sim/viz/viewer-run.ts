// A short seeded run with faults for the viewer tests: a partition, a crash and a pause,
// traced in memory with a seed-run header (so the viewer can re-run it for node state).
import { mecdb } from "../../../sim/mecdb.ts";
import type { FaultSchedule } from "../../../sim/faults.ts";
import { runSimulation } from "../../../sim/run.ts";
import { drawWorld } from "../../../sim/swarm.ts";
import type { TraceLine } from "../../../sim/viz/model.ts";

export const VIEWER_SEED = 2; // a 3-node world under the alea draws

export function viewerRun(): TraceLine[] {
  const world = drawWorld(VIEWER_SEED);
  // The seed's world also draws a join (sim/membership.ts); this run shows only the three episodes below.
  const { membership: _membership, ...fixed } = world.spec;
  const spec = { ...fixed, cluster: { ...fixed.cluster, spares: 0 }, faultPhaseMs: 1500, healPhaseMs: 500, quietMs: 1000 };
  const schedule: FaultSchedule = {
    dropRate: 0.02,
    dupRate: 0,
    episodes: [
      { atMs: 100, durMs: 400, kind: "partition", node: 0, peer: 0, mask: 1 },
      { atMs: 700, durMs: 300, kind: "crash", node: 1, peer: 0, mask: 0 },
      { atMs: 900, durMs: 200, kind: "pause", node: 2, peer: 0, mask: 0 },
    ],
  };
  const lines: TraceLine[] = [];
  runSimulation(mecdb, spec, schedule, { sink: (l) => lines.push(JSON.parse(l) as TraceLine), header: { source: { kind: "seed", seed: VIEWER_SEED, bugs: [] } } });
  return lines;
}
