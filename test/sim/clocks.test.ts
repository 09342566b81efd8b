// Per-node clocks in the simulator (sim/clock.ts), and what MecDB must do with them: a node's
// wall clock may be off by seconds, drift and jump both ways, and nothing may depend on
// clocks agreeing. Fault-free runs with skewed clocks must answer every write (a stale-forward
// check comparing one node's clock with another's silently dropped forwarded writes).
import { describe, expect, it } from "vitest";
import { NodeClock, drawNodeClock } from "../../sim/clock.ts";
import { mecdb } from "../../sim/mecdb.ts";
import { Rng } from "../../sim/rng.ts";
import { runSimulation } from "../../sim/run.ts";
import { drawWorld } from "../../sim/swarm.ts";

const T = 1_700_000_000_000;

describe("sim clocks", () => {
  it("a clock is offset + drift since the start + the jumps so far, both ways", () => {
    const c = new NodeClock({ offsetMs: 1500, driftPpm: 100, jumps: [{ atMs: T + 2000, byMs: -4000 }, { atMs: T + 5000, byMs: 1000 }] }, T);
    expect(c.wallAt(T)).toBe(T + 1500);
    expect(c.wallAt(T + 1000)).toBeCloseTo(T + 1000 + 1500 + 0.1, 6);
    expect(c.wallAt(T + 2000)).toBeCloseTo(T + 2000 + 1500 + 0.2 - 4000, 6); // stepped back
    expect(c.wallAt(T + 1999)).toBeGreaterThan(c.wallAt(T + 2000)); // wall time went backwards
    expect(c.wallAt(T + 6000)).toBeCloseTo(T + 6000 + 1500 + 0.6 - 3000, 6);
    expect(c.maxSkewMs).toBe(2500);
  });

  it("draws stay within the spread, jumps inside their window and sorted; same stream, same clock", () => {
    const spread = { offsetMaxMs: 10_000, driftMaxPpm: 200, jumpsMax: 3, jumpMaxMs: 10_000, jumpFromMs: 0, jumpUntilMs: 8000 };
    for (let s = 0; s < 200; s++) {
      const k = drawNodeClock(new Rng(s, 7), spread, T);
      expect(k).toEqual(drawNodeClock(new Rng(s, 7), spread, T));
      expect(Math.abs(k.offsetMs)).toBeLessThanOrEqual(10_000);
      expect(Math.abs(k.driftPpm)).toBeLessThanOrEqual(200);
      expect(k.jumps.length).toBeLessThanOrEqual(3);
      for (const j of k.jumps) {
        expect(j.atMs).toBeGreaterThanOrEqual(T);
        expect(j.atMs).toBeLessThanOrEqual(T + 8000);
        expect(Math.abs(j.byMs)).toBeLessThanOrEqual(10_000);
      }
      expect(k.jumps.map((j) => j.atMs)).toEqual([...k.jumps.map((j) => j.atMs)].sort((a, b) => a - b));
    }
  });

  it("the swarm draws skewed clocks in most seeds, up to 10 s, some with jumps", () => {
    const worlds = Array.from({ length: 60 }, (_, i) => drawWorld(i + 1));
    const skewed = worlds.filter((w) => w.spec.cluster.clocks !== undefined);
    expect(skewed.length).toBeGreaterThan(30);
    expect(Math.max(...skewed.map((w) => w.spec.cluster.clocks!.offsetMaxMs))).toBe(10_000);
    expect(skewed.some((w) => w.spec.cluster.clocks!.jumpsMax > 0)).toBe(true);
  });

  it("fault-free runs with clocks skewed beyond the request timeout answer every write", () => {
    const findings: string[] = [];
    let runs = 0;
    for (let seed = 1; runs < 6 && seed < 200; seed++) {
      const world = drawWorld(seed);
      const clocks = world.spec.cluster.clocks;
      if (clocks === undefined || clocks.offsetMaxMs < 5000) continue;
      runs++;
      // Fault-free: no episodes, and none of the storage or channel faults or membership episodes the world also draws.
      const { storageFaults: _storage, channelFaults: _channels, membership: _membership, ...faultFree } = world.spec;
      const spec = { ...faultFree, quietMs: 5000 };
      const res = runSimulation(mecdb, spec, { dropRate: 0, dupRate: 0, episodes: [] });
      const writes = res.history.filter((op) => op.kind !== "get");
      const notOk = writes.filter((op) => op.outcome !== "ok");
      if (notOk.length > 0) findings.push(`seed ${seed}: ${notOk.length} of ${writes.length} writes not ok (first: ${notOk[0]!.outcome} ${notOk[0]!.error ?? ""})`);
      expect(res.violations).toEqual([]);
    }
    expect(runs).toBe(6);
    expect(findings).toEqual([]);
  }, 120_000);
});
