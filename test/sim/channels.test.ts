// The simulated network's two channels per pair of nodes (control: heartbeats; data: everything
// else, as the production transport routes them) and the channel faults: a dead data channel
// under a live control channel, the reverse, and a busy data channel. The network on its own
// first (a stand-in SUT), then MecDB in runs where only the channel fault happens: a node whose
// data channel is dead is routed around for the whole fault (its heartbeats must not make it
// routable again) and is routable again soon after; a node whose data channel is slow but whose
// requests still complete in time is never suspected (heartbeats must not ride on data).
import { describe, expect, it } from "vitest";
import { busyExtraMs, type Episode } from "../../sim/faults.ts";
import { mecdb } from "../../sim/mecdb.ts";
import { SimNetwork } from "../../sim/network.ts";
import { Rng } from "../../sim/rng.ts";
import { runSimulation, type RunResult } from "../../sim/run.ts";
import { Scheduler } from "../../sim/scheduler.ts";
import type { SystemUnderTest } from "../../sim/sut.ts";
import { drawChannelFaults, drawWorld } from "../../sim/swarm.ts";
import { Tracer } from "../../sim/trace.ts";

/** A stand-in SUT: first byte 1 = a control message, anything else data. */
const fakeSut = (withChannels: boolean): SystemUnderTest =>
  ({
    ...(withChannels ? { channelOf: (b: Uint8Array) => (b[0] === 1 ? "control" : "data") } : {}),
    describeMessage: () => null,
  }) as unknown as SystemUnderTest;

function netOf(withChannels = true): { net: SimNetwork; sched: Scheduler; got: { to: string; kind: number; at: number }[] } {
  const sched = new Scheduler();
  const got: { to: string; kind: number; at: number }[] = [];
  const latency = { baseMinMs: 1, baseMaxMs: 5, jitterMs: 3, spikeRate: 0, spikeMs: 0 };
  const net = new SimNetwork(sched, new Rng(7, 1), new Tracer(), fakeSut(withChannels), latency, (to, _from, bytes) => (got.push({ to, kind: bytes[0]!, at: sched.now }), true));
  return { net, sched, got };
}

const CONTROL = new Uint8Array([1]);
const DATA = new Uint8Array([2]);

describe("sim network channels", () => {
  it("a data-only cut of a node drops its data both ways and delivers its control messages", () => {
    const { net, sched, got } = netOf();
    net.addCut({ kind: "isolate", node: "n2", channel: "data" });
    for (const [f, t] of [["n1", "n2"], ["n2", "n1"], ["n1", "n3"]] as const) {
      net.send(f, t, CONTROL);
      net.send(f, t, DATA);
    }
    sched.runUntil(sched.now + 100);
    expect(got.map((g) => `${g.to}:${g.kind}`).sort()).toEqual(["n1:1", "n2:1", "n3:1", "n3:2"]);
  });

  it("a control-only cut of a pair drops only that pair's control messages", () => {
    const { net, sched, got } = netOf();
    net.addCut({ kind: "pair", a: "n1", b: "n2", channel: "control" });
    for (const [f, t] of [["n1", "n2"], ["n2", "n1"], ["n3", "n2"]] as const) {
      net.send(f, t, CONTROL);
      net.send(f, t, DATA);
    }
    sched.runUntil(sched.now + 100);
    expect(got.map((g) => `${g.to}:${g.kind}`).sort()).toEqual(["n1:2", "n2:1", "n2:2", "n2:2"]);
  });

  it("a busy data channel delays data messages, not control messages, until it ends", () => {
    const { net, sched, got } = netOf();
    const t0 = sched.now;
    net.addBusy({ a: "n2", b: null, channel: "data", extraMs: 1000, untilMs: t0 + 500 });
    net.send("n1", "n2", CONTROL);
    net.send("n1", "n2", DATA);
    sched.runUntil(t0 + 600);
    net.send("n1", "n2", DATA); // sent after the busy spell: fast again
    sched.runUntil(t0 + 2000);
    const at = got.map((g) => [g.kind, Math.round(g.at - t0)] as const);
    expect(at[0]![0]).toBe(1);
    expect(at[0]![1]).toBeLessThan(20);
    expect(at[1]![0]).toBe(2);
    expect(at[1]![1]).toBeLessThan(700); // the late-sent one
    expect(at[2]![1]).toBeGreaterThanOrEqual(1000);
  });

  it("without channel faults, channels change no draw: the same deliveries at the same times", () => {
    const run = (withChannels: boolean): string => {
      const { net, sched, got } = netOf(withChannels);
      net.dropRate = 0.2;
      net.dupRate = 0.2;
      for (let i = 0; i < 200; i++) net.send(`n${1 + (i % 3)}`, `n${1 + ((i + 1) % 3)}`, i % 2 === 0 ? CONTROL : DATA);
      sched.runUntil(sched.now + 1000);
      return JSON.stringify(got);
    };
    expect(run(true)).toBe(run(false));
  });

  it("the swarm draws channel faults from their own stream in some seeds, every kind and scope", () => {
    const all = Array.from({ length: 200 }, (_, i) => drawChannelFaults(i + 1, 8000));
    expect(all.filter((e) => e.length > 0).length).toBeGreaterThan(50);
    const eps = all.flat();
    for (const kind of ["data-cut", "control-cut", "data-busy"]) expect(eps.some((e) => e.kind === kind)).toBe(true);
    expect(new Set(eps.map((e) => e.mask % 2))).toEqual(new Set([0, 1]));
    expect(drawWorld(5).spec.channelFaults).toEqual(drawChannelFaults(5, 8000));
  });
});

/** A fault-free world (4 nodes, n=3) whose only fault is `channelFaults`, on fixed timings. */
function channelRun(channelFaults: Episode[], timings: { requestTimeoutMs: number; heartbeatIntervalMs: number; suspectAfterMs: number }): RunResult {
  const world = drawWorld(11);
  const c = world.spec.cluster;
  const { storageFaults: _none, ...rest } = world.spec;
  const spec = {
    ...rest,
    cluster: { ...c, size: 4, n: 3, r: 2, w: 2, sync: true, clocks: undefined, timings: { ...c.timings, ...timings }, latency: { baseMinMs: 0.5, baseMaxMs: 5, jitterMs: 5, spikeRate: 0, spikeMs: 0 } },
    workload: { ...world.spec.workload, clients: 8, keys: ["k0", "k1", "k2", "k3", "k4", "k5"], thinkMinMs: 5, thinkMaxMs: 30, perRequestQuorum: 0 },
    channelFaults,
    faultPhaseMs: 6500,
    healPhaseMs: 1000,
    quietMs: 3000,
    quietAtLeastBound: false,
  };
  return runSimulation(mecdb, spec, { dropRate: 0, dupRate: 0, episodes: [] });
}

const WARMUP = 300;

describe("MecDB under channel faults", () => {
  it("a dead data channel under live heartbeats: routed around for the whole cut, routable again right after", () => {
    const cut = { atMs: 1000, durMs: 5000 };
    const res = channelRun([{ ...cut, kind: "data-cut", node: 1, peer: 0, mask: 0 }], { requestTimeoutMs: 1000, heartbeatIntervalMs: 200, suspectAfterMs: 800 });
    expect(res.violations).toEqual([]);
    const t0 = res.cluster.sched.now - res.simulatedMs;
    const from = t0 + WARMUP + cut.atMs;
    const to = from + cut.durMs;
    const ofN2 = res.cluster.suspicions.filter((s) => s.peer === "n2" && s.fromMs >= from && s.fromMs < to);
    expect(ofN2.length).toBeGreaterThan(0); // its requests timed out
    // Heartbeats from n2 keep arriving, but only a reply ends the suspicion: none can arrive.
    const early = ofN2.filter((s) => s.toMs !== null && s.toMs < to).map((s) => `${s.node} unsuspected n2 at +${Math.round(s.toMs! - from)} ms into the cut`);
    expect(early).toEqual([]);
    // Fallbacks stood in for n2 meanwhile, and the quorum checker (clean above) accepted them.
    const standIns = res.record.quorums.filter((q) => q.atMs >= from && q.atMs < to && res.record.primariesOf(q.key).includes("n2") && q.replicas.some((r) => !res.record.primariesOf(q.key).includes(r)));
    expect(standIns.length).toBeGreaterThan(0);
    // Once the data channel works again, a probe's ack ends every suspicion within a few heartbeats.
    for (const s of ofN2) expect(s.toMs! - to).toBeLessThan(3 * 200 + 100);
  }, 60_000);

  it("a busy data channel whose requests still complete in time: nobody suspects the busy pair", () => {
    const mask = 2 * 11; // busyExtraMs: 1200 ms each way, round trip 2.4 s < the 3.5 s request timeout
    expect(busyExtraMs(mask)).toBe(1200);
    const busy = { atMs: 1000, durMs: 5000 };
    const res = channelRun([{ ...busy, kind: "data-busy", node: 0, peer: 0, mask: mask + 1 }], { requestTimeoutMs: 3500, heartbeatIntervalMs: 200, suspectAfterMs: 600 });
    expect(res.violations).toEqual([]);
    const t0 = res.cluster.sched.now - res.simulatedMs;
    const from = t0 + WARMUP + busy.atMs;
    const pair = new Set(["n1", "n2"]);
    const wrong = res.cluster.suspicions
      .filter((s) => pair.has(s.node) && pair.has(s.peer) && s.fromMs >= from && s.fromMs < from + busy.durMs + 1200)
      .map((s) => `${s.node} suspected ${s.peer} at +${Math.round(s.fromMs - from)} ms`);
    expect(wrong).toEqual([]);
    // The pair kept talking on the slow channel all along (the fault was real).
    expect(res.stats.ok).toBeGreaterThan(100);
  }, 60_000);

  it("a dead control channel with live data: safe, and the swarm's checkers stay clean", () => {
    const res = channelRun([{ atMs: 500, durMs: 6000, kind: "control-cut", node: 2, peer: 0, mask: 0 }], { requestTimeoutMs: 1000, heartbeatIntervalMs: 200, suspectAfterMs: 800 });
    expect(res.violations).toEqual([]);
  }, 60_000);
});
