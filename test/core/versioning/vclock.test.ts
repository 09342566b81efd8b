import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  clocksEqual,
  compare,
  counterOf,
  covers,
  descends,
  emptyClock,
  increment,
  merge,
  mergeAll,
  nanosFromMillis,
  sortClock,
} from "../../../src/core/versioning/index.ts";
import type { VClock } from "../../../src/core/versioning/types.ts";
import { actorArb, clockArb, entryArb, shuffledClock } from "./arbitraries.ts";

const clock = (entries: Record<string, [number, bigint]>): VClock =>
  new Map(Object.entries(entries).map(([a, [counter, timestamp]]) => [a, { counter, timestamp }]));

const isSorted = (c: VClock): boolean => {
  const keys = [...c.keys()];
  return keys.every((k, i) => i === 0 || keys[i - 1]! < k);
};

describe("vclock: fixed cases", () => {
  it("compares on counters, never on timestamps", () => {
    const a = clock({ x: [1, 100n], y: [2, 0n] });
    const b = clock({ x: [1, 5n] });
    expect(compare(a, b)).toBe("after");
    expect(compare(b, a)).toBe("before");
    expect(compare(a, clock({ x: [1, 0n], y: [2, 999n] }))).toBe("equal");
    expect(compare(clock({ x: [2, 0n] }), clock({ y: [1, 0n] }))).toBe("concurrent");
    expect(compare(emptyClock(), emptyClock())).toBe("equal");
    expect(compare(emptyClock(), b)).toBe("before");
  });

  it("merges to the pointwise max, larger timestamp on ties, sorted by actor", () => {
    const m = merge(clock({ z: [1, 7n], x: [3, 1n] }), clock({ x: [3, 9n], y: [2, 4n], z: [2, 0n] }));
    expect([...m]).toEqual([
      ["x", { counter: 3, timestamp: 9n }],
      ["y", { counter: 2, timestamp: 4n }],
      ["z", { counter: 2, timestamp: 0n }],
    ]);
  });

  it("increments one actor with the given timestamp and sorts", () => {
    const c = increment(increment(clock({ b: [1, 1n] }), "a", 50n), "b", 60n);
    expect([...c]).toEqual([
      ["a", { counter: 1, timestamp: 50n }],
      ["b", { counter: 2, timestamp: 60n }],
    ]);
    expect(counterOf(c, "zz")).toBe(0);
    expect(covers(c, { actor: "b", counter: 2 })).toBe(true);
    expect(covers(c, { actor: "b", counter: 3 })).toBe(false);
    expect(covers(c, { actor: "q", counter: 1 })).toBe(false);
  });

  it("nanosFromMillis is exact", () => {
    expect(nanosFromMillis(1700000000000.5)).toBe(1700000000000500000n);
    expect(nanosFromMillis(1700000000000.1)).toBe(1700000000000100000n);
    expect(nanosFromMillis(0)).toBe(0n);
    expect(nanosFromMillis(1.5)).toBe(1500000n);
    expect(nanosFromMillis(0.0000004)).toBe(0n);
    expect(nanosFromMillis(0.0000005)).toBe(1n);
    expect(nanosFromMillis(2 ** 60)).toBe(2n ** 60n * 1_000_000n);
    expect(nanosFromMillis(18446744073709)).toBe(18446744073709000000n);
    expect(() => nanosFromMillis(-1)).toThrow(RangeError);
    expect(() => nanosFromMillis(Number.NaN)).toThrow(RangeError);
  });

  it("nanosFromMillis matches integer arithmetic for millisecond + microsecond inputs", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 41 }), fc.integer({ min: 0, max: 999 }), (ms, us) => {
        const x = ms + us / 1000;
        // the double nearest to ms.us must map to exactly ms*1e6 + us*1e3 ns
        expect(nanosFromMillis(x)).toBe(BigInt(ms) * 1_000_000n + BigInt(us) * 1000n);
      }),
    );
  });
});

describe("vclock: properties", () => {
  it("merge is commutative", () => {
    fc.assert(fc.property(clockArb, clockArb, (a, b) => clocksEqual(merge(a, b), merge(b, a))));
  });

  it("merge is associative", () => {
    fc.assert(
      fc.property(clockArb, clockArb, clockArb, (a, b, c) => clocksEqual(merge(merge(a, b), c), merge(a, merge(b, c)))),
    );
  });

  it("merge is idempotent", () => {
    fc.assert(fc.property(clockArb, (a) => clocksEqual(merge(a, a), a)));
  });

  it("merge is the least upper bound", () => {
    fc.assert(
      fc.property(clockArb, clockArb, clockArb, (a, b, c) => {
        const m = merge(a, b);
        expect(descends(m, a)).toBe(true);
        expect(descends(m, b)).toBe(true);
        // an arbitrary clock: if it is an upper bound, it is above the merge
        if (descends(c, a) && descends(c, b)) expect(descends(c, m)).toBe(true);
        // an upper bound built on purpose
        const upper = merge(merge(b, c), a);
        expect(descends(upper, m)).toBe(true);
        // least: lowering any entry of m below max(a, b) loses one of the inputs
        for (const [actor, e] of m) {
          const lowered = new Map(m);
          if (e.counter === 1) lowered.delete(actor);
          else lowered.set(actor, { counter: e.counter - 1, timestamp: e.timestamp });
          expect(descends(lowered, a) && descends(lowered, b)).toBe(false);
        }
        expect(isSorted(m)).toBe(true);
      }),
    );
  });

  it("mergeAll folds merge", () => {
    fc.assert(
      fc.property(fc.array(clockArb, { maxLength: 5 }), (cs) =>
        clocksEqual(mergeAll(cs), cs.reduce((acc, c) => merge(acc, c), emptyClock())),
      ),
    );
  });

  it("descends is a partial order (reflexive, antisymmetric, transitive)", () => {
    fc.assert(
      fc.property(clockArb, clockArb, clockArb, (a, b, c) => {
        expect(descends(a, a)).toBe(true);
        if (descends(a, b) && descends(b, a)) {
          // antisymmetric on counters (the causal content of a clock)
          for (const actor of new Set([...a.keys(), ...b.keys()])) expect(counterOf(a, actor)).toBe(counterOf(b, actor));
        }
        // transitivity, with chains built so the premise holds
        const ab = merge(a, b);
        const abc = merge(ab, c);
        expect(descends(abc, ab) && descends(ab, a) && descends(abc, a)).toBe(true);
        if (descends(a, b) && descends(b, c)) expect(descends(a, c)).toBe(true);
      }),
    );
  });

  it("compare and descends agree with a pointwise model of the counters", () => {
    // The model is this test's own: per actor, which side has the larger counter (0 if absent).
    // Timestamps are ignored by construction.
    const model = (a: VClock, b: VClock): "equal" | "after" | "before" | "concurrent" => {
      let aAhead = false;
      let bAhead = false;
      for (const actor of new Set([...a.keys(), ...b.keys()])) {
        const x = a.get(actor)?.counter ?? 0;
        const y = b.get(actor)?.counter ?? 0;
        if (x > y) aAhead = true;
        if (y > x) bAhead = true;
      }
      return aAhead && bAhead ? "concurrent" : aAhead ? "after" : bAhead ? "before" : "equal";
    };
    // Same actors with the timestamps of a shuffled the other way: catches timestamp leaks.
    const retimed = (c: VClock): VClock => new Map([...c].map(([k, e]) => [k, { counter: e.counter, timestamp: 2n ** 40n - e.timestamp }]));
    fc.assert(
      fc.property(clockArb, clockArb, (a, b) => {
        const expected = model(a, b);
        expect(compare(a, b)).toBe(expected);
        expect(compare(retimed(a), b)).toBe(expected);
        expect(descends(a, b)).toBe(expected === "equal" || expected === "after");
        const mirror = { equal: "equal", after: "before", before: "after", concurrent: "concurrent" } as const;
        expect(compare(b, a)).toBe(mirror[compare(a, b)]);
      }),
    );
  });

  it("increment moves strictly after, by one event of one actor", () => {
    fc.assert(
      fc.property(clockArb, actorArb, entryArb, (a, actor, e) => {
        const b = increment(a, actor, e.timestamp);
        expect(compare(b, a)).toBe("after");
        expect(counterOf(b, actor)).toBe(counterOf(a, actor) + 1);
        expect(b.get(actor)?.timestamp).toBe(e.timestamp);
        expect(isSorted(b)).toBe(true);
      }),
    );
  });

  it("order of actors never matters; sortClock sorts", () => {
    fc.assert(
      fc.property(clockArb, fc.integer(), (a, seed) => {
        const s = shuffledClock(a, seed);
        expect(clocksEqual(a, s)).toBe(true);
        expect(compare(a, s)).toBe("equal");
        expect([...merge(a, emptyClock())]).toEqual([...sortClock(s)]);
        expect(isSorted(sortClock(s))).toBe(true);
      }),
    );
  });
});
