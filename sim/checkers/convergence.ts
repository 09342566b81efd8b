// Checker 5: after the heal, all primaries of every key converge. It runs at the end of the
// quiet period, so the documented bound is: heal + healed phase + quiet period (the swarm's
// defaults: every replica equal at most 3 s + 60 s = 63 s of simulated time after the heal,
// i.e. about 30 anti-entropy rounds per node at the swarm's 2 s interval).
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
    out.push({ property: "convergence", detail: `key ${key} did not converge: ${primaries.map((p, i) => `${p}=${show(sets[i])}`).join(" ")}` });
    if (out.length >= DETAILS_MAX) return out;
  }
  return out;
}
