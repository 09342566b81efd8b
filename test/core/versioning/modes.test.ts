// The teaching modes must lose data in exactly the way they are meant to teach.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { applyWrite, emptyClock, emptySet, mergeReplicas, setsEqual } from "../../../src/core/versioning/index.ts";
import type { SiblingSet, Write } from "../../../src/core/versioning/types.ts";
import { siblingSetArb } from "./arbitraries.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const w = (value: string, timestamp: bigint): Write => ({ value: enc.encode(value), contentType: "text/plain", timestamp });
const values = (s: SiblingSet): string[] => s.siblings.map((x) => (x.value === null ? "<tombstone>" : dec.decode(x.value))).sort();

describe("lww: last write wins", () => {
  it("loses an acknowledged concurrent write whose timestamp is older", () => {
    // Alice writes through r1 at t=200, Bob through r2 at t=100 (his clock runs behind).
    // Both writes are acknowledged: each replica holds its write after applyWrite.
    const r1 = applyWrite("lww", emptySet(), emptyClock(), "r1", w("alice", 200n));
    const r2 = applyWrite("lww", emptySet(), emptyClock(), "r2", w("bob", 100n));
    expect(values(r1.set)).toEqual(["alice"]);
    expect(values(r2.set)).toEqual(["bob"]); // acknowledged to Bob
    const merged = mergeReplicas("lww", r1.set, r2.set);
    expect(values(merged)).toEqual(["alice"]); // Bob's acknowledged write is gone
    expect(setsEqual(merged, mergeReplicas("lww", r2.set, r1.set))).toBe(true);
    // dvv keeps both as siblings
    const d1 = applyWrite("dvv", emptySet(), emptyClock(), "r1", w("alice", 200n));
    const d2 = applyWrite("dvv", emptySet(), emptyClock(), "r2", w("bob", 100n));
    expect(values(mergeReplicas("dvv", d1.set, d2.set))).toEqual(["alice", "bob"]);
  });

  it("drops a write on arrival when a concurrent sibling has a later timestamp", () => {
    const a = applyWrite("lww", emptySet(), emptyClock(), "r1", w("later", 500n));
    const b = applyWrite("lww", a.set, emptyClock(), "r1", w("earlier-clock", 400n));
    expect(values(b.set)).toEqual(["later"]);
    expect(b.dot).toEqual({ actor: "r1", counter: 2 }); // a dot was minted and acked, then lost
  });

  it("keeps at most one sibling, always", () => {
    fc.assert(
      fc.property(siblingSetArb, siblingSetArb, (a, b) => {
        expect(mergeReplicas("lww", a, b).siblings.length).toBeLessThanOrEqual(1);
        expect(applyWrite("lww", a, b.clock, "x", w("v", 1n)).set.siblings.length).toBe(1);
      }),
    );
  });
});

describe("client-vclock: the original MecDB's client-id clocks", () => {
  it("one client writing through two replicas mints the same dot twice and loses a value on sync", () => {
    const r1 = applyWrite("client-vclock", emptySet(), emptyClock(), "client-7", w("from-laptop", 100n));
    const r2 = applyWrite("client-vclock", emptySet(), emptyClock(), "client-7", w("from-phone", 101n));
    expect(r1.dot).toEqual(r2.dot); // the same dot names two different writes
    expect(values(r1.set)).toEqual(["from-laptop"]);
    expect(values(r2.set)).toEqual(["from-phone"]); // both acknowledged
    const merged = mergeReplicas("client-vclock", r1.set, r2.set);
    expect(merged.siblings).toHaveLength(1); // one acknowledged value silently lost
    expect(setsEqual(merged, mergeReplicas("client-vclock", r2.set, r1.set))).toBe(true);
    // dvv with server-side actors keeps both
    const d1 = applyWrite("dvv", emptySet(), emptyClock(), "r1", w("from-laptop", 100n));
    const d2 = applyWrite("dvv", emptySet(), emptyClock(), "r2", w("from-phone", 101n));
    expect(d1.dot).not.toEqual(d2.dot);
    expect(values(mergeReplicas("dvv", d1.set, d2.set))).toEqual(["from-laptop", "from-phone"]);
  });
});
