// Checker 2: after heal and quiet, each key's sibling set on each primary is exactly what the
// oracle's causal model (sim/oracle) allows: every live value was written to that key by a
// write that did not definitely fail, carries the dot its write was acknowledged with (no dot
// twice), and is not causally superseded; and every acknowledged put the model says nothing
// superseded (not even possibly) is there. Unknown-outcome writes may be present or absent.
// Tombstones: of a delete of this key, never on an acknowledged put's dot, and not one the
// model says an acknowledged write superseded.
import { dotKey, valueText } from "../history.ts";
import type { HistoryOp } from "../history.ts";
import { causalModelOf } from "../oracle/index.ts";
import { writeIdOfValue } from "../workload.ts";
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

export function checkFinalSiblings(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  const model = causalModelOf(run.history);
  const byDot = new Map<string, HistoryOp>();
  const required = new Map<string, HistoryOp[]>();
  const deleted = new Set<string>();
  for (const op of run.history) {
    if (op.kind === "get" || op.writeId === null) continue;
    if (op.dot !== null) byDot.set(`${op.key} ${dotKey(op.dot)}`, op);
    if (op.kind === "delete" && op.outcome !== "failed") deleted.add(op.key);
    if (op.kind === "put" && op.outcome === "ok" && model.superseded(op.writeId) === "no") required.set(op.key, [...(required.get(op.key) ?? []), op]);
  }
  const add = (detail: string): boolean => {
    out.push({ property: "final-siblings", detail });
    return out.length >= DETAILS_MAX;
  };
  const keys = new Set<string>(required.keys());
  for (const objects of run.final.values()) for (const k of objects.keys()) keys.add(k);
  for (const key of [...keys].sort()) {
    for (const node of run.primariesOf(key)) {
      const set = run.final.get(node)?.get(key);
      const where = `key ${key} on ${node}`;
      const liveIds = new Set<string>();
      const seen = new Set<string>();
      for (const s of set?.siblings ?? []) {
        const dk = dotKey(s.dot);
        if (seen.has(dk)) {
          if (add(`${where}: dot ${dk} appears twice in one sibling set`)) return out;
          continue;
        }
        seen.add(dk);
        const text = valueText(s.value);
        if (text !== null) {
          const id = writeIdOfValue(text);
          liveIds.add(id);
          const writer = model.writer(id);
          if (writer === undefined || writer.key !== key || writer.value !== text) {
            if (add(`${where}: value ${JSON.stringify(text.slice(0, 60))} was never written to this key`)) return out;
            continue;
          }
          if (writer.outcome === "failed") {
            if (add(`${where}: value ${id} of a write that definitely failed (${writer.error}) is present`)) return out;
            continue;
          }
          if (writer.dot !== null && dotKey(writer.dot) !== dk) {
            if (add(`${where}: value ${id} carries dot ${dk} but its write was acknowledged with dot ${dotKey(writer.dot)}`)) return out;
            continue;
          }
          if (model.superseded(id) === "yes") {
            if (add(`${where}: value ${id} (dot ${dk}) is present although an acknowledged write was sent with a context that had shown it`)) return out;
          }
          continue;
        }
        const writer = byDot.get(`${key} ${dk}`);
        if (writer !== undefined && writer.kind !== "delete") {
          if (add(`${where}: tombstone with dot ${dk}, but that dot was acknowledged for the put ${writer.writeId}`)) return out;
          continue;
        }
        if (writer === undefined && !deleted.has(key)) {
          if (add(`${where}: tombstone with dot ${dk} but no delete of this key was ever sent`)) return out;
          continue;
        }
        if (writer !== undefined && model.superseded(writer.writeId!) === "yes") {
          if (add(`${where}: tombstone of ${writer.writeId} (dot ${dk}) is present although an acknowledged write was sent with a context that had shown it`)) return out;
        }
      }
      for (const a of required.get(key) ?? []) {
        if (liveIds.has(a.writeId!)) continue;
        if (add(`${where}: acknowledged write ${a.writeId} (op ${a.id}), superseded by no write, is missing (holds ${set === undefined ? "nothing" : `${set.siblings.length} siblings`})`)) return out;
      }
    }
  }
  return out;
}
