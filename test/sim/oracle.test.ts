// The oracle's models checked against the implementation they must agree with on a correct
// system (these tests may call the code under test; the checkers never do):
// - sim/oracle/causality.ts: on random single-key histories run through real dvvsets (two
//   replicas, writes at either by actors of that replica, syncs between them, reads from
//   either), what the model says
//   a write's context covers is exactly the set of writes whose dots the dvvset clock it was
//   sent with covers, and "superseded" is exactly "gone from the merged final set".
// - sim/oracle/preference.ts: the same primaries and fallbacks as src/core/ring.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { writeAnswer } from "../../src/api/write-answer.ts";
import { createRing, partitionOf, preferenceList } from "../../src/core/ring/index.ts";
import type { SiblingSet } from "../../src/core/versioning/types.ts";
import { covers, emptyClock, emptySet, liveSiblings, sync, update } from "../../src/core/versioning/index.ts";
import type { HistoryOp } from "../../sim/history.ts";
import { CausalModel, keyPartition, preferenceOf } from "../../sim/oracle/index.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();

type Step = { kind: "put" | "del" | "read" | "sync"; at: number; actor: number; from: number };

const stepArb: fc.Arbitrary<Step> = fc.record({
  kind: fc.constantFrom<Step["kind"]>("put", "put", "put", "del", "read", "read", "sync"),
  at: fc.integer({ min: 0, max: 1 }),
  actor: fc.integer({ min: 0, max: 2 }),
  from: fc.integer({ min: -3, max: 40 }),
});

/** Runs the steps on two dvvset replicas; returns the history (as the workload records it) and the final merged set. */
function play(steps: readonly Step[]): { history: HistoryOp[]; final: SiblingSet } {
  const replicas: SiblingSet[] = [emptySet(), emptySet()];
  const history: HistoryOp[] = [];
  const answers: HistoryOp[] = [];
  const base = (kind: HistoryOp["kind"], writeId: string | null, from: HistoryOp | null): HistoryOp => ({
    id: history.length,
    client: 0,
    node: "n1",
    kind,
    key: "k",
    value: kind === "put" ? writeId : null,
    writeId,
    contextFrom: from?.id ?? null,
    context: from?.answerContext ?? null,
    invokedAtMs: history.length,
    completedAtMs: history.length,
    outcome: "ok",
    dot: null,
    readSet: null,
    shown: null,
    shownTombstones: null,
    answerContext: null,
    replicas: null,
    error: null,
  });
  for (const st of steps) {
    if (st.kind === "sync") {
      const merged = sync(replicas[0]!, replicas[1]!);
      replicas[0] = merged;
      replicas[1] = merged;
      continue;
    }
    const set = replicas[st.at]!;
    if (st.kind === "read") {
      const op = base("get", null, null);
      op.shown = liveSiblings(set).map((s) => dec.decode(s.value!));
      op.shownTombstones = set.siblings.filter((s) => s.value === null).map((s) => s.dot);
      op.answerContext = set.clock.size > 0 ? set.clock : null;
      history.push(op);
      answers.push(op);
      continue;
    }
    const from = st.from >= 0 && st.from < answers.length ? answers[st.from]! : null;
    const id = `w${history.length}`;
    const op = base(st.kind === "put" ? "put" : "delete", id, from?.answerContext ? from : null);
    const written = update(set, op.context ?? emptyClock(), `r${st.at}.${st.actor}`, { value: st.kind === "put" ? enc.encode(id) : null, contentType: "text/plain", timestamp: BigInt(history.length) });
    replicas[st.at] = written.set;
    op.dot = written.dot;
    const answer = writeAnswer({ ok: true, type: op.kind as "put" | "delete", set: written.set, dot: written.dot, replicas: ["n1"] });
    op.shown = answer.shown.filter((s) => s.value !== null).map((s) => dec.decode(s.value!));
    op.shownTombstones = answer.shown.filter((s) => s.value === null).map((s) => s.dot);
    op.answerContext = answer.clock;
    history.push(op);
    answers.push(op);
  }
  return { history, final: sync(replicas[0]!, replicas[1]!) };
}

describe("the oracle's causality model agrees with dvvset on random histories", () => {
  it("a write's modelled past is exactly the writes its context's clock covers; superseded is exactly gone", () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 1, maxLength: 40 }), (steps) => {
        const { history, final } = play(steps);
        const model = new CausalModel(history);
        const writes = history.filter((op) => op.kind !== "get");
        for (const w of writes) {
          const past = model.pastOf(w);
          expect(past.maybe.size).toBe(0);
          const byClock = writes.filter((x) => x !== w && w.context !== null && covers(w.context, x.dot!)).map((x) => x.writeId!);
          expect([...past.sure].sort()).toEqual(byClock.sort());
        }
        const present = new Set(liveSiblings(final).map((s) => dec.decode(s.value!)));
        for (const w of writes) {
          if (w.kind !== "put") continue;
          expect(model.superseded(w.writeId!) === "yes").toBe(!present.has(w.writeId!));
        }
      }),
      { numRuns: 300, seed: 7 },
    );
  });

  it("disagrees with a system whose write answers cover unseen siblings (the old context + dot answer)", () => {
    // One actor: blind a, blind b; reusing b's answer as "context + dot" covers a unseen.
    const { history, final } = play([
      { kind: "put", at: 0, actor: 0, from: -1 },
      { kind: "put", at: 0, actor: 0, from: -1 },
    ]);
    const b = history[1]!;
    expect(b.answerContext).toBeNull(); // today's answer: no clock when siblings remain
    b.shown = ["w1"]; // what the old 200 answer showed...
    b.answerContext = final.clock; // ...with a clock covering both
    const model = new CausalModel(history);
    expect(model.superseded("w0")).toBe("no");
    expect(covers(b.answerContext, history[0]!.dot!)).toBe(true);
  });
});

describe("the oracle's preference lists agree with src/core/ring", () => {
  it("same partition, primaries and fallbacks for random members, n and keys", () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 5 }), fc.constantFrom(8, 16, 64), fc.string({ minLength: 1, maxLength: 12 }), (size, n, partitions, key) => {
        const members = Array.from({ length: size }, (_, i) => `n${i + 1}`);
        const ring = createRing(members, partitions);
        expect(keyPartition(key, partitions)).toBe(partitionOf(key, partitions));
        const mine = preferenceOf(ring.owners, n, key);
        const theirs = preferenceList(ring, partitionOf(key, partitions), n);
        expect(mine.primaries).toEqual(theirs.primaries);
        expect(mine.fallbacks).toEqual(theirs.fallbacks);
      }),
      { numRuns: 300, seed: 11 },
    );
  });
});

describe("the oracle's convergence bound", () => {
  it("uses the node's anti-entropy pacing constant and counts pairs from the preference lists", async () => {
    const core = await import("../../src/core/replica/ae-exchange.ts");
    const { AE_PAIRS_PER_ROUND, maxAntiEntropyPairs, convergenceBoundMs } = await import("../../sim/oracle/index.ts");
    expect(AE_PAIRS_PER_ROUND).toBe(core.AE_PAIRS_PER_ROUND);
    // 3 nodes, N=3: every node is a primary of all 16 partitions, with 2 peers each.
    const owners = createRing(["n1", "n2", "n3"], 16).owners;
    expect(maxAntiEntropyPairs(owners, 3)).toBe(32);
    const t = { antiEntropyIntervalMs: 2000, suspectAfterMs: 800, heartbeatIntervalMs: 200, handoffIntervalMs: 1000, requestTimeoutMs: 2000 };
    expect(convergenceBoundMs(owners, 3, t)).toBe((32 / 8 + 1) * 2000 + 800 + 200 + 1000 + 2000);
  });
});
