import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { ReplyTally, mergeReplies, readRepairTargets, reapableSet, sloppyTargets, validQuorum } from "../../../src/core/coordinator/quorum.ts";
import { emptyClock, emptySet, update } from "../../../src/core/versioning/index.ts";
import type { SiblingSet } from "../../../src/core/versioning/types.ts";

const w = (v: string | null) => ({ value: v === null ? null : new TextEncoder().encode(v), contentType: "text/plain", timestamp: 1n });

describe("sloppyTargets", () => {
  it("takes the primaries when all are up", () => {
    expect(sloppyTargets(["a", "b", "c"], ["d", "e"], 3, () => true)).toEqual([
      { node: "a", hint: null },
      { node: "b", hint: null },
      { node: "c", hint: null },
    ]);
  });
  it("replaces a suspected primary by the first fallback, hinted for it", () => {
    expect(sloppyTargets(["a", "b", "c"], ["d", "e"], 3, (n) => n !== "b")).toEqual([
      { node: "a", hint: null },
      { node: "c", hint: null },
      { node: "d", hint: "b" },
    ]);
  });
  it("pairs fallbacks with skipped primaries in order and skips suspected fallbacks", () => {
    expect(sloppyTargets(["a", "b", "c"], ["d", "e", "f"], 3, (n) => !["a", "c", "d"].includes(n))).toEqual([
      { node: "b", hint: null },
      { node: "e", hint: "a" },
      { node: "f", hint: "c" },
    ]);
  });
  it("returns fewer than n when not enough nodes are up", () => {
    expect(sloppyTargets(["a", "b", "c"], ["d"], 3, (n) => n === "a")).toEqual([{ node: "a", hint: null }]);
  });
});

describe("ReplyTally", () => {
  it("counts distinct targets only", () => {
    const t = new ReplyTally<number>(["a", "b", "c"], 2);
    expect(t.record("a", 1)).toBe("counted");
    expect(t.reached).toBe(false);
    expect(t.record("a", 1)).toBe("duplicate");
    expect(t.reached).toBe(false);
    expect(t.record("x", 1)).toBe("stranger");
    expect(t.reached).toBe(false);
    expect(t.record("c", 3)).toBe("counted");
    expect(t.reached).toBe(true);
    expect(t.complete).toBe(false);
    expect(t.repliers()).toEqual(["a", "c"]);
    expect(t.record("b", 2)).toBe("counted");
    expect(t.complete).toBe(true);
    expect(t.answered).toBe(3);
  });
  it("keeps the first reply of a target", () => {
    const t = new ReplyTally<number>(["a", "b"], 1);
    t.record("a", 1);
    t.record("a", 2);
    expect(t.entries()).toEqual([["a", 1]]);
  });
  it("planted bug duplicate-acks: a duplicate counts toward the quorum", () => {
    const t = new ReplyTally<number>(["a", "b", "c"], 2, true);
    t.record("a", 1);
    t.record("a", 1);
    expect(t.reached).toBe(true);
    expect(t.repliers()).toEqual(["a"]);
  });
  it("rejects a non-positive quorum", () => {
    expect(() => new ReplyTally<number>(["a"], 0)).toThrow();
  });
});

describe("validQuorum", () => {
  it("accepts integers in [1, n]", () => {
    expect([0, 1, 2, 3, 4, 1.5, Number.NaN].map((v) => validQuorum(v, 3))).toEqual([false, true, true, true, false, false, false]);
  });
});

describe("merge, read repair and reap decisions", () => {
  const s1 = update(emptySet(), emptyClock(), "x.1", w("v1")).set;
  const s2 = update(s1, s1.clock, "x.1", w("v2")).set; // supersedes v1
  const other = update(emptySet(), emptyClock(), "y.1", w("w1")).set; // concurrent
  it("merges replies, ignoring not-found", () => {
    expect(mergeReplies("dvv", [null, null])).toBeNull();
    const m = mergeReplies("dvv", [s1, null, s2]) as SiblingSet;
    expect(m.siblings.map((s) => s.dot)).toEqual([{ actor: "x.1", counter: 2 }]);
    const m2 = mergeReplies("dvv", [s2, other]) as SiblingSet;
    expect(m2.siblings).toHaveLength(2);
  });
  it("read repair targets every replier whose copy differs, including not-found", () => {
    expect(readRepairTargets([["a", s2], ["b", s1], ["c", null]], s2)).toEqual(["b", "c"]);
    expect(readRepairTargets([["a", null]], null)).toEqual([]);
  });
  it("reaps only when every primary holds the same tombstone-only set", () => {
    const t = update(s2, s2.clock, "x.1", w(null)).set;
    expect(reapableSet(new Map([["a", t], ["b", t], ["c", t]]), ["a", "b", "c"])).toBe(t);
    expect(reapableSet(new Map([["a", t], ["b", t]]), ["a", "b", "c"])).toBeNull();
    expect(reapableSet(new Map([["a", t], ["b", t], ["c", null]]), ["a", "b", "c"])).toBeNull();
    expect(reapableSet(new Map([["a", t], ["b", t], ["c", s2]]), ["a", "b", "c"])).toBeNull();
    const t2 = update(t, emptyClock(), "y.1", w(null)).set; // another tombstone, different set
    expect(reapableSet(new Map([["a", t], ["b", t2], ["c", t]]), ["a", "b", "c"])).toBeNull();
  });
});

describe("ReplyTally properties", () => {
  const nodes = ["a", "b", "c", "d", "e", "x", "y"];
  it("reached iff at least `needed` distinct targets replied, whatever the duplicates and strangers", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.constantFrom("a", "b", "c", "d", "e"), { minLength: 1, maxLength: 5 }),
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.constantFrom(...nodes), { maxLength: 30 }),
        (targets, needed, replies) => {
          const t = new ReplyTally<number>(targets, needed);
          replies.forEach((r, i) => t.record(r, i));
          const distinct = new Set(replies.filter((r) => (targets as readonly string[]).includes(r)));
          expect(t.reached).toBe(distinct.size >= needed);
          expect(t.answered).toBe(distinct.size);
          expect(new Set(t.repliers()).size).toBe(t.repliers().length);
          expect(t.complete).toBe(distinct.size === targets.length);
          // The first reply of each target is the one kept.
          for (const [node, v] of t.entries()) expect(v).toBe(replies.indexOf(node));
        },
      ),
    );
  });
  it("sloppy targets: at most n, distinct, primaries first, every hint names a skipped primary", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.subarray(["p1", "p2", "p3", "f1", "f2", "f3"]), (n, down) => {
        const primaries = ["p1", "p2", "p3"];
        const fallbacks = ["f1", "f2", "f3"];
        const ts = sloppyTargets(primaries, fallbacks, n, (x) => !down.includes(x));
        expect(ts.length).toBeLessThanOrEqual(n);
        expect(new Set(ts.map((t) => t.node)).size).toBe(ts.length);
        for (const t of ts) {
          expect(down).not.toContain(t.node);
          if (t.hint !== null) {
            expect(fallbacks).toContain(t.node);
            expect(down).toContain(t.hint);
          }
        }
        const hints = ts.flatMap((t) => (t.hint === null ? [] : [t.hint]));
        expect(new Set(hints).size).toBe(hints.length);
      }),
    );
  });
});
