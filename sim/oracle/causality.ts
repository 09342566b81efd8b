// The oracle's causality model: which writes a write causally supersedes, decided from what
// the clients were shown, never from the clocks the system hands out.
//
// - Every write has a unique write id (HistoryOp.writeId). An answer (a read's, or a write's:
//   src/api/write-answer.ts) shows the client the write ids of its live siblings; the context
//   it hands back is taken to cover exactly what was shown plus, transitively, the causal past
//   of everything shown. A write answer also covers the write itself.
// - A write sent with a context covers what the answer it came from covers (contextFrom).
//   A blind write covers nothing.
// - Tombstones carry no value. A tombstone in an answer is identified by identity only: the
//   acknowledged delete of that key that was answered with that dot. Otherwise it may stem
//   from any not-failed, unacknowledged delete of the key invoked before the answer: those
//   candidates (with their pasts) go into the answer's "maybe" coverage. The dot is used as a
//   name, never compared as a clock.
// - A write x is superseded "yes" if an acknowledged write's sure past holds it, "maybe" if
//   only unknown-outcome writes (or maybe-coverage) hold it, else "no".
import type { Dot } from "../../src/core/versioning/types.ts";
import type { HistoryOp } from "../history.ts";

export type Superseded = "no" | "maybe" | "yes";

export interface Coverage {
  readonly sure: ReadonlySet<string>;
  readonly maybe: ReadonlySet<string>;
}

const EMPTY: Coverage = { sure: new Set(), maybe: new Set() };

function sameDot(a: Dot, b: Dot): boolean {
  return a.actor === b.actor && a.counter === b.counter;
}

export class CausalModel {
  private readonly writes = new Map<string, HistoryOp>();
  private readonly deletesByKey = new Map<string, HistoryOp[]>();
  private readonly coverage = new Map<number, Coverage>();
  private readonly inProgress = new Set<number>();
  private readonly level = new Map<string, Superseded>();
  private readonly superseders = new Map<string, HistoryOp[]>();

  constructor(private readonly history: readonly HistoryOp[]) {
    for (const op of history) {
      if (op.kind === "get" || op.writeId === null) continue;
      this.writes.set(op.writeId, op);
      if (op.kind === "delete") this.deletesByKey.set(op.key, [...(this.deletesByKey.get(op.key) ?? []), op]);
    }
    for (const op of history) {
      if (op.kind === "get" || op.outcome === "failed") continue;
      const past = this.pastOf(op);
      const sureLevel: Superseded = op.outcome === "ok" ? "yes" : "maybe";
      for (const id of past.sure) this.raise(id, sureLevel, op);
      for (const id of past.maybe) this.raise(id, "maybe", op);
    }
  }

  private raise(id: string, to: Superseded, by: HistoryOp): void {
    const list = this.superseders.get(id);
    if (list === undefined) this.superseders.set(id, [by]);
    else list.push(by);
    const now = this.level.get(id);
    if (now === "yes" || now === to) return;
    this.level.set(id, to);
  }

  /** The write with this id, or undefined. */
  writer(writeId: string): HistoryOp | undefined {
    return this.writes.get(writeId);
  }

  superseded(writeId: string): Superseded {
    return this.level.get(writeId) ?? "no";
  }

  /** The not-failed writes whose context covers (surely or possibly) this write. */
  supersedersOf(writeId: string): readonly HistoryOp[] {
    return this.superseders.get(writeId) ?? [];
  }

  /** What a write's context covers (its causal past, itself excluded). */
  pastOf(op: HistoryOp): Coverage {
    if (op.contextFrom === null) return EMPTY;
    const from = this.history[op.contextFrom];
    return from === undefined ? EMPTY : this.coveredBy(from);
  }

  /** The deletes a tombstone (shown by `answer`) may stem from: sure (identified) or candidates. */
  tombstoneWriters(key: string, dot: Dot, answer: HistoryOp): { sure: HistoryOp | null; maybe: HistoryOp[] } {
    const deletes = this.deletesByKey.get(key) ?? [];
    const acked = deletes.find((d) => d.outcome === "ok" && d.dot !== null && sameDot(d.dot, dot));
    if (acked !== undefined) return { sure: acked, maybe: [] };
    const until = answer.completedAtMs ?? Infinity;
    return { sure: null, maybe: deletes.filter((d) => d.outcome !== "failed" && d.outcome !== "ok" && d.invokedAtMs <= until) };
  }

  /** What the context an answer handed back covers. */
  coveredBy(answer: HistoryOp): Coverage {
    const memo = this.coverage.get(answer.id);
    if (memo !== undefined) return memo;
    if (answer.outcome !== "ok" || this.inProgress.has(answer.id)) return EMPTY;
    this.inProgress.add(answer.id);
    const sure = new Set<string>();
    const maybe = new Set<string>();
    const addSure = (w: HistoryOp): void => {
      sure.add(w.writeId!);
      const past = this.pastOf(w);
      for (const id of past.sure) sure.add(id);
      for (const id of past.maybe) maybe.add(id);
    };
    const addMaybe = (w: HistoryOp): void => {
      maybe.add(w.writeId!);
      const past = this.pastOf(w);
      for (const id of past.sure) maybe.add(id);
      for (const id of past.maybe) maybe.add(id);
    };
    if (answer.kind !== "get") addSure(answer);
    for (const id of answer.shown ?? []) {
      const w = this.writes.get(id);
      if (w !== undefined && w.key === answer.key) addSure(w);
    }
    for (const dot of answer.shownTombstones ?? []) {
      const t = this.tombstoneWriters(answer.key, dot, answer);
      if (t.sure !== null) addSure(t.sure);
      for (const d of t.maybe) addMaybe(d);
    }
    for (const id of sure) maybe.delete(id);
    const out: Coverage = { sure, maybe };
    this.inProgress.delete(answer.id);
    this.coverage.set(answer.id, out);
    return out;
  }
}
