// Membership across crashes and wipes: "joined" is durable (a node restarted with its disk is
// joined at once, also on an epoch-0 cluster and with a meta record written before the flag
// existed); a node that lost its meta record and must join coordinates nothing until a
// member's state names it; a change is persisted before it is announced; a joiner whose change
// the acceptor lost asks again and gets in.
import { encode as msgpackEncode, decode as msgpackDecode } from "@msgpack/msgpack";
import { describe, expect, it } from "vitest";
import { put, stateOf } from "./helpers.ts";
import { Harness } from "../harness.ts";
import { META_KEY } from "../../../src/core/replica/keys.ts";
import { servingPreferences } from "../../../src/core/membership/cluster-state.ts";
import { partitionOf } from "../../../src/core/ring/index.ts";
import type { NodeId } from "../../../src/core/types.ts";

const ORIGINAL = ["n1", "n2", "n3"];

function ready(h: Harness, ids: readonly NodeId[]): boolean {
  return ids.every((m) => h.node(m).events.some((e) => e.type === "ready"));
}

function settledWith(h: Harness, ids: readonly NodeId[], member: NodeId): boolean {
  const states = ids.map((id) => stateOf(h, id));
  const pending = ids.reduce((sum, id) => sum + (h.node(id).host?.node.inspect?.().transfers?.pending ?? 0), 0);
  return states.every((s) => JSON.stringify(s) === JSON.stringify(states[0]) && s.members.some((m) => m.id === member && m.status === "valid")) && pending === 0;
}

/** The epoch of the cluster state in a node's stored meta record (0: none stored). */
function storedEpoch(h: Harness, id: NodeId): number {
  const raw = h.node(id).storage.get(META_KEY);
  if (raw === undefined) return -1;
  const m = msgpackDecode(raw) as { ring?: { e: number } };
  return m.ring?.e ?? 0;
}

/** Three members, then n4 joins through n1 and every transfer finishes. */
function withJoiner(): Harness {
  const h = new Harness(4, { antiEntropyIntervalMs: 0 });
  for (const id of ORIGINAL) h.boot(id, { members: ORIGINAL });
  h.runUntil(() => ready(h, ORIGINAL));
  for (let i = 0; i < 20; i++) expect(put(h, "n2", `k${i}`, `v${i}`).ok).toBe(true);
  h.boot("n4", { members: ["n4", "n1"], join: true });
  expect(h.runUntil(() => settledWith(h, [...ORIGINAL, "n4"], "n4"), 30_000)).toBe(true);
  return h;
}

describe("joined is durable", () => {
  it("a wiped joiner restarting from [self, one member] coordinates nothing until a member's state names it", () => {
    const h = withJoiner();
    h.wipe("n4");
    h.netFilter = (_from, to) => (to === "n4" ? "drop" : "deliver"); // no member's state reaches it yet
    h.boot("n4", { members: ["n4", "n1"], join: true });
    expect(h.runUntil(() => ready(h, ["n4"]) && h.eventsOf("n4", "ready").length === 2, 5000)).toBe(true);
    expect(h.eventsOf("n4", "joining").length).toBe(2); // first boot and after the wipe
    const quorumsBefore = h.eventsOf("n4", "quorum").length;
    for (const r of [put(h, "n4", "k1", "during"), h.request("n4", { type: "get", key: "k1" })]) {
      expect(r.ok).toBe(false);
      expect(!r.ok && r.error).toBe("starting");
      expect(!r.ok && r.message).toMatch(/not joined/);
    }
    expect(h.eventsOf("n4", "quorum").length).toBe(quorumsBefore); // it counted no replica on its provisional ring
    h.netFilter = () => "deliver";
    expect(h.runUntil(() => h.eventsOf("n4", "joined").length === 2, 5000)).toBe(true);
    expect(stateOf(h, "n4").members.map((m) => m.id)).toEqual(["n1", "n2", "n3", "n4"]);
    expect(put(h, "n4", "k1", "after").ok).toBe(true);
  });

  it("a forwarded put reaching an unjoined node is refused (nothing applied), so the sender tries another primary", () => {
    const h = withJoiner();
    h.wipe("n4");
    h.netFilter = (from, to, msg) => (to === "n4" && msg.type !== "put" ? "drop" : "deliver");
    h.boot("n4", { members: ["n4", "n1"], join: true });
    expect(h.runUntil(() => h.eventsOf("n4", "ready").length === 2, 5000)).toBe(true);
    // Keys whose first primary under the cluster's ring is n4 and that n1 does not hold: n1 (the
    // member n4 knows; others' messages it drops as from unknown senders) forwards them to n4 first.
    const s = stateOf(h, "n1");
    const primariesOf = (k: string): NodeId[] => servingPreferences(s, partitionOf(k, s.partitionCount), 3).primaries;
    const keys = Array.from({ length: 200 }, (_, i) => `f${i}`).filter((k) => primariesOf(k)[0] === "n4" && !primariesOf(k).includes("n1")).slice(0, 3);
    expect(keys.length).toBeGreaterThan(0);
    for (const k of keys) expect(put(h, "n1", k, "x")).toMatchObject({ ok: true });
    const replies = h.sent.filter((m) => m.from === "n4" && m.msg.type === "put-reply");
    expect(replies.length).toBeGreaterThan(0);
    for (const m of replies) expect(m.msg.type === "put-reply" && m.msg.result.ok).toBe(false);
    expect(h.eventsOf("n4", "dot-minted").filter((e) => e.type === "dot-minted" && keys.includes(e.key))).toEqual([]);
  });

  it("every node of a fixed (epoch-0) cluster configured to join is joined at once after a restart with its disk", () => {
    const h = new Harness(3, { antiEntropyIntervalMs: 0, join: true });
    h.bootAll();
    expect(h.runUntil(() => ORIGINAL.every((id) => h.eventsOf(id, "joined").length === 1), 5000)).toBe(true);
    expect(put(h, "n1", "a", "1").ok).toBe(true);
    h.stop("n1");
    h.runFor(200);
    h.netFilter = (_from, to) => (to === "n1" ? "drop" : "deliver"); // no peer answers it
    h.boot("n1");
    expect(h.runUntil(() => h.eventsOf("n1", "ready").length === 2, 5000)).toBe(true);
    expect(h.eventsOf("n1", "joining").length).toBe(1); // only the first boot, with no meta record
    h.netFilter = () => "deliver";
    const r = h.request("n1", { type: "get", key: "a" });
    expect(r.ok).toBe(true);
  });

  it("a wiped original member (configured to join, as in production) waits for the cluster's state after a leave changed the ring", () => {
    const all = ["n1", "n2", "n3", "n4"];
    const h = new Harness(4, { antiEntropyIntervalMs: 0, join: true });
    h.bootAll();
    expect(h.runUntil(() => all.every((id) => h.eventsOf(id, "joined").length === 1), 5000)).toBe(true);
    h.node("n4").host?.admin({ type: "leave" });
    expect(h.runUntil(() => h.eventsOf("n4", "left").length > 0, 30_000)).toBe(true);
    h.runFor(200);
    h.stop("n4");
    h.wipe("n1");
    h.netFilter = (_from, to) => (to === "n1" ? "drop" : "deliver");
    h.boot("n1");
    expect(h.runUntil(() => h.eventsOf("n1", "ready").length === 2, 5000)).toBe(true);
    expect(stateOf(h, "n1").epoch).toBe(0); // its configured list: n4 still owns partitions there
    const r = h.request("n1", { type: "get", key: "a" });
    expect(!r.ok && r.message).toMatch(/not joined/);
    h.netFilter = () => "deliver";
    expect(h.runUntil(() => h.eventsOf("n1", "joined").length === 2, 5000)).toBe(true);
    expect(stateOf(h, "n1").epoch).toBeGreaterThanOrEqual(1);
    expect(stateOf(h, "n1").owners).not.toContain("n4");
  });

  it("a meta record written before the joined flag existed reads as joined (upgrade)", () => {
    const h = new Harness(3, { antiEntropyIntervalMs: 0, join: true });
    h.node("n1").storage.set(META_KEY, msgpackEncode({ incarnation: 7 }).slice());
    h.netFilter = (_from, to) => (to === "n1" ? "drop" : "deliver");
    h.bootAll();
    expect(h.runUntil(() => ready(h, ORIGINAL), 5000)).toBe(true);
    expect(h.eventsOf("n1", "joining")).toEqual([]);
    expect(h.eventsOf("n1", "ready")[0]).toMatchObject({ incarnation: 8 });
    const r = put(h, "n1", "a", "1");
    expect(!r.ok && r.error === "starting").toBe(false); // not refused as unjoined (the peers may not answer)
  });
});

describe("a membership change is durable before anyone hears of it", () => {
  it("the accepting member gossips a join only after its meta record holds the new state", () => {
    const h = new Harness(4, { antiEntropyIntervalMs: 0 });
    for (const id of ORIGINAL) h.boot(id, { members: ORIGINAL });
    h.runUntil(() => ready(h, ORIGINAL));
    const early: string[] = [];
    h.netFilter = (from, to, msg) => {
      if (from === "n1" && msg.type === "ring-gossip" && msg.state.epoch >= 1 && storedEpoch(h, "n1") < msg.state.epoch) early.push(`${to} at ${h.now}`);
      return "deliver";
    };
    h.boot("n4", { members: ["n4", "n1"], join: true });
    expect(h.runUntil(() => settledWith(h, [...ORIGINAL, "n4"], "n4"), 30_000)).toBe(true);
    expect(early).toEqual([]);
  });

  it("an acceptor that crashes before its write is durable took the join back: no one else ever saw it", () => {
    const h = new Harness(4, { antiEntropyIntervalMs: 0 });
    for (const id of ORIGINAL) h.boot(id, { members: ORIGINAL });
    h.runUntil(() => ready(h, ORIGINAL));
    h.storageMs = 5; // the meta write takes a while
    h.boot("n4", { members: ["n4", "n1"], join: true });
    expect(h.runUntil(() => h.sent.some((m) => m.from === "n4" && m.msg.type === "join" && m.to === "n1"), 5000)).toBe(true);
    h.runFor(2); // n1 took the join; its write is not done
    h.stop("n1");
    h.runFor(100);
    for (const id of ["n2", "n3", "n4"]) expect([id, stateOf(h, id).epoch]).toEqual([id, 0]);
  });

  it("a joiner whose accepted join the acceptor lost (wiped) asks again and gets in", () => {
    const h = new Harness(4, { antiEntropyIntervalMs: 0 });
    for (const id of ORIGINAL) h.boot(id, { members: ORIGINAL });
    h.runUntil(() => ready(h, ORIGINAL));
    // Only n1 and n4 hear of the join; no transfer reaches n4.
    h.netFilter = (from, to, msg) => ((from === "n1" && to !== "n4" && msg.type === "ring-gossip") || msg.type === "transfer" ? "drop" : "deliver");
    h.boot("n4", { members: ["n4", "n1"], join: true });
    expect(h.runUntil(() => stateOf(h, "n4").epoch >= 1, 5000)).toBe(true);
    h.wipe("n1"); // the change is gone with n1's disk
    h.netFilter = () => "deliver";
    h.boot("n1", { members: ORIGINAL });
    expect(h.runUntil(() => settledWith(h, [...ORIGINAL, "n4"], "n4"), 30_000)).toBe(true);
  });
});
