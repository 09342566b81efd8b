// Checker 5: after the heal, all primaries of every key converge within the bound the config
// implies (sim/oracle/bounds.ts: from the partitions, N and the anti-entropy interval). The
// swarm's clients never read after the heal (they keep writing and deleting for the healed
// phase, then stop), so read repair cannot hide slow anti-entropy; its quiet period after the
// last write is at least that bound, and the checker runs at its end.
// A key that is absent on a primary and tombstone-only on another counts as converged:
// reaping removes tombstones one replica at a time.
import type { SiblingSet } from "../../src/core/versioning/types.ts";
import { dotKey, valueText } from "../history.ts";
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

function isEmpty(set: SiblingSet | undefined): boolean {
  return set === undefined || set.siblings.every((s) => s.value === null);
}

/** Equal siblings (dot, value) and equal clock entries: compared here, not by the code under test. */
function sameSet(a: SiblingSet, b: SiblingSet): boolean {
  const sib = (s: SiblingSet): string =>
    s.siblings
      .map((x) => `${dotKey(x.dot)}=${valueText(x.value) ?? "(tombstone)"}`)
      .sort()
      .join("\n");
  const clk = (s: SiblingSet): string =>
    [...s.clock]
      .map(([actor, e]) => `${actor}:${e.counter}`)
      .sort()
      .join(",");
  return sib(a) === sib(b) && clk(a) === clk(b);
}

function show(set: SiblingSet | undefined): string {
  if (set === undefined) return "absent";
  return `{${set.siblings.map((s) => dotKey(s.dot) + (s.value === null ? "(tombstone)" : "")).join(", ")}}`;
}

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
