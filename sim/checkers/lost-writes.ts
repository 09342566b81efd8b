// Checker 1: no acknowledged write is lost. An acknowledged put whose value (with the dot it
// was acknowledged with) no primary holds at the end is a violation, unless the oracle's
// causal model (sim/oracle: causality from what clients were shown, not from the system's
// clocks) says a later write superseded it, surely or possibly (an unknown-outcome write).
// Tombstones are not checked here: an acknowledged delete may be reaped.
import { dotKey, valueText } from "../history.ts";
import { causalModelOf } from "../oracle/index.ts";
import { writeIdOfValue } from "../workload.ts";
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

export function checkLostWrites(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  const model = causalModelOf(run.history);
  const presentByKey = new Map<string, Set<string>>();
  const present = (key: string): Set<string> => {
    let set = presentByKey.get(key);
    if (set !== undefined) return set;
    set = new Set();
    for (const node of run.primariesOf(key)) {
      for (const s of run.final.get(node)?.get(key)?.siblings ?? []) {
        const text = valueText(s.value);
        if (text !== null) set.add(`${dotKey(s.dot)} ${writeIdOfValue(text)}`);
      }
    }
    presentByKey.set(key, set);
    return set;
  };
  for (const a of run.history) {
    if (a.kind !== "put" || a.outcome !== "ok" || a.dot === null || a.writeId === null) continue;
    if (present(a.key).has(`${dotKey(a.dot)} ${a.writeId}`)) continue;
    if (model.superseded(a.writeId) !== "no") continue;
    out.push({
      property: "lost-write",
      detail: `acknowledged write ${a.writeId} (dot ${dotKey(a.dot)}, op ${a.id} at ${a.node}) of key ${a.key} is on no primary (${run.primariesOf(a.key).join(",")}) and no later write was sent with a context that had shown it`,
    });
    if (out.length >= DETAILS_MAX) return out;
  }
  return out;
}
