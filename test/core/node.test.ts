import { describe, expect, it } from "vitest";
import { Harness, bytes, values } from "./harness.ts";
import { createRing, partitionOf, preferenceList } from "../../src/core/ring/index.ts";
import type { ClientResult, NodeConfig, NodeId } from "../../src/core/types.ts";
import type { SiblingSet, VClock } from "../../src/core/versioning/types.ts";
import { isTombstoneOnly, setsEqual } from "../../src/core/versioning/index.ts";
import { createNode } from "../../src/core/node.ts";
import { baseConfig } from "./harness.ts";

function prefs(h: Harness, key: string, n = 3): { primaries: NodeId[]; fallbacks: NodeId[] } {
  const cfg = h.config(h.members[0] ?? "n1");
  const pl = preferenceList(createRing(h.members, cfg.partitionCount), partitionOf(key, cfg.partitionCount), n);
  return { primaries: [...pl.primaries], fallbacks: [...pl.fallbacks] };
}

function put(h: Harness, via: NodeId, key: string, value: string, context: VClock | null = null, extra: { w?: number } = {}): ClientResult {
  return h.request(via, { type: "put", key, value: bytes(value), contentType: "text/plain", context, ...extra });
}

function get(h: Harness, via: NodeId, key: string, r?: number): ClientResult {
  return h.request(via, r === undefined ? { type: "get", key } : { type: "get", key, r });
}

function okSet(r: ClientResult): SiblingSet | null {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r)}`);
  if (r.type !== "get") return r.set;
  return r.set;
}

/** A key whose first primary is `node` (so writes through any node mint there). */
function keyWithFirstPrimary(h: Harness, node: NodeId, tag = "k"): string {
  for (let i = 0; i < 10_000; i++) {
    const key = `${tag}${i}`;
    if (prefs(h, key).primaries[0] === node) return key;
  }
  throw new Error("no such key");
}

describe("node: boot", () => {
  it("answers 'starting' before ready, then becomes ready with an actor", () => {
    const h = new Harness(3);
    h.boot("n1");
    let early: ClientResult | undefined;
    h.node("n1").host?.request({ type: "get", key: "a" }, (r) => (early = r));
    expect(early).toMatchObject({ ok: false, error: "starting" });
    h.startAll();
    const ready = h.eventsOf("n1", "ready")[0];
    expect(ready).toMatchObject({ type: "ready" });
    expect(ready?.type === "ready" && ready.actor).toMatch(/^n1\.[0-9a-f]{8}$/);
  });

  it("is a new incarnation on every start: the next one after a restart, a random one after a wipe", () => {
    const h = new Harness(3);
    h.startAll();
    const actor = (i: number) => {
      const e = h.eventsOf("n1", "ready")[i];
      return e?.type === "ready" ? e.actor : "";
    };
    h.stop("n1");
    h.boot("n1");
    h.runFor(10);
    const inc = (a: string) => parseInt(a.slice(a.indexOf(".") + 1), 16);
    expect(inc(actor(1))).toBe((inc(actor(0)) + 1) >>> 0);
    h.wipe("n1");
    h.boot("n1");
    h.runFor(10);
    expect(actor(2)).not.toBe(actor(0));
  });

  it("rejects an inconsistent config", () => {
    expect(() => createNode({ ...baseConfig("n1", ["n1", "n2"]), r: 5 })).toThrow();
    expect(() => createNode(baseConfig("x", ["n1", "n2"]))).toThrow();
  });
});

describe("node: get and put", () => {
  it("put then get round trip", () => {
    const h = new Harness(3);
    h.startAll();
    const p = put(h, "n1", "greeting", "hello");
    expect(p).toMatchObject({ ok: true, type: "put" });
    if (!p.ok || p.type === "get") throw new Error("unreachable");
    expect(new Set(p.replicas).size).toBeGreaterThanOrEqual(2);
    const g = get(h, "n2", "greeting");
    expect(values(okSet(g))).toEqual(["hello"]);
    expect(h.allEvents("quorum").length).toBeGreaterThanOrEqual(2);
    expect(h.allEvents("dot-minted")).toHaveLength(1);
  });

  it("get of a missing key answers ok with no set", () => {
    const h = new Harness(3);
    h.startAll();
    const g = get(h, "n3", "nothing");
    expect(g).toMatchObject({ ok: true, type: "get", set: null });
  });

  it("two blind writes through different primaries give two siblings; writing back the merged context gives one value", () => {
    const h = new Harness(3);
    h.startAll();
    const key = "cart";
    const { primaries } = prefs(h, key);
    expect(put(h, primaries[0] ?? "", key, "a").ok).toBe(true);
    expect(put(h, primaries[1] ?? "", key, "b").ok).toBe(true);
    const g = get(h, "n1", key, 3);
    const set = okSet(g);
    expect(values(set)).toEqual(["a", "b"]);
    expect(h.allEvents("siblings").some((e) => e.event.type === "siblings" && e.event.count === 2)).toBe(true);
    expect(put(h, "n2", key, "ab", set?.clock ?? null).ok).toBe(true);
    expect(values(okSet(get(h, "n3", key, 3)))).toEqual(["ab"]);
  });

  it("Mary and Peter: v1 blind; Peter reads C1; v2 blind; v3 with C1 -> exactly {v2, v3}", () => {
    const h = new Harness(3);
    h.startAll();
    const key = "doc";
    put(h, "n1", key, "v1");
    const c1 = okSet(get(h, "n2", key))?.clock ?? null;
    put(h, "n3", key, "v2");
    put(h, "n2", key, "v3", c1);
    expect(values(okSet(get(h, "n1", key, 3)))).toEqual(["v2", "v3"]);
  });

  it("two blind writes through one coordinator: the second write's result holds both, and so does a read", () => {
    const h = new Harness(3);
    h.startAll();
    const key = "one";
    put(h, "n1", key, "from-X");
    const y = put(h, "n1", key, "from-Y");
    expect(y.ok && y.type !== "get" ? values(y.set) : null).toEqual(["from-X", "from-Y"]);
    expect(values(okSet(get(h, "n1", key, 3)))).toEqual(["from-X", "from-Y"]);
  });

  it("Mary and Peter through one coordinator (one actor): v1 blind; read C1; v2 blind; v3 with C1 -> exactly {v2, v3}", () => {
    const h = new Harness(3);
    h.startAll();
    const key = keyWithFirstPrimary(h, "n1", "cart");
    const ready = h.eventsOf("n1", "ready")[0];
    const n1 = ready?.type === "ready" ? ready.actor : "";
    expect(n1).not.toBe("");
    put(h, "n1", key, "v1");
    const c1 = okSet(get(h, "n1", key))?.clock ?? null;
    put(h, "n1", key, "v2");
    const v3 = put(h, "n1", key, "v3", c1);
    expect(v3.ok && v3.type !== "get" ? v3.dot : null).toEqual({ actor: n1, counter: 3 });
    const after = okSet(get(h, "n1", key, 3));
    expect(values(after)).toEqual(["v2", "v3"]);
    // Every sibling was minted by the one actor.
    expect(after?.siblings.map((s) => `${s.dot.actor}:${s.dot.counter}`)).toEqual([`${n1}:2`, `${n1}:3`]);
  });

  it("rejects r or w outside [1, n] as bad-request", () => {
    const h = new Harness(3);
    h.startAll();
    expect(get(h, "n1", "k", 4)).toMatchObject({ ok: false, error: "bad-request" });
    expect(get(h, "n1", "k", 0)).toMatchObject({ ok: false, error: "bad-request" });
    expect(put(h, "n1", "k", "v", null, { w: 9 })).toMatchObject({ ok: false, error: "bad-request", maybeApplied: false });
  });
});

describe("node: delete", () => {
  it("delete then get -> tombstone-only set; a later write is not shadowed", () => {
    const h = new Harness(3);
    h.startAll();
    const key = "gone";
    put(h, "n1", key, "v1");
    const c = okSet(get(h, "n1", key))?.clock ?? null;
    expect(h.request("n2", { type: "delete", key, context: c })).toMatchObject({ ok: true, type: "delete" });
    const after = okSet(get(h, "n3", key, 3));
    expect(after).not.toBeNull();
    expect(isTombstoneOnly(after as SiblingSet)).toBe(true);
    put(h, "n1", key, "v2"); // blind
    expect(values(okSet(get(h, "n2", key, 3)))).toEqual(["v2"]);
    const c2 = okSet(get(h, "n2", key, 3))?.clock ?? null;
    put(h, "n3", key, "v3", c2);
    expect(values(okSet(get(h, "n1", key, 3)))).toEqual(["v3"]);
  });

  it("reaps a tombstone held by all primaries, keeping its clock, and never re-mints a dot", () => {
    const h = new Harness(3, { reapDelayMs: 10 });
    h.startAll();
    const key = "tmp";
    put(h, "n1", key, "v1");
    const c = okSet(get(h, "n1", key, 3))?.clock ?? null;
    h.request("n1", { type: "delete", key, context: c });
    get(h, "n2", key, 3); // all primaries answer the same tombstone
    h.runFor(200);
    expect(h.allEvents("reap").length).toBe(3);
    for (const m of h.members) expect(h.objects(m).get(key)?.siblings).toEqual([]);
    expect(get(h, "n3", key, 3)).toMatchObject({ ok: true, set: null });
    put(h, "n1", key, "v2");
    expect(values(okSet(get(h, "n2", key, 3)))).toEqual(["v2"]);
    const dots = h.allEvents("dot-minted").map((e) => (e.event.type === "dot-minted" ? `${e.event.actor}:${e.event.counter}` : ""));
    expect(new Set(dots).size).toBe(dots.length);
  });
});

describe("node: reaping is safe against late hints", () => {
  it("a hint of an older value handed off after the reap does not resurrect it", () => {
    const h = new Harness(4, { reapDelayMs: 5 });
    h.startAll();
    const key = keyWithFirstPrimary(h, "n1");
    const { primaries, fallbacks } = prefs(h, key);
    const c = primaries[2] ?? "";
    const f = fallbacks[0] ?? "";
    h.stop(c);
    h.runFor(200);
    expect(put(h, primaries[0] ?? "", key, "old", null, { w: 3 }).ok).toBe(true);
    expect(h.hints(f)).toHaveLength(1);
    // The fallback cannot reach c for a while: its hint stays.
    h.netFilter = (from, to, msg) => (from === f && to === c && msg.type === "handoff" ? "drop" : "deliver");
    h.boot(c);
    h.runFor(300);
    const ctx = okSet(get(h, primaries[0] ?? "", key, 2))?.clock ?? null;
    expect(h.request(primaries[0] ?? "", { type: "delete", key, context: ctx, w: 3 })).toMatchObject({ ok: true });
    get(h, primaries[1] ?? "", key, 3);
    h.runFor(100);
    expect(h.allEvents("reap").length).toBe(3);
    h.netFilter = () => "deliver";
    expect(h.runUntil(() => h.hints(f).length === 0, 3000)).toBe(true);
    expect(get(h, primaries[1] ?? "", key, 3)).toMatchObject({ ok: true, set: null });
    for (const p of primaries) expect(values(h.objects(p).get(key) ?? null)).toEqual([]);
  });
});

describe("node: failures", () => {
  it("sloppy quorum: W=2 writes succeed with a primary down, and the hint is handed off when it returns", () => {
    const h = new Harness(4);
    h.startAll();
    const key = keyWithFirstPrimary(h, "n1");
    const { primaries, fallbacks } = prefs(h, key);
    const down = primaries[2] ?? "";
    const fallback = fallbacks[0] ?? "";
    h.stop(down);
    h.runFor(200); // suspicion
    expect(h.allEvents("suspect").some((e) => e.event.type === "suspect" && e.event.peer === down)).toBe(true);
    const p = put(h, primaries[1] ?? "", key, "while-down", null, { w: 3 });
    expect(p).toMatchObject({ ok: true });
    if (p.ok && p.type !== "get") expect(p.replicas).toContain(fallback);
    expect(h.hints(fallback)).toHaveLength(1);
    expect(h.hints(fallback)[0]?.target).toBe(down);
    expect(h.eventsOf(fallback, "hint-stored")).toHaveLength(1);
    h.boot(down);
    expect(h.runUntil(() => h.eventsOf(fallback, "handoff").length > 0, 2000)).toBe(true);
    expect(values(h.objects(down).get(key) ?? null)).toEqual(["while-down"]);
    expect(h.hints(fallback)).toHaveLength(0);
  });

  it("an isolated fallback accepts a write as a hint (sloppy quorum), hands it off after heal, and never re-issues a dot", () => {
    const h = new Harness(4);
    h.startAll();
    const key = keyWithFirstPrimary(h, "n1");
    const { primaries, fallbacks } = prefs(h, key);
    const f = fallbacks[0] ?? "";
    const isolate = (_from: NodeId, to: NodeId, _msg: unknown, from2?: NodeId): boolean => to === f || from2 === f;
    h.netFilter = (from, to, msg) => (isolate(from, to, msg, from) ? "drop" : "deliver");
    h.runFor(200);
    const w1 = put(h, f, key, "minority", null, { w: 1 });
    expect(w1).toMatchObject({ ok: true });
    expect(h.hints(f).map((x) => x.target)).toEqual([primaries[0]]);
    expect(values(okSet(get(h, f, key, 1)))).toEqual(["minority"]);
    const c = okSet(get(h, f, key, 1))?.clock ?? null;
    expect(put(h, f, key, "minority2", c, { w: 1 })).toMatchObject({ ok: true }); // still holds its hint: may mint again
    h.netFilter = () => "deliver";
    expect(h.runUntil(() => h.hints(f).length === 0, 3000)).toBe(true);
    expect(values(okSet(get(h, primaries[1] ?? "", key, 3)))).toEqual(["minority2"]);
    // Isolated again: its minted dots were handed off, so minting again could re-issue one.
    h.netFilter = (from, to, msg) => (isolate(from, to, msg, from) ? "drop" : "deliver");
    h.runFor(200);
    expect(put(h, f, key, "again", null, { w: 1 })).toMatchObject({ ok: false, error: "unavailable", maybeApplied: false });
    const dots = h.allEvents("dot-minted").map((e) => (e.event.type === "dot-minted" ? `${e.event.actor}:${e.event.counter}` : ""));
    expect(new Set(dots).size).toBe(dots.length);
  });

  it("a hint that took a newer write during its handoff is not deleted by the older handoff's ack", () => {
    const h = new Harness(4);
    h.startAll();
    const key = keyWithFirstPrimary(h, "n1");
    const { primaries, fallbacks } = prefs(h, key);
    const [a, , c] = primaries as [NodeId, NodeId, NodeId];
    const f = fallbacks[0] ?? "";
    h.stop(c);
    h.runFor(200);
    expect(put(h, a, key, "v1", null, { w: 3 }).ok).toBe(true);
    expect(h.hints(f)).toHaveLength(1);
    // a keeps suspecting c (c's messages to a are lost); c's acks to f are slow.
    h.netFilter = (from, to) => (from === c && to === a ? "drop" : "deliver");
    h.latencyFn = (from, to) => (from === c && to === f ? 60 : 1);
    h.boot(c);
    const sentBefore = h.sent.length;
    expect(h.runUntil(() => h.sent.slice(sentBefore).some((x) => x.msg.type === "handoff" && x.from === f), 2000)).toBe(true);
    const ctx = okSet(get(h, a, key, 1))?.clock ?? null;
    expect(put(h, a, key, "v2", ctx, { w: 3 }).ok).toBe(true); // merges into f's hint while the v1 handoff is in flight
    expect(h.runUntil(() => h.hints(f).length === 0, 5000)).toBe(true);
    expect(values(h.objects(c).get(key) ?? null)).toEqual(["v2"]);
  });

  it("the fallback serves reads from its hints while the primary is down", () => {
    const h = new Harness(4);
    h.startAll();
    const key = keyWithFirstPrimary(h, "n2");
    const { primaries } = prefs(h, key);
    h.stop(primaries[0] ?? "");
    h.runFor(200);
    const via = h.members.find((m) => m !== primaries[0]) ?? "";
    expect(put(h, via, key, "x", null, { w: 3 }).ok).toBe(true);
    expect(values(okSet(get(h, via, key, 3)))).toEqual(["x"]);
  });

  it("read repair fixes a stale replica", () => {
    const h = new Harness(3);
    h.startAll();
    const key = keyWithFirstPrimary(h, "n1");
    h.netFilter = (_from, to, msg) => (msg.type === "replicate" && to === "n3" ? "drop" : "deliver");
    expect(put(h, "n1", key, "fresh").ok).toBe(true);
    h.netFilter = () => "deliver";
    expect(h.objects("n3").has(key)).toBe(false);
    get(h, "n2", key, 2);
    h.runFor(300);
    expect(values(h.objects("n3").get(key) ?? null)).toEqual(["fresh"]);
    expect(h.allEvents("read-repair").some((e) => e.event.type === "read-repair" && e.event.to === "n3")).toBe(true);
  });

  it("anti-entropy converges a replica that missed a write and is never read", () => {
    const h = new Harness(3, { antiEntropyIntervalMs: 30 });
    h.startAll();
    const key = keyWithFirstPrimary(h, "n1");
    h.netFilter = (_from, to, msg) => (msg.type === "replicate" && to === "n3" ? "drop" : "deliver");
    expect(put(h, "n1", key, "quiet").ok).toBe(true);
    h.netFilter = () => "deliver";
    expect(h.runUntil(() => h.objects("n3").has(key), 20_000)).toBe(true);
    const a = h.objects("n1").get(key);
    const c = h.objects("n3").get(key);
    expect(a !== undefined && c !== undefined && setsEqual(a, c)).toBe(true);
    expect(h.allEvents("anti-entropy").some((e) => e.event.type === "anti-entropy" && e.event.keysRepaired > 0)).toBe(true);
  });

  it("a duplicated ack does not count twice", () => {
    const h = new Harness(3);
    h.startAll();
    const key = keyWithFirstPrimary(h, "n1");
    h.netFilter = (_from, to, msg) => (msg.type === "replicate" && to === "n3" ? "drop" : msg.type === "replicate-ack" ? "duplicate" : "deliver");
    const r = put(h, "n1", key, "v", null, { w: 3 });
    expect(r).toMatchObject({ ok: false, error: "quorum", maybeApplied: true, answered: 2, needed: 3 });
  });

  it("reports a quorum failure when too many nodes are down", () => {
    const h = new Harness(3);
    h.startAll();
    h.stop("n2");
    h.stop("n3");
    expect(put(h, "n1", "k", "v")).toMatchObject({ ok: false, error: "quorum", maybeApplied: true });
    expect(get(h, "n1", "k")).toMatchObject({ ok: false, error: "quorum", answered: 1, needed: 2 });
    h.runFor(300); // now suspected: still an error, never a hang
    expect(get(h, "n1", "k")).toMatchObject({ ok: false });
  });

  it("a forwarded write to an unreachable minting replica is an unknown outcome", () => {
    const h = new Harness(4);
    h.startAll();
    const key = keyWithFirstPrimary(h, "n1");
    const via = h.members.find((m) => !prefs(h, key).primaries.includes(m)) ?? "";
    h.netFilter = (_f, to, msg) => (msg.type === "put" && to === "n1" ? "drop" : "deliver");
    expect(put(h, via, key, "v")).toMatchObject({ ok: false, error: "quorum", maybeApplied: true });
  });

  it("a duplicated forward is applied once", () => {
    const h = new Harness(4);
    h.startAll();
    const key = keyWithFirstPrimary(h, "n1");
    const via = h.members.find((m) => !prefs(h, key).primaries.includes(m)) ?? "";
    h.netFilter = (_f, _t, msg) => (msg.type === "put" ? "duplicate" : "deliver");
    expect(put(h, via, key, "once").ok).toBe(true);
    h.runFor(200);
    expect(h.allEvents("dot-minted")).toHaveLength(1);
  });

  it("drops malformed messages without crashing", () => {
    const h = new Harness(3);
    h.startAll();
    const n1 = h.node("n1") as unknown as { deliver: (from: string, b: Uint8Array) => void };
    n1.deliver("n2", Uint8Array.from([0xc1, 0x00, 0xff]));
    n1.deliver("n2", bytes("not msgpack at all"));
    expect(h.node("n1").logs.some((l) => l.level === "warn")).toBe(true);
    expect(put(h, "n1", "k", "still-fine").ok).toBe(true);
  });
});

describe("node: determinism", () => {
  function scenario(): string[] {
    const h = new Harness(4, { antiEntropyIntervalMs: 40 });
    h.recordEffects = true;
    h.startAll();
    put(h, "n1", "a", "1");
    put(h, "n2", "a", "2");
    h.netFilter = (_f, to, msg) => (to === "n4" && msg.type === "replicate" ? "drop" : msg.type.endsWith("-ack") ? "duplicate" : "deliver");
    put(h, "n3", "b", "3");
    get(h, "n4", "a");
    h.stop("n2");
    h.runFor(300);
    put(h, "n1", "c", "4");
    h.boot("n2");
    h.runFor(500);
    return h.effectLog;
  }
  it("the same inputs produce byte-identical effects", () => {
    const a = scenario();
    const b = scenario();
    expect(a.length).toBeGreaterThan(100);
    expect(b).toEqual(a);
  });
});

describe("node: teaching modes", () => {
  it("client-vclock: the client's id is the actor", () => {
    const h = new Harness(3, { mode: "client-vclock" });
    h.startAll();
    const r = h.request("n2", { type: "put", key: "k", value: bytes("v"), contentType: "text/plain", context: null, clientId: "alice" });
    expect(r).toMatchObject({ ok: true, dot: { actor: "alice", counter: 1 } });
    const r2 = h.request("n1", { type: "put", key: "k", value: bytes("w"), contentType: "text/plain", context: null });
    expect(r2.ok && r2.type !== "get" && r2.dot.actor).toMatch(/^n\d\.[0-9a-f]{8}$/); // no client id: the node's actor
  });
  it("lww: concurrent writes resolve to the newest one", () => {
    const h = new Harness(3, { mode: "lww" });
    h.startAll();
    const { primaries } = prefs(h, "k");
    put(h, primaries[0] ?? "", "k", "first");
    h.runFor(5);
    put(h, primaries[1] ?? "", "k", "second");
    expect(values(okSet(get(h, "n3", "k", 3)))).toEqual(["second"]);
  });
});

describe("node: planted bugs", () => {
  function concurrentAtThird(bugs: NodeConfig["bugs"]): Harness {
    const h = new Harness(3, { bugs });
    h.startAll();
    const key = "race";
    const { primaries } = prefs(h, key);
    // "a" reaches the first and third primaries, "b" (blind) the second and third only.
    h.netFilter = (_f, to, msg) => (msg.type === "replicate" && to === primaries[1] ? "drop" : "deliver");
    put(h, primaries[0] ?? "", key, "a");
    h.netFilter = (_f, to, msg) => (msg.type === "replicate" && to === primaries[0] ? "drop" : "deliver");
    put(h, primaries[1] ?? "", key, "b");
    h.runFor(50);
    return h;
  }
  it("without bugs the third primary keeps both concurrent writes", () => {
    const h = concurrentAtThird([]);
    const third = prefs(h, "race").primaries[2] ?? "";
    expect(values(h.objects(third).get("race") ?? null)).toEqual(["a", "b"]);
  });
  it("overwrite: a replica replaces instead of merging", () => {
    const h = concurrentAtThird(["overwrite"]);
    const third = prefs(h, "race").primaries[2] ?? "";
    expect(values(h.objects(third).get("race") ?? null)).toEqual(["b"]);
  });
  it("lww: replicas keep only the newest timestamp", () => {
    const h = concurrentAtThird(["lww"]);
    const third = prefs(h, "race").primaries[2] ?? "";
    expect(h.objects(third).get("race")?.siblings).toHaveLength(1);
  });
  it("duplicate-acks: a duplicated ack counts toward W", () => {
    const h = new Harness(3, { bugs: ["duplicate-acks"] });
    h.startAll();
    const key = keyWithFirstPrimary(h, "n1");
    h.netFilter = (_from, to, msg) => (msg.type === "replicate" && to === "n3" ? "drop" : msg.type === "replicate-ack" ? "duplicate" : "deliver");
    const r = put(h, "n1", key, "v", null, { w: 3 });
    expect(r.ok).toBe(true);
    if (r.ok && r.type !== "get") expect(new Set(r.replicas).size).toBe(2);
  });
  it("counter-reset: a wiped node comes back with the same actor", () => {
    for (const [bugs, same] of [[["counter-reset"], true], [[], false]] as const) {
      const h = new Harness(3, { bugs: [...bugs] });
      h.startAll();
      h.wipe("n1");
      h.boot("n1");
      h.runFor(10);
      const actors = h.eventsOf("n1", "ready").map((e) => (e.type === "ready" ? e.actor : ""));
      expect(actors).toHaveLength(2);
      expect(actors[0] === actors[1]).toBe(same);
    }
  });
  it("ack-before-durable: a replica acknowledges before its storage write", () => {
    for (const [bugs, ackFirst] of [[["ack-before-durable"], true], [[], false]] as const) {
      const h = new Harness(3, { bugs: [...bugs] });
      h.recordTrace = true;
      h.startAll();
      const key = keyWithFirstPrimary(h, "n1");
      h.trace.length = 0;
      put(h, "n1", key, "v");
      const ack = h.trace.findIndex((t) => t.startsWith("n2 send replicate-ack"));
      const write = h.trace.findIndex((t) => t.startsWith("n2 storage put o:"));
      expect(ack).toBeGreaterThanOrEqual(0);
      expect(write).toBeGreaterThanOrEqual(0);
      expect(ack < write).toBe(ackFirst);
    }
  });
});
