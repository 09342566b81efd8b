// Checker 2: the final sibling set of each key on each primary holds only what may be there:
// values that were written (ok or unknown outcome; never a write that definitely failed),
// each with the dot its write was acknowledged with, no dot twice, and nothing whose dot an
// acknowledged write's context covers (superseded or resurrected values). Tombstones are held
// to the same rules; a tombstone of an unknown-outcome delete is allowed.
import { covers, dotKey, valueText } from "../history.ts";
import type { HistoryOp } from "../history.ts";
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

export function checkFinalSiblings(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  const byValue = new Map<string, HistoryOp>();
  const byDot = new Map<string, HistoryOp>();
  const acked = new Map<string, HistoryOp[]>();
  const deletes = new Map<string, HistoryOp[]>();
  for (const op of run.history) {
    if (op.kind === "get") continue;
    if (op.value !== null) byValue.set(op.value, op);
    if (op.dot !== null) byDot.set(`${op.key} ${dotKey(op.dot)}`, op);
    if (op.outcome === "ok") acked.set(op.key, [...(acked.get(op.key) ?? []), op]);
    if (op.kind === "delete" && op.outcome !== "failed") deletes.set(op.key, [...(deletes.get(op.key) ?? []), op]);
  }
  const add = (detail: string): boolean => {
    out.push({ property: "final-siblings", detail });
    return out.length >= DETAILS_MAX;
  };
  const keys = new Set<string>();
  for (const objects of run.final.values()) for (const k of objects.keys()) keys.add(k);
  for (const key of [...keys].sort()) {
    for (const node of run.primariesOf(key)) {
      const set = run.final.get(node)?.get(key);
      if (set === undefined) continue;
      const seen = new Set<string>();
      for (const s of set.siblings) {
        const dk = dotKey(s.dot);
        const where = `key ${key} on ${node}`;
        if (seen.has(dk)) {
          if (add(`${where}: dot ${dk} appears twice in one sibling set`)) return out;
          continue;
        }
        seen.add(dk);
        const text = valueText(s.value);
        let writer: HistoryOp | undefined;
        if (text !== null) {
          writer = byValue.get(text);
          if (writer === undefined || writer.key !== key) {
            if (add(`${where}: value ${JSON.stringify(text)} was never written to this key`)) return out;
            continue;
          }
          if (writer.outcome === "failed") {
            if (add(`${where}: value ${JSON.stringify(text)} of a write that definitely failed (${writer.error}) is present`)) return out;
            continue;
          }
          if (writer.dot !== null && dotKey(writer.dot) !== dk) {
            if (add(`${where}: value ${JSON.stringify(text)} carries dot ${dk} but its write was acknowledged with dot ${dotKey(writer.dot)}`)) return out;
            continue;
          }
        } else {
          writer = byDot.get(`${key} ${dk}`);
          if (writer !== undefined && writer.kind !== "delete") {
            if (add(`${where}: tombstone with dot ${dk}, but that dot was acknowledged for the put ${JSON.stringify(writer.value)}`)) return out;
            continue;
          }
          if (writer === undefined && (deletes.get(key) ?? []).length === 0) {
            if (add(`${where}: tombstone with dot ${dk} but no delete of this key was ever sent`)) return out;
            continue;
          }
        }
        const dot = s.dot;
        const superseder = (acked.get(key) ?? []).find((b) => b !== writer && covers(b.context, dot));
        if (superseder !== undefined) {
          const what = text === null ? `tombstone ${dk}` : `value ${JSON.stringify(text)} (dot ${dk})`;
          if (add(`${where}: ${what} is present although the acknowledged write op ${superseder.id} (${superseder.kind} ${JSON.stringify(superseder.value)}) had a context covering it`)) return out;
        }
      }
    }
  }
  return out;
}
