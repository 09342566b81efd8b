// Checker 1: no acknowledged write is lost. An acknowledged put whose dot no primary holds at
// the end is a violation, unless a causally later write (acknowledged or of unknown outcome)
// was sent with a context that covers its dot: that write replaced it (Dynamo §4.4, dvvset).
// Tombstones are not checked here: an acknowledged delete may be reaped.
import { covers, dotKey, valueText } from "../history.ts";
import type { HistoryOp } from "../history.ts";
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

export function checkLostWrites(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  const writesByKey = new Map<string, HistoryOp[]>();
  for (const op of run.history) {
    if (op.kind === "get" || op.outcome === "failed" || op.outcome === "pending") continue;
    const list = writesByKey.get(op.key) ?? [];
    list.push(op);
    writesByKey.set(op.key, list);
  }
  for (const [key, writes] of writesByKey) {
    const present = new Set<string>();
    for (const node of run.primariesOf(key)) {
      const set = run.final.get(node)?.get(key);
      if (set === undefined) continue;
      for (const s of set.siblings) present.add(`${dotKey(s.dot)} ${valueText(s.value)}`);
    }
    for (const a of writes) {
      if (a.kind !== "put" || a.outcome !== "ok" || a.dot === null) continue;
      if (present.has(`${dotKey(a.dot)} ${a.value}`)) continue;
      const dot = a.dot;
      const replacedBy = writes.find((b) => b !== a && covers(b.context, dot));
      if (replacedBy !== undefined) continue;
      out.push({
        property: "lost-write",
        detail: `acknowledged write ${JSON.stringify(a.value)} (dot ${dotKey(a.dot)}, op ${a.id} at ${a.node}) of key ${key} is on no primary (${run.primariesOf(key).join(",")}) and no later write's context covers it`,
      });
      if (out.length >= DETAILS_MAX) return out;
    }
  }
  return out;
}
