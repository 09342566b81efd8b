// Membership episodes in the swarm (sim/membership.ts): drawn from their own stream in about 30%
// of the seeds, within their limits (leave and remove only where N members remain, remove only
// where W-1 allows a disk loss, which it takes); and real runs of a join, a leave and a remove
// through the node's own join protocol and admin input, clean under every checker.
import { describe, expect, it } from "vitest";
import { mecdb } from "../../sim/mecdb.ts";
import { runSimulation } from "../../sim/run.ts";
import { drawWorld, worldSchedule } from "../../sim/swarm.ts";

describe("membership episodes", () => {
  it("about 30% of the seeds draw one, of every kind, within the limits", () => {
    const worlds = Array.from({ length: 300 }, (_, i) => drawWorld(1 + i));
    const drawn = worlds.filter((w) => (w.spec.membership ?? []).length > 0);
    expect(drawn.length).toBeGreaterThan(60);
    expect(drawn.length).toBeLessThan(120);
    const kinds = new Set(drawn.map((w) => w.spec.membership![0]!.kind));
    expect([...kinds].sort()).toEqual(["join", "leave", "remove"]);
    for (const w of drawn) {
      const c = w.spec.cluster;
      const ep = w.spec.membership!;
      expect(ep).toHaveLength(1);
      expect(ep[0]!.atMs).toBeLessThanOrEqual(w.spec.faultPhaseMs / 2);
      if (ep[0]!.kind === "join") expect(c.spares).toBe(1);
      if (ep[0]!.kind !== "join") expect(c.size).toBeGreaterThan(c.n);
      if (ep[0]!.kind === "remove") {
        expect(c.w).toBeGreaterThanOrEqual(2);
        expect(w.spec.wipesMax).toBe(c.w - 2);
      }
    }
    // Their own stream: a seed's other draws are what they were (seed 6 drew this world before them).
    const six = drawWorld(6).spec.cluster;
    expect([six.size, six.n, six.r, six.w]).toEqual([3, 3, 2, 3]);
  });

  it("a join (seed 6), a leave (seed 141) and a remove (seed 8) run clean; the joiner becomes a member, the others depart", () => {
    const run = (seed: number) => {
      const world = drawWorld(seed);
      const r = runSimulation(mecdb, world.spec, worldSchedule(world));
      expect(r.violations).toEqual([]);
      expect(r.record.membership?.changes.every((c) => c.acceptedAtMs !== null)).toBe(true);
      return r;
    };
    const join = run(6);
    expect(join.cluster.members).toContain("n4");
    expect(join.stats.nodeEvents["transfer-done"] ?? 0).toBeGreaterThan(0);
    const leave = run(141);
    // "left" once per boot that finds the node departed (seed 141's leaver crashes while it
    // lingers and reports it again after the restart).
    expect(leave.stats.nodeEvents["left"] ?? 0).toBeGreaterThanOrEqual(1);
    expect([...leave.cluster.departed]).toEqual([leave.record.membership!.changes[0]!.node]);
    expect(leave.record.final.has(leave.record.membership!.changes[0]!.node)).toBe(false);
    const remove = run(8);
    expect([...remove.cluster.departed]).toEqual([remove.record.membership!.changes[0]!.node]);
    expect(remove.record.final.has(remove.record.membership!.changes[0]!.node)).toBe(false);
  }, 120_000);
});
