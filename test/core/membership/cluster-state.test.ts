// The cluster state's merge is a join-semilattice (commutative, associative, idempotent), so
// gossip converges whatever order states arrive in; changes move only what they must.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { applyChange, baseHash, initialState, markDone, mergeStates, plannedTransfers, sameState, servingPreferences, stateFromWire, stateToWire, type ClusterState } from "../../../src/core/membership/cluster-state.ts";

const N = 3;
const base = initialState(["a", "b", "c"].map((id) => ({ id, name: id })), 16);

function changed(s: ClusterState, change: Parameters<typeof applyChange>[1]): ClusterState {
  const r = applyChange(s, change, N);
  if (!r.ok) throw new Error(r.message);
  return r.state;
}

/** States reachable from one epoch-1 change, with some completion marks. */
const arbState = fc
  .tuple(fc.constantFrom("d", "e"), fc.array(fc.nat(40), { maxLength: 10 }))
  .map(([joiner, marks]) => {
    let s = changed(base, { type: "join", id: joiner, name: joiner });
    const plans = plannedTransfers(s, N);
    for (const m of marks) {
      const p = plans[m % Math.max(plans.length, 1)];
      if (p !== undefined) s = markDone(s, p.partition, p.to);
    }
    return s;
  });

describe("cluster state", () => {
  it("sameState and baseHash (computed once per state object) agree with the states' text, across copies", () => {
    fc.assert(
      fc.property(arbState, arbState, (x, y) => {
        const copy = stateFromWire(stateToWire(x)); // a fresh object, as gossip decodes it
        expect(sameState(x, copy)).toBe(true);
        expect(baseHash(copy)).toBe(baseHash(x));
        expect(sameState(x, y)).toBe(JSON.stringify(x) === JSON.stringify(y));
        expect(sameState(copy, y)).toBe(JSON.stringify(x) === JSON.stringify(y));
        expect(baseHash(x) === baseHash(y)).toBe(baseHash(copy) === baseHash(y));
      }),
      { seed: 11, numRuns: 200 },
    );
  });

  it("merge is commutative, associative and idempotent", () => {
    fc.assert(
      fc.property(arbState, arbState, arbState, (x, y, z) => {
        expect(mergeStates(x, y)).toEqual(mergeStates(y, x));
        expect(mergeStates(mergeStates(x, y), z)).toEqual(mergeStates(x, mergeStates(y, z)));
        expect(mergeStates(x, x)).toEqual(x);
      }),
      { seed: 7, numRuns: 200 },
    );
  });

  it("a join serves every pending partition from its old primaries until its transfers are marked done", () => {
    const s = changed(base, { type: "join", id: "d", name: "d" });
    expect(s.epoch).toBe(1);
    const plans = plannedTransfers(s, N);
    expect(plans.length).toBeGreaterThan(0);
    expect(plans.every((p) => p.to === "d" && p.from !== "d")).toBe(true);
    for (const h of s.handoffs) expect(servingPreferences(s, h.partition, N).primaries.sort()).toEqual(servingPreferences(base, h.partition, N).primaries.sort());
    let done = s;
    for (const p of plans) done = markDone(done, p.partition, p.to);
    expect(plannedTransfers(done, N)).toEqual([]);
    expect(servingPreferences(done, plans[0]!.partition, N).primaries).toContain("d");
  });

  it("refuses a second change while transfers are pending, except remove", () => {
    const s = changed(base, { type: "join", id: "d", name: "d" });
    expect(applyChange(s, { type: "join", id: "e", name: "e" }, N).ok).toBe(false);
    expect(applyChange(s, { type: "leave", id: "a" }, N).ok).toBe(false);
    const removed = changed(s, { type: "remove", id: "c" });
    expect(removed.owners).not.toContain("c");
    expect(removed.handoffs.every((h) => !h.serving.includes("c"))).toBe(true);
  });
});
