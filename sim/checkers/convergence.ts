// Checker 5: after the heal, all primaries of every key converge within the bound the config
// implies (sim/oracle/bounds.ts: from the partitions, N and the anti-entropy interval). The
// swarm's clients never read after the heal (they keep writing and deleting for the healed
// phase, then stop), so read repair cannot hide slow anti-entropy; its quiet period after the
// last write is at least that bound, and the checker runs at its end.
// A key that is absent on a primary and tombstone-only on another counts as converged:
// reaping removes tombstones one replica at a time.
import { isEmptySet as isEmpty, sameSet, showSet as show } from "../oracle/sets.ts";
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

export function checkConvergence(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  const keys = new Set<string>();
  for (const op of run.history) if (op.kind !== "get") keys.add(op.key);
  for (const objects of run.final.values()) for (const k of objects.keys()) keys.add(k);
  for (const key of [...keys].sort()) {
    const primaries = run.primariesOf(key);
    const sets = primaries.map((p) => run.final.get(p)?.get(key));
    const first = sets[0];
    const diverged = sets.some((s) => {
      if (isEmpty(s) && isEmpty(first)) return false;
      if (s === undefined || first === undefined) return true;
      return !sameSet(s, first);
    });
    if (!diverged) continue;
    const within = run.convergence ? ` within ${run.convergence.quietMs} ms of quiet (${Number.isFinite(run.convergence.boundMs) ? `bound ${run.convergence.boundMs} ms` : "anti-entropy off: no bound"}${run.convergence.readsAfterHeal ? ", reads after the heal" : ", no reads after the heal"})` : "";
    out.push({ property: "convergence", detail: `key ${key} did not converge${within}: ${primaries.map((p, i) => `${p}=${show(sets[i])}`).join(" ")}` });
    if (out.length >= DETAILS_MAX) return out;
  }
  return out;
}
