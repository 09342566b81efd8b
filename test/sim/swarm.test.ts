// The default swarm against MecDB's node: 80 seeds on worker threads with no violation, each
// run twice with trace hashing (the determinism checker on every seed), and the determinism checker's own test (same seed
// -> byte-identical trace; different seeds -> different traces).
import { describe, expect, it } from "vitest";
import { mecdb } from "../../sim/mecdb.ts";
import { runSeeds } from "../../sim/pool.ts";
import { runSeed } from "../../sim/seeds.ts";
import { drawWorld, worldSchedule } from "../../sim/swarm.ts";
import { runSimulation } from "../../sim/run.ts";

describe("swarm", () => {
  it("80 seeds of the default swarm, each run twice: no violation, the same trace hash both times", async () => {
    const seeds = Array.from({ length: 80 }, (_, i) => 1 + i);
    const results = await runSeeds(mecdb, seeds, { bugs: [], workers: 2, determinismEvery: 1 });
    expect(results.map((r) => r.seed).sort((a, b) => a - b)).toEqual(seeds);
    const failures = results.filter((r) => r.violations.length > 0).map((r) => `seed ${r.seed}: ${r.violations[0]?.property}: ${r.violations[0]?.detail} (npx mec sim --seed ${r.seed})`);
    expect(failures).toEqual([]);
    // The swarm really exercised something.
    expect(results.reduce((n, r) => n + r.events, 0)).toBeGreaterThan(80 * 2000);
    expect(results.filter((r) => r.schedule.episodes.length > 0).length).toBeGreaterThan(60);
  }, 600_000);

  it("reapers: some seeds draw them (their own stream), and their delete/re-create cycles get keys reaped", () => {
    const drawn = Array.from({ length: 40 }, (_, i) => drawWorld(1 + i).spec.workload.reaperKeys ?? []);
    expect(drawn.filter((k) => k.length > 0).length).toBeGreaterThan(8);
    expect(drawn.filter((k) => k.length === 0).length).toBeGreaterThan(8);
    // Seed 12 draws reapers; without them, reaping was so rare that a mutant forgetting a reaped key's clock escaped.
    expect(drawWorld(12).spec.workload.reaperKeys?.length).toBeGreaterThan(0);
    const o = runSeed(mecdb, 12);
    expect(o.violations).toEqual([]);
    expect(o.stats.nodeEvents["reap"] ?? 0).toBeGreaterThan(0);
  }, 60_000);

  it("read-repair worlds: some seeds (their own stream) turn anti-entropy off, read after the heal and sweep every key once", () => {
    const worlds = Array.from({ length: 300 }, (_, i) => drawWorld(1 + i).spec);
    const rr = worlds.filter((s) => s.workload.sweepAfterMs !== undefined);
    expect(rr.length).toBeGreaterThan(15);
    expect(rr.length).toBeLessThan(60);
    for (const s of rr) {
      expect(s.cluster.timings.antiEntropyIntervalMs).toBe(0);
      expect(s.workload.afterHeal).toBe("read");
      // The sweep starts inside the quiet period (no bound with anti-entropy off: the 20 s floor).
      expect(s.workload.sweepAfterMs!).toBeLessThan(s.quietMs);
    }
    for (const s of worlds.filter((w) => w.workload.sweepAfterMs === undefined)) expect(s.cluster.timings.antiEntropyIntervalMs).toBeGreaterThan(0);
    // Seed 40 is one: its replicas converge by read repair alone, and the sweep read every key after the healed phase.
    const world = drawWorld(40);
    expect(world.spec.workload.sweepAfterMs).toBeDefined();
    const run = runSimulation(mecdb, world.spec, worldSchedule(world));
    expect(run.violations).toEqual([]);
    const sweeper = world.spec.workload.clients + (world.spec.workload.reaperKeys ?? []).length;
    const swept = run.history.filter((op) => op.client === sweeper);
    expect(swept.map((op) => op.key).sort()).toEqual([...world.spec.workload.keys, ...(world.spec.workload.reaperKeys ?? [])].sort());
    expect(swept.every((op) => op.kind === "get" && op.outcome === "ok")).toBe(true);
    expect(run.stats.nodeEvents["anti-entropy"] ?? 0).toBe(0);
  }, 60_000);

  it("a stored object the binding cannot decode at the end is the seed's exception finding, not a crash of the swarm", () => {
    const world = drawWorld(2);
    // Throws on a whole store (the end snapshot), not on the single objects of exchange snapshots.
    const sut = { ...mecdb, readObjects: (entries: Iterable<readonly [string, Uint8Array]>) => {
      const all = [...entries];
      if (all.length > 1) throw new Error("malformed sibling set: planted");
      return mecdb.readObjects(all);
    } };
    const run = runSimulation(sut, world.spec, worldSchedule(world));
    expect(run.violations).toHaveLength(1);
    expect(run.violations[0]!.property).toBe("exception");
    expect(run.violations[0]!.detail).toMatch(/end snapshot.*malformed sibling set: planted/);
  }, 60_000);

  it("determinism: the same seed twice gives byte-identical traces, other seeds other traces", () => {
    const hashes = new Map<number, string>();
    for (const seed of [1, 2, 3, 4]) {
      const o = runSeed(mecdb, seed, { determinism: true });
      expect(o.violations.filter((v) => v.property === "determinism")).toEqual([]);
      expect(o.traceHash).toMatch(/^[0-9a-f]{64}$/);
      hashes.set(seed, o.traceHash);
    }
    expect(new Set(hashes.values()).size).toBe(4);
    expect(runSeed(mecdb, 3, { trace: { hash: true } }).traceHash).toBe(hashes.get(3));
  }, 60_000);
});
