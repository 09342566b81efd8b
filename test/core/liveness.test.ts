// Failure detection reflects the channel requests use, and heartbeats do not depend on data
// traffic: the failure detector by itself (pure bookkeeping), and nodes in the in-test cluster
// where the data channel between two nodes dies while their heartbeats (the control channel)
// keep flowing. The harness carries every message on one link, so a "dead data channel" is a
// filter that drops everything but heartbeats.
import { describe, expect, it } from "vitest";
import { FailureDetector } from "../../src/core/membership/failure-detector.ts";
import { createRing, partitionOf, preferenceList } from "../../src/core/ring/index.ts";
import type { ClientResult, NodeId } from "../../src/core/types.ts";
import { Harness, bytes } from "./harness.ts";

describe("failure detector", () => {
  it("a request timeout suspects a peer; its heartbeats do not clear that, a reply does", () => {
    const fd = new FailureDetector("a", ["b", "c"], 100);
    fd.start(0);
    expect(fd.timedOut("b")).toEqual([{ type: "suspect", peer: "b" }]);
    expect(fd.heard("b", 10)).toEqual([]); // a heartbeat: the process lives, requests still fail
    expect(fd.isUp("b")).toBe(false);
    expect(fd.toProbe()).toEqual(["b"]);
    expect(fd.replied("b")).toEqual([{ type: "unsuspect", peer: "b" }]);
    expect(fd.isUp("b")).toBe(true);
    expect(fd.toProbe()).toEqual([]);
  });

  it("silence suspects; any message clears it, unless requests to the peer also time out", () => {
    const fd = new FailureDetector("a", ["b"], 100);
    fd.start(0);
    expect(fd.tick(50)).toEqual([]);
    expect(fd.tick(101)).toEqual([{ type: "suspect", peer: "b" }]);
    expect(fd.toProbe()).toEqual([]); // silent: nothing to probe
    expect(fd.timedOut("b")).toEqual([]); // already suspected
    expect(fd.heard("b", 120)).toEqual([]); // alive again, but its requests timed out
    expect(fd.toProbe()).toEqual(["b"]);
    expect(fd.replied("b")).toEqual([{ type: "unsuspect", peer: "b" }]);
    expect(fd.tick(200)).toEqual([]);
  });

  it("ignores itself and strangers", () => {
    const fd = new FailureDetector("a", ["b"], 100);
    fd.start(0);
    expect([...fd.timedOut("a"), ...fd.timedOut("x"), ...fd.heard("x", 1), ...fd.replied("x")]).toEqual([]);
    expect(fd.isUp("a")).toBe(true);
  });
});

function prefs(h: Harness, key: string): NodeId[] {
  const cfg = h.config("n1");
  return [...preferenceList(createRing(h.members, cfg.partitionCount), partitionOf(key, cfg.partitionCount), cfg.n).primaries];
}

/** Keys whose first primary is `mint` and of which `via` is not a primary: a write through via is forwarded to mint. */
function forwardedKeys(h: Harness, via: NodeId, mint: NodeId, count: number): string[] {
  const out: string[] = [];
  for (let i = 0; out.length < count && i < 100_000; i++) {
    const key = `k${i}`;
    const p = prefs(h, key);
    if (p[0] === mint && !p.includes(via)) out.push(key);
  }
  return out;
}

const put = (h: Harness, via: NodeId, key: string, value: string): ClientResult =>
  h.request(via, { type: "put", key, value: bytes(value), contentType: "text/plain", context: null });

describe("liveness channel", () => {
  it("heartbeats go to every peer every interval, even to a peer that gets steady data traffic", () => {
    const h = new Harness(3, { n: 3, w: 3 });
    h.startAll();
    const from = h.sent.length;
    const start = h.now;
    // Steady writes through n1 (each replicates to n2 and n3) for 40 heartbeat intervals.
    for (let i = 0; i < 80; i++) {
      h.submit("n1", { type: "put", key: `busy${i % 5}`, value: bytes(`v${i}`), contentType: "text/plain", context: null }, () => {});
      h.runFor(10);
    }
    const intervals = Math.floor((h.now - start) / h.config("n1").heartbeatIntervalMs);
    const sent = h.sent.slice(from).filter((s) => s.from === "n1" && s.to === "n2");
    expect(sent.filter((s) => s.msg.type === "replicate").length).toBeGreaterThan(40);
    expect(sent.filter((s) => s.msg.type === "heartbeat").length).toBeGreaterThanOrEqual(intervals - 1);
  });

  it("a peer whose data channel is dead but whose heartbeats arrive is routed around after one timeout", () => {
    const h = new Harness(4);
    h.startAll();
    // The data channel between n1 and n2 is dead both ways; heartbeats still flow.
    const dataDead = (a: NodeId, b: NodeId): boolean => (a === "n1" && b === "n2") || (a === "n2" && b === "n1");
    h.netFilter = (f, t, msg) => (dataDead(f, t) && msg.type !== "heartbeat" ? "drop" : "deliver");
    const keys = forwardedKeys(h, "n1", "n2", 6);
    expect(keys).toHaveLength(6);
    // The first write learns the hard way: its forward to n2 times out (outcome unknown).
    expect(put(h, "n1", keys[0]!, "first")).toMatchObject({ ok: false, maybeApplied: true });
    expect(h.node("n1").events).toContainEqual({ type: "suspect", peer: "n2" });
    // Heartbeats keep arriving from n2 for several intervals: it stays suspected for routing,
    // and every later write goes to another primary and succeeds.
    h.runFor(10 * h.config("n1").heartbeatIntervalMs);
    const later = keys.slice(1).map((k) => put(h, "n1", k, `v-${k}`));
    expect(later.map((r) => r.ok)).toEqual([true, true, true, true, true]);
    // The probes on the data channel got no answer, so n2 was never unsuspected.
    expect(h.sent.some((s) => s.from === "n1" && s.to === "n2" && s.msg.type === "probe")).toBe(true);
    expect(h.node("n1").events.filter((e) => e.type === "unsuspect" && e.peer === "n2")).toEqual([]);
  });

  it("once the data channel works again, a probe's ack makes the peer routable again", () => {
    const h = new Harness(4);
    h.startAll();
    let dead = true;
    h.netFilter = (f, t, msg) => (dead && ((f === "n1" && t === "n2") || (f === "n2" && t === "n1")) && msg.type !== "heartbeat" ? "drop" : "deliver");
    const keys = forwardedKeys(h, "n1", "n2", 2);
    expect(put(h, "n1", keys[0]!, "lost").ok).toBe(false);
    dead = false;
    h.runFor(3 * h.config("n1").heartbeatIntervalMs);
    expect(h.node("n1").events).toContainEqual({ type: "unsuspect", peer: "n2" });
    expect(h.sent.some((s) => s.from === "n2" && s.to === "n1" && s.msg.type === "probe-ack")).toBe(true);
    // The next write is minted on n2 again, its first primary.
    const r = put(h, "n1", keys[1]!, "back");
    expect(r.ok).toBe(true);
    expect(r.ok && r.type !== "get" ? r.dot.actor.startsWith("n2.") : false).toBe(true);
  });
});
