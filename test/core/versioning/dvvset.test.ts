import { describe, expect, it } from "vitest";
import fc from "fast-check";
import {
  checkSet,
  compareSiblingContent,
  conflictingDots,
  covers,
  dotKey,
  emptyClock,
  emptySet,
  isTombstoneOnly,
  liveSiblings,
  setDescends,
  setsEqual,
  sync,
  update,
} from "../../../src/core/versioning/index.ts";
import type { Dot, SiblingSet, VClock, Write } from "../../../src/core/versioning/types.ts";
import { actorArb, anyContentSiblingSetArb, clockArb, siblingSetArb } from "./arbitraries.ts";

// Sets whose content is a function of the dot (dvv) or arbitrary per replica (client-vclock,
// where one dot can carry two values): sync must be a semilattice for both.
const anySetArb = fc.oneof(siblingSetArb, anyContentSiblingSetArb);

const enc = new TextEncoder();
const dec = new TextDecoder();
const w = (value: string | null, timestamp = 1n): Write => ({
  value: value === null ? null : enc.encode(value),
  contentType: "text/plain",
  timestamp,
});
const values = (s: SiblingSet): string[] => s.siblings.map((x) => (x.value === null ? "<tombstone>" : dec.decode(x.value))).sort();

describe("dvvset: fixed cases", () => {
  it("Mary v1, Peter reads C1, Mary v2 (no context), Peter v3 with C1 -> siblings exactly {v2, v3}", () => {
    let s = emptySet();
    s = update(s, emptyClock(), "n1.01", w("v1", 1n)).set; // Mary, no context
    const c1 = s.clock; // Peter reads
    s = update(s, emptyClock(), "n1.01", w("v2", 2n)).set; // Mary again, no context
    expect(values(s)).toEqual(["v1", "v2"]);
    const r = update(s, c1, "n1.01", w("v3", 3n)); // Peter with C1
    expect(values(r.set)).toEqual(["v2", "v3"]);
    expect(r.dot).toEqual({ actor: "n1.01", counter: 3 });
    expect([...r.set.clock]).toEqual([["n1.01", { counter: 3, timestamp: 3n }]]);
    expect(r.set.siblings.map((x) => dotKey(x.dot))).toEqual(["n1.01:2", "n1.01:3"]);
  });

  it("a write with the full context replaces all siblings; a tombstone is a sibling", () => {
    let s = emptySet();
    s = update(s, emptyClock(), "a", w("x")).set;
    s = update(s, emptyClock(), "b", w("y")).set;
    expect(values(s)).toEqual(["x", "y"]);
    const del = update(s, s.clock, "a", w(null, 5n)).set;
    expect(del.siblings).toHaveLength(1);
    expect(isTombstoneOnly(del)).toBe(true);
    expect(liveSiblings(del)).toEqual([]);
    expect(isTombstoneOnly(emptySet())).toBe(false);
    expect(isTombstoneOnly(s)).toBe(false);
    expect(liveSiblings(s)).toHaveLength(2);
  });

  it("the new dot is past both the replica's and the context's counter", () => {
    const ctx: VClock = new Map([["a", { counter: 7, timestamp: 0n }]]);
    const r = update(emptySet(), ctx, "a", w("x"));
    expect(r.dot).toEqual({ actor: "a", counter: 8 });
    expect(checkSet(r.set)).toBeNull();
  });

  it("sync drops what the other side superseded and keeps what it never saw", () => {
    const base = update(emptySet(), emptyClock(), "r1", w("old")).set;
    const r1 = update(base, base.clock, "r1", w("new")).set; // supersedes old
    const r2 = update(base, emptyClock(), "r2", w("other")).set; // concurrent with both
    expect(values(sync(r1, r2))).toEqual(["new", "other"]);
    expect(values(sync(r2, r1))).toEqual(["new", "other"]);
  });
});

describe("dvvset: same dot, different values", () => {
  it("conflictingDots finds a dot two states hold with different content, and only that", () => {
    // Node a minted a:1 = "acknowledged"; after losing it (same actor), it minted a:1 = "other".
    const first = update(emptySet(), emptyClock(), "a", w("acknowledged", 1n)).set;
    const reissued = update(emptySet(), emptyClock(), "a", w("other", 2n)).set;
    expect(conflictingDots(first, reissued)).toEqual([{ actor: "a", counter: 1 }]);
    expect(conflictingDots(first, first)).toEqual([]);
    const next = update(first, first.clock, "a", w("next", 3n)).set; // a:2 supersedes a:1
    expect(conflictingDots(first, next)).toEqual([]);
    // What sync alone would do: keep one of the two values silently.
    expect(sync(first, reissued).siblings).toHaveLength(1);
  });
});

describe("dvvset: properties", () => {
  it("sync is commutative", () => {
    fc.assert(fc.property(anySetArb, anySetArb, (a, b) => setsEqual(sync(a, b), sync(b, a))));
  });

  it("sync is associative", () => {
    fc.assert(
      fc.property(anySetArb, anySetArb, anySetArb, (a, b, c) =>
        setsEqual(sync(sync(a, b), c), sync(a, sync(b, c))),
      ),
    );
  });

  it("sync is idempotent", () => {
    fc.assert(fc.property(anySetArb, (a) => setsEqual(sync(a, a), a)));
  });

  it("sync is exact: a sibling survives iff the other side holds its dot or has not seen it", () => {
    fc.assert(
      fc.property(anySetArb, anySetArb, (a, b) => {
        const s = sync(a, b);
        const got = new Set(s.siblings.map((x) => dotKey(x.dot)));
        const expected = new Set<string>();
        const has = (set: SiblingSet, k: string) => set.siblings.some((x) => dotKey(x.dot) === k);
        for (const [x, other] of [
          [a, b],
          [b, a],
        ] as const) {
          for (const sib of x.siblings) {
            const k = dotKey(sib.dot);
            if (has(other, k) || !covers(other.clock, sib.dot)) expected.add(k);
          }
        }
        expect([...got].sort()).toEqual([...expected].sort());
        expect(s.siblings).toHaveLength(got.size); // each dot once
        expect(checkSet(s)).toBeNull();
        expect(setDescends(s, a) && setDescends(s, b)).toBe(true);
      }),
    );
  });

  it("update with a context removes exactly the siblings the context covers", () => {
    fc.assert(
      fc.property(siblingSetArb, clockArb, actorArb, (s, ctx, actor) => {
        const r = update(s, ctx, actor, w("new", 9n));
        const kept = s.siblings.filter((x) => !covers(ctx, x.dot)).map((x) => dotKey(x.dot));
        expect(r.set.siblings.map((x) => dotKey(x.dot)).sort()).toEqual([...kept, dotKey(r.dot)].sort());
        // the new dot is fresh: neither the replica nor the client had seen it
        expect(covers(s.clock, r.dot) || covers(ctx, r.dot)).toBe(false);
        expect(covers(r.set.clock, r.dot)).toBe(true);
        expect(checkSet(r.set)).toBeNull();
      }),
    );
  });

  it("replaying or duplicating a replica state never duplicates a sibling", () => {
    fc.assert(
      fc.property(siblingSetArb, siblingSetArb, fc.array(fc.nat(3), { maxLength: 8 }), (a, b, replays) => {
        const once = sync(a, b);
        let s = once;
        for (const r of replays) s = sync(s, [a, b, once, s][r]!); // old states arrive again
        expect(setsEqual(s, once)).toBe(true);
        expect(new Set(s.siblings.map((x) => dotKey(x.dot))).size).toBe(s.siblings.length);
      }),
    );
  });
});

// ---------------------------------------------------------------------------------------
// Model: clients read from a random replica, then write (with the context they read, or
// blind) through a random replica; replicas sync pairwise and receive replays of old states.
// The model tracks, per replica, the set of writes it has seen and each write's causal past;
// the siblings of every replica must be exactly the seen writes no seen write supersedes.

type Op =
  | { kind: "read"; client: number; replica: number }
  | { kind: "write"; client: number; replica: number; blind: boolean; del: boolean }
  | { kind: "sync"; i: number; j: number }
  | { kind: "replay"; i: number; snapshot: number };

const REPLICAS = 3;
const CLIENTS = 3;
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant("read" as const), client: fc.nat(CLIENTS - 1), replica: fc.nat(REPLICAS - 1) }),
  fc.record({
    kind: fc.constant("write" as const),
    client: fc.nat(CLIENTS - 1),
    replica: fc.nat(REPLICAS - 1),
    blind: fc.boolean(),
    del: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
  }),
  fc.record({ kind: fc.constant("sync" as const), i: fc.nat(REPLICAS - 1), j: fc.nat(REPLICAS - 1) }),
  fc.record({ kind: fc.constant("replay" as const), i: fc.nat(REPLICAS - 1), snapshot: fc.nat(1000) }),
);

interface ModelReplica {
  state: SiblingSet;
  seen: Set<number>;
}

function runHistory(ops: readonly Op[]): void {
  const replicas: ModelReplica[] = Array.from({ length: REPLICAS }, () => ({ state: emptySet(), seen: new Set<number>() }));
  const snapshots: ModelReplica[] = [];
  const ctx: Array<{ clock: VClock; seen: Set<number> }> = Array.from({ length: CLIENTS }, () => ({
    clock: emptyClock(),
    seen: new Set<number>(),
  }));
  const past = new Map<number, Set<number>>();
  const dotsIssued = new Set<string>();
  const dotOf = new Map<number, Dot>();
  let nextWrite = 0;
  let time = 0n;

  const live = (seen: Set<number>): Set<number> =>
    new Set([...seen].filter((x) => ![...seen].some((y) => past.get(y)!.has(x))));
  const idOf = (s: SiblingSet): number[] =>
    s.siblings.map((x) => (x.value === null ? Number(x.contentType.slice(4)) : Number(dec.decode(x.value)))).sort((p, q) => p - q);

  const check = (r: ModelReplica): void => {
    expect(checkSet(r.state)).toBeNull();
    const expected = [...live(r.seen)].sort((p, q) => p - q);
    expect(idOf(r.state)).toEqual(expected); // exactly the writes not causally superseded
    // the clock covers exactly the seen writes' dots (no more, no less)
    for (const [id, dot] of dotOf) expect(covers(r.state.clock, dot)).toBe(r.seen.has(id));
  };

  for (const op of ops) {
    switch (op.kind) {
      case "read": {
        const r = replicas[op.replica]!;
        ctx[op.client] = { clock: r.state.clock, seen: new Set(r.seen) };
        break;
      }
      case "write": {
        const r = replicas[op.replica]!;
        const c = op.blind ? { clock: emptyClock(), seen: new Set<number>() } : ctx[op.client]!;
        const id = nextWrite++;
        time += 1n;
        const write: Write = op.del
          ? { value: null, contentType: `del:${id}`, timestamp: time }
          : { value: enc.encode(String(id)), contentType: "text/plain", timestamp: time };
        const res = update(r.state, c.clock, `r${op.replica}`, write);
        expect(dotsIssued.has(dotKey(res.dot))).toBe(false); // no dot issued twice
        dotsIssued.add(dotKey(res.dot));
        dotOf.set(id, res.dot);
        past.set(id, new Set(c.seen));
        r.state = res.set;
        r.seen = new Set([...r.seen, ...c.seen, id]);
        check(r);
        break;
      }
      case "sync": {
        const a = replicas[op.i]!;
        const b = replicas[op.j]!;
        const s = sync(a.state, b.state);
        const seen = new Set([...a.seen, ...b.seen]);
        a.state = s;
        b.state = s;
        a.seen = seen;
        b.seen = new Set(seen);
        check(a);
        break;
      }
      case "replay": {
        if (snapshots.length === 0) break;
        const old = snapshots[op.snapshot % snapshots.length]!;
        const r = replicas[op.i]!;
        r.state = sync(r.state, old.state);
        r.seen = new Set([...r.seen, ...old.seen]);
        check(r);
        break;
      }
    }
    for (const r of replicas) snapshots.push({ state: r.state, seen: new Set(r.seen) });
    if (snapshots.length > 60) snapshots.splice(0, snapshots.length - 60);
  }

  // Heal: everything syncs; all replicas converge to the writes nobody superseded.
  const all = replicas.reduce((acc, r) => sync(acc, r.state), emptySet());
  const allSeen = new Set(replicas.flatMap((r) => [...r.seen]));
  for (const r of replicas) {
    r.state = sync(r.state, all);
    r.seen = allSeen;
    check(r);
    expect(setsEqual(r.state, all)).toBe(true);
  }
  // Sibling count never exceeds the number of mutually concurrent writes.
  const finalLive = [...live(allSeen)];
  for (const x of finalLive) for (const y of finalLive) if (x !== y) expect(past.get(y)!.has(x)).toBe(false);
  expect(all.siblings.length).toBe(finalLive.length);
}

describe("dvvset: model of concurrent writers", () => {
  it("siblings are exactly the writes not causally superseded, at every replica, at every step", () => {
    fc.assert(fc.property(fc.array(opArb, { maxLength: 40 }), (ops) => runHistory(ops)), { numRuns: 300 });
  });

  it("a sequential reader-writer never makes siblings", () => {
    const ops: Op[] = [];
    for (let k = 0; k < 10; k++) {
      ops.push({ kind: "read", client: 0, replica: k % REPLICAS });
      ops.push({ kind: "write", client: 0, replica: (k + 1) % REPLICAS, blind: false, del: false });
      ops.push({ kind: "sync", i: 0, j: 1 }, { kind: "sync", i: 1, j: 2 }, { kind: "sync", i: 0, j: 1 });
    }
    runHistory(ops);
  });
});

describe("compareSiblingContent on values", () => {
  // A plain byte-by-byte reference order (null first, then bytes, then length).
  const reference = (a: Uint8Array | null, b: Uint8Array | null): number => {
    if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1;
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return a.length - b.length;
  };
  const sib = (value: Uint8Array | null) => ({ dot: { actor: "a", counter: 1 }, value, contentType: "t", timestamp: 1n });
  it("orders long values (shared prefixes, any offset into a buffer) as the bytes do", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.uint8Array({ maxLength: 40 }), fc.uint8Array({ maxLength: 40 }), fc.constantFrom(0, 4, 1, 3), fc.constantFrom(0, 4, 2), (prefix, x, y, ox, oy) => {
        const at = (offset: number, tail: Uint8Array): Uint8Array => {
          const buf = new Uint8Array(offset + prefix.length + tail.length);
          buf.set(prefix, offset);
          buf.set(tail, offset + prefix.length);
          return buf.subarray(offset);
        };
        if (prefix.length < 32) prefix = new Uint8Array(32 + prefix.length).fill(7);
        const a = at(ox, x);
        const b = at(oy, y);
        expect(Math.sign(compareSiblingContent(sib(a), sib(b)))).toBe(Math.sign(reference(a, b)));
        expect(compareSiblingContent(sib(a), sib(a.slice()))).toBe(0);
      }),
    );
    expect(compareSiblingContent(sib(null), sib(bytes1(1)))).toBeLessThan(0);
  });
  const bytes1 = (n: number): Uint8Array => new Uint8Array(n);
});
