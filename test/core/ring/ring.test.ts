import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { createRing, joinRing, leaveRing, partitionOf, preferenceList, ringMembers } from "../../../src/core/ring/index.ts";
import type { Ring } from "../../../src/core/ring/index.ts";
import type { NodeId } from "../../../src/core/types.ts";

const names = (m: number, prefix = "n"): NodeId[] => Array.from({ length: m }, (_, i) => `${prefix}${i + 1}`);

function counts(ring: Ring): Map<NodeId, number> {
  const c = new Map<NodeId, number>();
  for (const o of ring.owners) c.set(o, (c.get(o) ?? 0) + 1);
  return c;
}

/** Asserts the ring is well formed and every member owns floor(P/m) or ceil(P/m) partitions. */
function expectBalanced(ring: Ring, members: readonly NodeId[]): void {
  expect(ring.owners).toHaveLength(ring.partitionCount);
  expect(ringMembers(ring)).toEqual([...members].sort());
  const c = counts(ring);
  const lo = Math.floor(ring.partitionCount / members.length);
  const hi = Math.ceil(ring.partitionCount / members.length);
  for (const m of members) {
    const k = c.get(m) ?? 0;
    expect(k >= lo && k <= hi, `${m} owns ${k}, expected ${lo}..${hi} (P=${ring.partitionCount}, m=${members.length})`).toBe(true);
  }
}

/** How many partitions' n=3 primaries differ as a set (the replicas that hold its data). */
function primarySetsChanged(a: Ring, b: Ring): number {
  let k = 0;
  for (let p = 0; p < a.partitionCount; p++) {
    if ([...preferenceList(a, p, 3).primaries].sort().join() !== [...preferenceList(b, p, 3).primaries].sort().join()) k++;
  }
  return k;
}

function moved(a: Ring, b: Ring): number {
  let k = 0;
  for (let p = 0; p < a.partitionCount; p++) if (a.owners[p] !== b.owners[p]) k++;
  return k;
}

/** An arbitrary set of 1..12 distinct node ids, with a partition count that fits it. */
const memberSet = fc.uniqueArray(fc.stringMatching(/^[a-z0-9.:]{1,8}$/), { minLength: 1, maxLength: 12 });
const partitionCounts = fc.constantFrom(12, 16, 17, 32, 64, 100, 128);

describe("createRing", () => {
  it("is balanced within one partition per node for 1..20 members and many partition counts", () => {
    for (let m = 1; m <= 20; m++) {
      for (const P of [m, 20, 31, 64, 100, 256, 1024]) {
        if (P < m) continue;
        expectBalanced(createRing(names(m), P), names(m));
      }
    }
  });

  it("defaults to 64 partitions", () => {
    expect(createRing(["a", "b"]).partitionCount).toBe(64);
  });

  it("depends on the member set alone, not on the order of the input array", () => {
    fc.assert(
      fc.property(memberSet, partitionCounts, fc.infiniteStream(fc.nat()), (members, P, swaps) => {
        const shuffled = [...members];
        const it = swaps[Symbol.iterator]();
        for (let i = shuffled.length - 1; i > 0; i--) {
          const j = it.next().value! % (i + 1);
          [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
        }
        expect(createRing(shuffled, P)).toEqual(createRing(members, P));
      }),
      { numRuns: 60 },
    );
  });

  it("equals the first sorted member owning everything, then joins in sorted order", () => {
    const members = ["zeta", "alpha", "mid", "beta", "omega"];
    const sorted = [...members].sort();
    let ring: Ring = { partitionCount: 64, owners: new Array<NodeId>(64).fill(sorted[0]!) };
    for (const m of sorted.slice(1)) ring = joinRing(ring, m);
    expect(createRing(members, 64)).toEqual(ring);
  });

  it("rejects bad input with a clear message", () => {
    expect(() => createRing([], 64)).toThrow(/members must not be empty/);
    expect(() => createRing(["a", "b", "a"], 64)).toThrow(/duplicate member "a"/);
    expect(() => createRing(["a"], 0)).toThrow(/partitionCount must be an integer from 1 to 65536, got 0/);
    expect(() => createRing(["a"], 65537)).toThrow(/partitionCount/);
    expect(() => createRing(["a"], 2.5)).toThrow(/partitionCount/);
    expect(() => createRing(["a", "b", "c"], 2)).toThrow(/3 members need at least as many partitions/);
    expect(() => createRing(["a", ""], 8)).toThrow(/non-empty string/);
  });

  it("handles the extremes: one partition, one member, as many members as partitions", () => {
    expect(createRing(["solo"], 1).owners).toEqual(["solo"]);
    expect(createRing(["solo"], 65536).owners.every((o) => o === "solo")).toBe(true);
    const r = createRing(names(8), 8);
    expect([...r.owners].sort()).toEqual(names(8).sort());
  });

  it("tends to give consecutive partitions distinct owners (n = 3 windows), reported", () => {
    const rows: string[] = [];
    for (let m = 2; m <= 12; m++) {
      const ring = createRing(names(m), 64);
      let adjacentSame = 0;
      let windows3NotDistinct = 0;
      for (let p = 0; p < 64; p++) {
        const a = ring.owners[p]!, b = ring.owners[(p + 1) % 64]!, c = ring.owners[(p + 2) % 64]!;
        if (a === b) adjacentSame++;
        if (m >= 3 && new Set([a, b, c]).size < 3) windows3NotDistinct++;
      }
      // Replica load: in how many partitions' n=3 primaries each node appears (ideal 3*64/m).
      const load = new Map<NodeId, number>();
      for (let p = 0; p < 64; p++) for (const x of preferenceList(ring, p, 3).primaries) load.set(x, (load.get(x) ?? 0) + 1);
      const loads = [...load.values()];
      const ideal = (3 * 64) / Math.max(m, 3);
      rows.push(`m=${String(m).padStart(2)}  adjacent same owner ${String(adjacentSame).padStart(2)}  3-windows not distinct ${String(windows3NotDistinct).padStart(2)}  n=3 replica load ${Math.min(...loads)}..${Math.max(...loads)} (ideal ${ideal.toFixed(1)})`);
      expect(adjacentSame).toBe(0);
      if (m >= 4) {
        expect(Math.min(...loads)).toBeGreaterThanOrEqual(Math.floor(ideal * 0.8));
        expect(Math.max(...loads)).toBeLessThanOrEqual(Math.ceil(ideal * 1.2));
      }
    }
    console.log(`ring spread, 64 partitions:\n${rows.join("\n")}`);
  });
});

describe("joinRing and leaveRing", () => {
  it("a join moves floor(P/(m+1)) partitions, all to the new node, and keeps balance", () => {
    fc.assert(
      fc.property(memberSet, partitionCounts, (members, P) => {
        fc.pre(members.length + 1 <= P && !members.includes("newcomer"));
        const before = createRing(members, P);
        const after = joinRing(before, "newcomer");
        expectBalanced(after, [...members, "newcomer"]);
        expect(moved(before, after)).toBe(Math.floor(P / (members.length + 1)));
        for (let p = 0; p < P; p++) if (before.owners[p] !== after.owners[p]) expect(after.owners[p]).toBe("newcomer");
      }),
      { numRuns: 80 },
    );
  });

  it("a leave moves only the leaver's partitions and keeps balance", () => {
    fc.assert(
      fc.property(memberSet, partitionCounts, fc.nat(), (members, P, pick) => {
        fc.pre(members.length >= 2 && members.length <= P);
        const leaver = members[pick % members.length]!;
        const before = createRing(members, P);
        const after = leaveRing(before, leaver);
        const rest = members.filter((m) => m !== leaver);
        expectBalanced(after, rest);
        for (let p = 0; p < P; p++) {
          if (before.owners[p] === leaver) expect(after.owners[p]).not.toBe(leaver);
          else expect(after.owners[p]).toBe(before.owners[p]);
        }
      }),
      { numRuns: 80 },
    );
  });

  it("stays balanced through any sequence of joins and leaves", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.boolean(), fc.integer({ min: 0, max: 15 })), { maxLength: 30 }), partitionCounts, (ops, P) => {
        let members = ["n0"];
        let ring = createRing(members, P);
        for (const [join, i] of ops) {
          const node = `n${i}`;
          if (join && !members.includes(node) && members.length < P) {
            ring = joinRing(ring, node);
            members = [...members, node];
          } else if (!join && members.includes(node) && members.length > 1) {
            ring = leaveRing(ring, node);
            members = members.filter((m) => m !== node);
          }
          expectBalanced(ring, members);
        }
      }),
      { numRuns: 60 },
    );
  });

  it("rejects joining a member, leaving a non-member, and the last member leaving", () => {
    const ring = createRing(["a", "b"], 16);
    expect(() => joinRing(ring, "a")).toThrow(/"a" is already a member/);
    expect(() => leaveRing(ring, "c")).toThrow(/"c" is not a member/);
    expect(() => leaveRing(createRing(["a"], 16), "a")).toThrow(/last member/);
    expect(() => joinRing(createRing(["a", "b"], 2), "c")).toThrow(/need at least 3 partitions/);
    expect(() => joinRing({ partitionCount: 4, owners: ["a"] }, "b")).toThrow(/owners has 1 entries but partitionCount is 4/);
  });

  it("reports partition moves and preference-list changes on join and leave (64 partitions), near the minimum", () => {
    const P = 64;
    const rows = ["  m | join: moved  min ceil(P/(m+1))  n=3 primary sets changed (about 3P/(m+1)) | leave n1: moved (= its share)  primary sets changed (about 3P/m)"];
    for (let m = 3; m <= 8; m++) {
      const before = createRing(names(m), P);
      const joined = joinRing(before, "new");
      const movedOnJoin = moved(before, joined);
      const minimum = Math.ceil(P / (m + 1));
      const prefChangedOnJoin = primarySetsChanged(before, joined);
      const left = leaveRing(before, "n1");
      const movedOnLeave = moved(before, left);
      const share = counts(before).get("n1")!;
      const prefChangedOnLeave = primarySetsChanged(before, left);
      rows.push(
        `  ${m} | ${String(movedOnJoin).padStart(11)}  ${String(minimum).padStart(17)}  ${String(prefChangedOnJoin).padStart(24)} ${`(${((3 * P) / (m + 1)).toFixed(1)})`.padStart(16)} | ${String(movedOnLeave).padStart(29)}  ${String(prefChangedOnLeave).padStart(20)} ${`(${((3 * P) / m).toFixed(1)})`.padStart(12)}`,
      );
      // A join moves no more than the minimum (plus a little slack; floor(P/(m+1)) is what balance needs).
      expect(movedOnJoin).toBeGreaterThanOrEqual(Math.floor(P / (m + 1)));
      expect(movedOnJoin).toBeLessThanOrEqual(minimum + 2);
      expect(movedOnLeave).toBe(share);
      // The new node becomes a primary of about n*P/(m+1) partitions; each of those changes its set.
      expect(prefChangedOnJoin).toBeLessThanOrEqual(Math.ceil(((3 * P) / (m + 1)) * 1.15));
      // Likewise the leaver was a primary of about n*P/m partitions.
      expect(prefChangedOnLeave).toBeLessThanOrEqual(Math.ceil(((3 * P) / m) * 1.15));
    }
    console.log(`ring movement, 64 partitions:\n${rows.join("\n")}`);
  });
});

describe("partitionOf", () => {
  it("is stable: pinned values (a change here moves every key of a live cluster)", () => {
    const pinned: [string, number, number, number][] = [
      ["", 42, 10, 43838],
      ["a", 6, 1, 6784],
      ["foo", 27, 6, 27994],
      ["user:42", 8, 2, 9151],
      ["héllo", 62, 15, 64063],
      ["日本", 60, 15, 61444],
    ];
    for (const [key, p64, p16, p65536] of pinned) {
      expect([partitionOf(key, 64), partitionOf(key, 16), partitionOf(key, 65536)], key).toEqual([p64, p16, p65536]);
    }
  });

  it("is in range and consistent across partition counts (scaling, not modulo)", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (key) => {
        const p = partitionOf(key, 64);
        expect(Number.isInteger(p) && p >= 0 && p < 64).toBe(true);
        // Halving the partition count merges neighbouring partitions.
        expect(partitionOf(key, 32)).toBe(Math.floor(p / 2));
        expect(partitionOf(key, 1)).toBe(0);
      }),
    );
  });

  it("is roughly uniform", () => {
    const P = 64;
    const keys = 64_000;
    const hist = new Array<number>(P).fill(0);
    for (let i = 0; i < keys; i++) hist[partitionOf(`key-${i}`, P)]!++;
    // Expected 1000 per partition, standard deviation about 31: allow 5 sigma.
    for (const h of hist) {
      expect(h).toBeGreaterThan(845);
      expect(h).toBeLessThan(1155);
    }
    const chiSquare = hist.reduce((s, h) => s + (h - 1000) ** 2 / 1000, 0);
    expect(chiSquare).toBeLessThan(120); // 63 degrees of freedom: p ~ 1e-5 at 120
  });

  it("rejects a bad partition count", () => {
    expect(() => partitionOf("k", 0)).toThrow(/partitionCount/);
  });
});

describe("preferenceList", () => {
  it("every key maps to n distinct primaries when there are >= n members, and fallbacks complete the membership", () => {
    fc.assert(
      fc.property(memberSet, partitionCounts, fc.integer({ min: 1, max: 5 }), fc.array(fc.string(), { minLength: 1, maxLength: 20 }), (members, P, n, keys) => {
        fc.pre(members.length <= P);
        const ring = createRing(members, P);
        for (const key of keys) {
          const p = partitionOf(key, P);
          const { primaries, fallbacks } = preferenceList(ring, p, n);
          expect(primaries).toHaveLength(Math.min(n, members.length));
          expect(new Set(primaries).size).toBe(primaries.length);
          expect(primaries[0]).toBe(ring.owners[p]);
          expect([...primaries, ...fallbacks].sort()).toEqual([...members].sort());
        }
      }),
      { numRuns: 100 },
    );
  });

  it("walks partitions in order, wrapping", () => {
    const ring: Ring = { partitionCount: 6, owners: ["a", "a", "b", "c", "b", "d"] };
    expect(preferenceList(ring, 0, 2)).toEqual({ primaries: ["a", "b"], fallbacks: ["c", "d"] });
    expect(preferenceList(ring, 4, 3)).toEqual({ primaries: ["b", "d", "a"], fallbacks: ["c"] });
    expect(preferenceList(ring, 5, 9)).toEqual({ primaries: ["d", "a", "b", "c"], fallbacks: [] });
  });

  it("rejects a bad partition or n", () => {
    const ring = createRing(["a", "b"], 8);
    expect(() => preferenceList(ring, 8, 3)).toThrow(/partition must be an integer from 0 to 7, got 8/);
    expect(() => preferenceList(ring, -1, 3)).toThrow(/partition/);
    expect(() => preferenceList(ring, 0, 0)).toThrow(/n must be a positive integer/);
  });
});
