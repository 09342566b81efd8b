// Membership in the deterministic harness: a node joins through one member, partitions move to
// it and every key reads back through it with r = 3; a member leaves and reports it left; a
// crashed member is removed; a node with another partition count is refused.
import { describe, expect, it } from "vitest";
import { put, stateOf } from "./helpers.ts";
import { Harness, bytes, values } from "../harness.ts";
import { plannedTransfers, servingPreferences, type ClusterState } from "../../../src/core/membership/cluster-state.ts";
import { partitionOf } from "../../../src/core/ring/index.ts";
import { TRANSFER_BATCH } from "../../../src/core/replica/transfer.ts";
import type { NodeId } from "../../../src/core/types.ts";

const KEYS = Array.from({ length: 60 }, (_, i) => `key-${i}`);

function settled(h: Harness, ids: readonly NodeId[], epochAtLeast: number): boolean {
  const states = ids.map((id) => stateOf(h, id));
  const first = JSON.stringify(states[0]);
  const pending = ids.reduce((sum, id) => sum + (h.node(id).host?.node.inspect?.().transfers?.pending ?? 0), 0);
  return states.every((s) => JSON.stringify(s) === first && s.epoch >= epochAtLeast) && pending === 0;
}

/** Three fixed members with KEYS written, and n4 booted knowing only n1. */
function joined(): Harness {
  const h = new Harness(5, { antiEntropyIntervalMs: 0 });
  for (const id of ["n1", "n2", "n3"]) h.boot(id, { members: ["n1", "n2", "n3"] });
  h.runUntil(() => ["n1", "n2", "n3"].every((m) => h.node(m).events.some((e) => e.type === "ready")));
  for (const k of KEYS) expect(put(h, "n2", k, `v-${k}`).ok).toBe(true);
  h.boot("n4", { members: ["n4", "n1"], join: true });
  expect(h.runUntil(() => settled(h, ["n1", "n2", "n3", "n4"], 1), 30_000)).toBe(true);
  return h;
}

describe("membership", () => {
  it("a node joins through one member; partitions move to it; every key reads back through it with r = 3", () => {
    const h = joined();
    const s = stateOf(h, "n4");
    expect(s.members.map((m) => m.id)).toEqual(["n1", "n2", "n3", "n4"]);
    expect(s.owners.filter((o) => o === "n4").length).toBe(Math.floor(s.partitionCount / 4));
    expect(h.allEvents("transfer-done").length).toBeGreaterThan(0);
    for (const k of KEYS) {
      const r = h.request("n4", { type: "get", key: k, r: 3 });
      expect(r.ok && r.type === "get" ? values(r.set) : r).toEqual([`v-${k}`]);
    }
  });

  it("after cut-over the old owners shed what they lost: hints drain to the new primaries, and no node keeps an object of a partition it does not serve", () => {
    const h = joined();
    const handedOff = h.allEvents("handoff").length;
    h.runFor(10_000); // shed ticks and hinted handoff
    const s = stateOf(h, "n1");
    const stray: string[] = [];
    for (const id of ["n1", "n2", "n3", "n4"]) {
      for (const k of h.objects(id).keys()) if (!servingPreferences(s, partitionOf(k, s.partitionCount), 3).primaries.includes(id)) stray.push(`${id}:${k}`);
      expect(h.hints(id)).toEqual([]);
    }
    expect(stray).toEqual([]);
    expect(h.allEvents("handoff").length).toBeGreaterThan(handedOff);
    for (const k of KEYS) {
      const r = h.request("n3", { type: "get", key: k, r: 3 });
      expect(r.ok && r.type === "get" ? values(r.set) : r).toEqual([`v-${k}`]);
    }
  });

  it("an old owner that shed a key never mints that key's dots again as a fallback", () => {
    const h = joined();
    h.runFor(10_000); // shed ticks and hinted handoff: the old owners hold nothing of what they lost
    const s = stateOf(h, "n1");
    // A key whose dot an old owner minted and whose partition moved away from it.
    const pick = (() => {
      for (const id of ["n1", "n2", "n3"]) {
        for (const e of h.eventsOf(id, "dot-minted")) {
          if (e.type !== "dot-minted") continue;
          const primaries = servingPreferences(s, partitionOf(e.key, s.partitionCount), 3).primaries;
          if (!primaries.includes(id)) return { id, key: e.key, actor: e.actor, counter: e.counter, primaries };
        }
      }
      return null;
    })();
    expect(pick).not.toBeNull();
    const { id, key, actor, counter, primaries } = pick!;
    for (const p of primaries) h.stop(p);
    h.runFor(5000); // every primary suspected: a write through the old owner is minted as a fallback, or refused
    const minted = h.eventsOf(id, "dot-minted").length;
    h.request(id, { type: "put", key, value: bytes("after-shed"), contentType: "text/plain", context: null, w: 1 });
    const again = h.eventsOf(id, "dot-minted").slice(minted).filter((e) => e.type === "dot-minted" && e.key === key && e.actor === actor && e.counter <= counter);
    expect(again).toEqual([]);
  });

  it("after a ring change anti-entropy walks the new primaries' pairs: the newcomer exchanges, nobody exchanges a partition it lost", () => {
    const h = new Harness(5, { antiEntropyIntervalMs: 300 });
    for (const id of ["n1", "n2", "n3"]) h.boot(id, { members: ["n1", "n2", "n3"] });
    h.runUntil(() => ["n1", "n2", "n3"].every((m) => h.node(m).events.some((e) => e.type === "ready")));
    for (const k of KEYS.slice(0, 20)) expect(put(h, "n2", k, `v-${k}`).ok).toBe(true);
    h.runFor(3000); // every old pair exchanged at least once: the schedules exist
    h.boot("n4", { members: ["n4", "n1"], join: true });
    expect(h.runUntil(() => settled(h, ["n1", "n2", "n3", "n4"], 1), 30_000)).toBe(true);
    const s = stateOf(h, "n1");
    const before = new Map(["n1", "n2", "n3", "n4"].map((id) => [id, h.eventsOf(id, "ae-begin").length]));
    h.runFor(6000);
    const wrong: string[] = [];
    for (const id of ["n1", "n2", "n3", "n4"]) {
      for (const e of h.eventsOf(id, "ae-begin").slice(before.get(id))) {
        if (e.type === "ae-begin" && !servingPreferences(s, e.partition, 3).primaries.includes(id)) wrong.push(`${id} p${e.partition}`);
      }
    }
    expect(wrong).toEqual([]);
    expect(h.eventsOf("n4", "ae-begin").length).toBeGreaterThan(0);
  });

  it("writes during the transfer are not lost", () => {
    const h = new Harness(5, { antiEntropyIntervalMs: 0 });
    for (const id of ["n1", "n2", "n3"]) h.boot(id, { members: ["n1", "n2", "n3"] });
    h.runUntil(() => ["n1", "n2", "n3"].every((m) => h.node(m).events.some((e) => e.type === "ready")));
    for (const k of KEYS) expect(put(h, "n2", k, `a-${k}`).ok).toBe(true);
    h.boot("n4", { members: ["n4", "n1"], join: true });
    h.runUntil(() => h.allEvents("transfer-started").length > 0, 10_000);
    const acked: string[] = [];
    for (const k of KEYS) {
      const r = h.request("n3", { type: "put", key: k, value: bytes(`b-${k}`), contentType: "text/plain", context: null });
      if (r.ok) acked.push(k);
    }
    expect(h.runUntil(() => settled(h, ["n1", "n2", "n3", "n4"], 1), 30_000)).toBe(true);
    // Before any read repairs: every primary under the final ring stores the key's full set (anti-entropy is off).
    const final = stateOf(h, "n1");
    const incomplete: string[] = [];
    for (const k of acked) {
      const p = partitionOf(k, final.partitionCount);
      for (const node of servingPreferences(final, p, 3).primaries) {
        const stored = values(h.objects(node).get(k) ?? null).sort();
        if (JSON.stringify(stored) !== JSON.stringify([`a-${k}`, `b-${k}`])) incomplete.push(`${k}@${node}: ${stored.join(",")}`);
      }
    }
    expect(incomplete).toEqual([]);
    for (const k of acked) {
      const r = h.request("n4", { type: "get", key: k, r: 3 });
      expect(r.ok && r.type === "get" ? values(r.set).sort() : r).toEqual([`a-${k}`, `b-${k}`]);
    }
  });

  it("writes stored at the sender after its fold reach the new primary before cut-over (held acks keep the transfers open)", () => {
    const h = new Harness(5, { antiEntropyIntervalMs: 0 });
    for (const id of ["n1", "n2", "n3"]) h.boot(id, { members: ["n1", "n2", "n3"] });
    h.runUntil(() => ["n1", "n2", "n3"].every((m) => h.node(m).events.some((e) => e.type === "ready")));
    for (const k of KEYS) expect(put(h, "n2", k, `a-${k}`).ok).toBe(true);
    let hold = true;
    h.netFilter = (_from, _to, msg) => (hold && msg.type === "transfer-ack" ? "drop" : "deliver");
    h.boot("n4", { members: ["n4", "n1"], join: true });
    expect(h.runUntil(() => h.sent.some((m) => m.msg.type === "transfer" && m.to === "n4"), 10_000)).toBe(true);
    const partitions = stateOf(h, "n1").partitionCount;
    const folded = new Set(h.sent.flatMap((m) => (m.msg.type === "transfer" && m.to === "n4" ? [m.msg.partition] : [])));
    const late = KEYS.filter((k) => folded.has(partitionOf(k, partitions)));
    expect(late.length).toBeGreaterThan(0);
    const acked = late.filter((k) => h.request("n3", { type: "put", key: k, value: bytes(`b-${k}`), contentType: "text/plain", context: null }).ok);
    expect(acked.length).toBeGreaterThan(0);
    hold = false;
    expect(h.runUntil(() => settled(h, ["n1", "n2", "n3", "n4"], 1), 30_000)).toBe(true);
    const incomplete = acked.filter((k) => JSON.stringify(values(h.objects("n4").get(k) ?? null).sort()) !== JSON.stringify([`a-${k}`, `b-${k}`]));
    expect(incomplete).toEqual([]);
  });

  it("until a partition's transfer completes, requests use its old primaries (r = 1 through the new node finds every key)", () => {
    const h = new Harness(5, { antiEntropyIntervalMs: 0 });
    for (const id of ["n1", "n2", "n3"]) h.boot(id, { members: ["n1", "n2", "n3"] });
    h.runUntil(() => ["n1", "n2", "n3"].every((m) => h.node(m).events.some((e) => e.type === "ready")));
    for (const k of KEYS) expect(put(h, "n2", k, `v-${k}`).ok).toBe(true);
    h.netFilter = (_from, to, msg) => (msg.type === "transfer" && to === "n4" ? "drop" : "deliver"); // transfers never complete
    h.boot("n4", { members: ["n4", "n1"], join: true });
    expect(h.runUntil(() => stateOf(h, "n4").epoch >= 1 && stateOf(h, "n3").epoch >= 1, 10_000)).toBe(true);
    expect(h.node("n4").host?.node.inspect?.().transfers?.pending).toBeGreaterThan(0);
    for (const k of KEYS) {
      const r = h.request("n4", { type: "get", key: k, r: 1 });
      expect(r.ok && r.type === "get" ? values(r.set) : r).toEqual([`v-${k}`]);
    }
  });

  it("a partition of more than one batch is handed off whole: every primary under the final ring stores every key", () => {
    const h = new Harness(5, { antiEntropyIntervalMs: 0 });
    for (const id of ["n1", "n2", "n3"]) h.boot(id, { members: ["n1", "n2", "n3"] });
    h.runUntil(() => ["n1", "n2", "n3"].every((m) => h.node(m).events.some((e) => e.type === "ready")));
    const partitions = stateOf(h, "n1").partitionCount;
    const keys = Array.from({ length: partitions * (TRANSFER_BATCH + 16) }, (_, i) => `big-${i}`);
    for (const k of keys) expect(put(h, "n2", k, `v-${k}`).ok).toBe(true);
    const perPartition = new Map<number, number>();
    for (const k of keys) perPartition.set(partitionOf(k, partitions), (perPartition.get(partitionOf(k, partitions)) ?? 0) + 1);
    expect(Math.max(...perPartition.values())).toBeGreaterThan(TRANSFER_BATCH);
    h.boot("n4", { members: ["n4", "n1"], join: true });
    expect(h.runUntil(() => settled(h, ["n1", "n2", "n3", "n4"], 1), 60_000)).toBe(true);
    const final = stateOf(h, "n1");
    const missing: string[] = [];
    for (const k of keys) {
      for (const node of servingPreferences(final, partitionOf(k, partitions), 3).primaries) if (values(h.objects(node).get(k) ?? null)[0] !== `v-${k}`) missing.push(`${k}@${node}`);
    }
    expect(missing.slice(0, 5)).toEqual([]);
  }, 60_000);

  it("a receiver that crashes mid-transfer gets the transfer re-run after it restarts", () => {
    const h = new Harness(5, { antiEntropyIntervalMs: 0 });
    for (const id of ["n1", "n2", "n3"]) h.boot(id, { members: ["n1", "n2", "n3"] });
    h.runUntil(() => ["n1", "n2", "n3"].every((m) => h.node(m).events.some((e) => e.type === "ready")));
    for (const k of KEYS) expect(put(h, "n2", k, `v-${k}`).ok).toBe(true);
    h.boot("n4", { members: ["n4", "n1"], join: true });
    expect(h.runUntil(() => h.sent.some((m) => m.msg.type === "transfer" && m.to === "n4"), 10_000)).toBe(true);
    h.stop("n4");
    h.runFor(2000);
    h.boot("n4", { members: ["n4", "n1"], join: true });
    expect(h.runUntil(() => settled(h, ["n1", "n2", "n3", "n4"], 1), 30_000)).toBe(true);
    const final = stateOf(h, "n1");
    for (const k of KEYS) {
      for (const node of servingPreferences(final, partitionOf(k, final.partitionCount), 3).primaries) expect(values(h.objects(node).get(k) ?? null)).toEqual([`v-${k}`]);
    }
  });

  it("a member leaves: it hands its partitions off, reports it left, and every key is still there", () => {
    const h = joined();
    h.node("n1").host?.admin({ type: "leave" });
    expect(h.runUntil(() => h.eventsOf("n1", "left").length > 0, 30_000)).toBe(true);
    h.runFor(3000);
    h.stop("n1");
    expect(h.runUntil(() => settled(h, ["n2", "n3", "n4"], 2), 30_000)).toBe(true);
    expect(stateOf(h, "n2").owners.includes("n1")).toBe(false);
    for (const k of KEYS) {
      const r = h.request("n2", { type: "get", key: k, r: 3 });
      expect(r.ok && r.type === "get" ? values(r.set) : r).toEqual([`v-${k}`]);
    }
  });

  it("a node adopts a gossiped state only once it is durable: while its disk is full it stays on the old one, and takes the new one when a write succeeds", () => {
    const h = new Harness(3, { antiEntropyIntervalMs: 0 });
    for (const id of ["n1", "n2", "n3"]) h.boot(id, { members: ["n1", "n2", "n3"] });
    h.runUntil(() => ["n1", "n2", "n3"].every((m) => h.node(m).events.some((e) => e.type === "ready")));
    let full = true;
    h.writeFault = (id) => (full && id === "n2" ? { ok: false, message: "No space left on device", reason: "full" } : null);
    h.node("n3").host?.admin({ type: "leave" });
    expect(h.runUntil(() => stateOf(h, "n1").epoch >= 1, 5000)).toBe(true);
    h.runFor(2000); // several gossip rounds reach n2; each persist fails
    expect(stateOf(h, "n2").epoch).toBe(0);
    expect(h.eventsOf("n2", "ring-changed")).toEqual([]);
    full = false;
    expect(h.runUntil(() => stateOf(h, "n2").epoch >= 1, 5000)).toBe(true);
    // What it showed, it had stored: alone (no gossip can bring the state back) it boots with it.
    for (const id of ["n1", "n2", "n3"]) h.stop(id);
    const readies = h.eventsOf("n2", "ready").length;
    h.boot("n2", { members: ["n1", "n2", "n3"] });
    expect(h.runUntil(() => h.eventsOf("n2", "ready").length > readies, 5000)).toBe(true);
    expect(stateOf(h, "n2").epoch).toBeGreaterThanOrEqual(1);
  });

  it("a leaver whose last completion marks reached no peer keeps them until a peer knows, then leaves; no partition is stranded in handoff", () => {
    const h = joined();
    const movesFromN1 = (s: ClusterState): boolean => plannedTransfers(s, 3).some((t) => t.from === "n1");
    // Every gossip of n1's that carries its final marks (nothing left to move from it) is lost.
    let lost = 0;
    h.netFilter = (from, _to, msg) => (from === "n1" && msg.type === "ring-gossip" && msg.state.epoch >= 2 && !movesFromN1(msg.state) && ++lost > 0 ? "drop" : "deliver");
    h.node("n1").host?.admin({ type: "leave" });
    expect(h.runUntil(() => stateOf(h, "n1").epoch >= 2 && !movesFromN1(stateOf(h, "n1")), 30_000)).toBe(true);
    h.runFor(2000);
    expect(lost).toBeGreaterThan(0);
    expect(movesFromN1(stateOf(h, "n2"))).toBe(true); // the peers still wait for n1's marks
    expect(h.eventsOf("n1", "left")).toEqual([]);
    h.netFilter = () => "deliver";
    expect(h.runUntil(() => h.eventsOf("n1", "left").length > 0, 10_000)).toBe(true);
    h.stop("n1"); // it exits at once
    expect(h.runUntil(() => settled(h, ["n2", "n3", "n4"], 2), 30_000)).toBe(true);
    expect(movesFromN1(stateOf(h, "n2"))).toBe(false);
  });

  it("a leaver that was down while hints piled up for it: after it left, its hints are adopted by the holders, not stranded", () => {
    const h = new Harness(3, { n: 2, antiEntropyIntervalMs: 0 });
    for (const id of ["n1", "n2", "n3"]) h.boot(id, { members: ["n1", "n2", "n3"] });
    h.runUntil(() => ["n1", "n2", "n3"].every((m) => h.node(m).events.some((e) => e.type === "ready")));
    h.node("n3").host?.admin({ type: "leave" });
    expect(h.runUntil(() => stateOf(h, "n1").epoch >= 1 && stateOf(h, "n2").epoch >= 1)).toBe(true);
    h.stop("n3"); // down while leaving: writes for what it still serves become hints for it
    h.runFor(500);
    for (const k of KEYS) expect(put(h, "n1", k, `v-${k}`).ok).toBe(true);
    const held = ["n1", "n2"].flatMap((id) => h.hints(id)).filter((x) => x.target === "n3").length;
    expect(held).toBeGreaterThan(0);
    h.boot("n3", { members: ["n1", "n2", "n3"] });
    expect(h.runUntil(() => h.eventsOf("n3", "left").length > 0, 30_000)).toBe(true);
    h.stop("n3"); // it exits at once: the hints held for it never reach it
    h.runFor(5000);
    for (const id of ["n1", "n2"]) {
      expect(h.hints(id).filter((x) => x.target === "n3")).toEqual([]);
      for (const k of KEYS) expect([id, k, values(h.objects(id).get(k) ?? null)]).toEqual([id, k, [`v-${k}`]]);
    }
  });

  it("a crashed member is removed by another; its partitions are rebuilt on the new primaries", () => {
    const h = joined();
    h.stop("n3");
    h.node("n1").host?.admin({ type: "remove", node: "n3" });
    expect(h.runUntil(() => settled(h, ["n1", "n2", "n4"], 2), 30_000)).toBe(true);
    const s = stateOf(h, "n1");
    expect(s.members.find((m) => m.id === "n3")?.status).toBe("removed");
    expect(s.owners.includes("n3")).toBe(false);
    for (const k of KEYS) {
      const r = h.request("n2", { type: "get", key: k, r: 3 });
      expect(r.ok && r.type === "get" ? values(r.set) : r).toEqual([`v-${k}`]);
    }
  });

  it("a node configured with another partition count is refused, naming both values", () => {
    const h = new Harness(5, { antiEntropyIntervalMs: 0 });
    for (const id of ["n1", "n2", "n3"]) h.boot(id, { members: ["n1", "n2", "n3"] });
    h.runUntil(() => ["n1", "n2", "n3"].every((m) => h.node(m).events.some((e) => e.type === "ready")));
    h.boot("n5", { members: ["n5", "n2"], join: true, partitionCount: 32 });
    expect(h.runUntil(() => h.eventsOf("n5", "join-refused").length > 0, 10_000)).toBe(true);
    const e = h.eventsOf("n5", "join-refused")[0];
    expect(e?.type === "join-refused" && e.message).toMatch(/partitions = 32.*partitions = 16/);
    expect(stateOf(h, "n2").members.map((m) => m.id)).toEqual(["n1", "n2", "n3"]);
  });
});
