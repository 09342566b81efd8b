// The simulator's own machinery, run against the stand-in node: scheduler order, storage
// durability under process vs machine crashes, pause, schedules, and determinism.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { Scheduler, SIM_EPOCH_MS } from "../../sim/scheduler.ts";
import { Rng } from "../../sim/rng.ts";
import { SimStorage } from "../../sim/storage.ts";
import { Tracer } from "../../sim/trace.ts";
import { runSimulation } from "../../sim/run.ts";
import { drawWorld, worldSchedule } from "../../sim/swarm.ts";
import { parseSchedule, drawSchedule } from "../../sim/faults.ts";
import { cutBlocks } from "../../sim/network.ts";
import { standinSut } from "./standin.ts";

describe("scheduler", () => {
  it("runs events in (time, sequence) order and skips cancelled ones", () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 50 }), { maxLength: 200 }), (delays) => {
        const s = new Scheduler();
        const fired: [number, number][] = [];
        const handles = delays.map((d, i) => s.after(d, () => fired.push([s.now - SIM_EPOCH_MS, i])));
        handles.forEach((h, i) => i % 7 === 3 && h.cancel());
        s.runUntil(SIM_EPOCH_MS + 1000);
        const expected = delays.map((d, i) => [d, i] as [number, number]).filter(([, i]) => i % 7 !== 3);
        expected.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        expect(fired).toEqual(expected);
      }),
    );
  });
});

describe("simulated storage", () => {
  const make = () => {
    const sched = new Scheduler();
    const st = new SimStorage("n1", sched, new Rng(1), new Tracer(), { readMinMs: 1, readMaxMs: 2, writeMinMs: 5, writeMaxMs: 10 });
    return { sched, st };
  };
  const v = new Uint8Array([1]);
  it("a write takes effect when it completes, in submission order", () => {
    const { sched, st } = make();
    const done: string[] = [];
    st.submit({ type: "put", key: "a", value: v }, () => done.push("put a"));
    st.submit({ type: "get", key: "a" }, (r) => done.push(r.ok && r.value ? "got a" : "no a"));
    expect(st.size).toBe(0);
    sched.runUntil(sched.now + 100);
    expect(done).toEqual(["put a", "got a"]);
    expect(st.size).toBe(1);
  });
  it("a process crash keeps queued writes, a machine crash loses them", () => {
    const a = make();
    let called = false;
    a.st.submit({ type: "put", key: "a", value: v }, () => (called = true));
    a.st.crashProcess();
    a.sched.runUntil(a.sched.now + 100);
    expect(called).toBe(false);
    expect(a.st.size).toBe(1);
    const b = make();
    b.st.submit({ type: "put", key: "a", value: v }, () => (called = true));
    expect(b.st.crashMachine()).toBe(1);
    b.sched.runUntil(b.sched.now + 100);
    expect(called).toBe(false);
    expect(b.st.size).toBe(0);
  });
});

describe("network cuts", () => {
  it("partition, one-way, isolate and bridge block the right links", () => {
    const groups = new Map([["n1", 0], ["n2", 0], ["n3", 1]]);
    expect(cutBlocks({ kind: "partition", groups }, "n1", "n3")).toBe(true);
    expect(cutBlocks({ kind: "partition", groups }, "n1", "n2")).toBe(false);
    expect(cutBlocks({ kind: "one-way", from: "n1", to: "n2" }, "n1", "n2")).toBe(true);
    expect(cutBlocks({ kind: "one-way", from: "n1", to: "n2" }, "n2", "n1")).toBe(false);
    expect(cutBlocks({ kind: "isolate", node: "n2" }, "n3", "n2")).toBe(true);
    expect(cutBlocks({ kind: "isolate", node: "n2" }, "n3", "n1")).toBe(false);
    expect(cutBlocks({ kind: "bridge", groups, bridge: "n2" }, "n2", "n3")).toBe(false);
    expect(cutBlocks({ kind: "bridge", groups, bridge: "n2" }, "n1", "n3")).toBe(true);
  });
});

describe("fault schedules", () => {
  it("a seed's schedule is the first value fast-check generates for it, and --schedule JSON round-trips", () => {
    const world = drawWorld(77);
    const s = worldSchedule(world);
    expect(drawSchedule(world.arbitrary, 77)).toEqual(s);
    expect(parseSchedule(JSON.stringify(s))).toEqual(s);
    expect(parseSchedule('{"episodes":[{"kind":"nope"}]}')).toContain("kind must be one of");
    expect(parseSchedule('{"bogus":1}')).toContain('unknown key "bogus"');
  });
});

describe("determinism on the stand-in node", () => {
  const spec = (seed: number) => {
    const w = drawWorld(seed);
    return { w, spec: { ...w.spec, cluster: { ...w.spec.cluster, n: w.spec.cluster.size, r: 1, w: 1 } } };
  };
  it("same seed and schedule give the same trace hash; another seed a different one", () => {
    const a = spec(2);
    const sched = worldSchedule(a.w);
    const h1 = runSimulation(standinSut, a.spec, sched, { hash: true }).traceHash;
    const h2 = runSimulation(standinSut, a.spec, sched, { hash: true }).traceHash;
    expect(h1).toMatch(/^[0-9a-f]{64}$/);
    expect(h2).toBe(h1);
    const b = spec(3);
    expect(runSimulation(standinSut, b.spec, worldSchedule(b.w), { hash: true }).traceHash).not.toBe(h1);
  });
  it("a fault-free run of a correct (W=1, full replication) node has no violation", () => {
    const a = spec(5);
    const res = runSimulation(standinSut, a.spec, { dropRate: 0, dupRate: 0, episodes: [] });
    expect(res.stats.ok).toBeGreaterThan(50);
    expect(res.violations).toEqual([]);
  });
  it("crashes, wipes and pauses run and are traced", () => {
    const a = spec(6);
    const lines: string[] = [];
    runSimulation(
      standinSut,
      a.spec,
      {
        dropRate: 0,
        dupRate: 0.1,
        episodes: [
          { atMs: 100, durMs: 500, kind: "crash", node: 0, peer: 0, mask: 0 },
          { atMs: 200, durMs: 500, kind: "pause", node: 1, peer: 0, mask: 0 },
          { atMs: 900, durMs: 300, kind: "partition", node: 0, peer: 0, mask: 1 },
          { atMs: 1500, durMs: 300, kind: "power-loss", node: 0, peer: 0, mask: 0 },
        ],
      },
      { sink: (l) => lines.push(l) },
    );
    const kinds = new Set(lines.map((l) => (JSON.parse(l) as { ev: string }).ev));
    for (const k of ["send", "deliver", "duplicate", "crash", "machine-crash", "boot", "pause", "resume", "cut", "uncut", "storage-op", "storage-done", "invoke", "complete", "node-event"]) expect(kinds).toContain(k);
  });
  it("a mint is retracted only when a machine crash lost it before anyone saw it", () => {
    const a = spec(8);
    const slow = { ...a.spec, cluster: { ...a.spec.cluster, storage: { ...a.spec.cluster.storage, writeMinMs: 20, writeMaxMs: 60 } } };
    const episodes = Array.from({ length: 12 }, (_, i) => ({ atMs: 300 + i * 600, durMs: 100, kind: "power-loss" as const, node: 0, peer: 0, mask: 0 }));
    const res = runSimulation(standinSut, slow, { dropRate: 0, dupRate: 0, episodes });
    const retracted = res.cluster.minted.filter((m) => m.retracted);
    expect(retracted.length).toBeGreaterThan(0);
    for (const m of retracted) {
      const acked = res.history.find((op) => op.outcome === "ok" && op.dot?.actor === m.actor && op.dot.counter === m.counter && op.key === m.key);
      expect(acked).toBeUndefined();
    }
    expect(res.violations.filter((v) => v.property === "unique-dots")).toEqual([]);
  });
  it("a node that throws is reported as an 'exception' finding, not a simulator crash", () => {
    let steps = 0;
    const throwing = {
      ...standinSut,
      createNode: (config: Parameters<typeof standinSut.createNode>[0]) => {
        const node = standinSut.createNode(config);
        return { id: node.id, step: (s: Parameters<typeof node.step>[0]) => {
          if (++steps === 500) throw new Error("assertion failed: planted");
          return node.step(s);
        } };
      },
    };
    const a = spec(3);
    const res = runSimulation(throwing, a.spec, { dropRate: 0, dupRate: 0, episodes: [] });
    expect(res.violations).toHaveLength(1);
    expect(res.violations[0]?.property).toBe("exception");
    expect(res.violations[0]?.detail).toContain("assertion failed: planted");
  });
});
