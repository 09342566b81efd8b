// The oracle's own reading of stored sibling sets (decoded data, never the versioning code
// under test): when two copies hold the same thing, and what a copy knows. A copy "knows" the
// dots of its siblings and, per actor, the highest counter of its clock; knowledge only grows
// by merging (a sync keeps the join of both clocks), so what a replica knew at one time is
// still known later unless something removed it (a wipe, a lost write, a reaped key).
import type { SiblingSet } from "../../src/core/versioning/types.ts";
import { dotKey, valueText } from "../history.ts";

/** Absent or tombstones only: nothing to read (reaping removes tombstones one replica at a time). */
export function isEmptySet(set: SiblingSet | null | undefined): boolean {
  return set === null || set === undefined || set.siblings.every((s) => s.value === null);
}

/** Equal siblings (dot, value) and equal clock entries. */
export function sameSet(a: SiblingSet, b: SiblingSet): boolean {
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

/** Same content, counting absent and tombstone-only as the same (as the convergence checker does). */
export function sameContent(a: SiblingSet | null, b: SiblingSet | null): boolean {
  if (isEmptySet(a) && isEmptySet(b)) return true;
  if (a === null || b === null) return false;
  return sameSet(a, b);
}

/** Highest counter per actor of a copy's clock (empty for an absent copy). */
export function clockCounters(set: SiblingSet | null): Map<string, number> {
  const out = new Map<string, number>();
  for (const [actor, e] of set?.clock ?? []) out.set(actor, e.counter);
  return out;
}

/** Sibling dot -> value text ("(tombstone)" for a delete). */
export function siblingsByDot(set: SiblingSet | null): Map<string, string> {
  const out = new Map<string, string>();
  for (const s of set?.siblings ?? []) out.set(dotKey(s.dot), valueText(s.value) ?? "(tombstone)");
  return out;
}

/** Actors whose counter in `from` exceeds the one in `into`: what `into` does not know of `from`'s clock. */
export function clockNotCovered(into: SiblingSet | null, from: SiblingSet | null): string[] {
  const mine = clockCounters(into);
  const out: string[] = [];
  for (const [actor, c] of clockCounters(from)) if ((mine.get(actor) ?? 0) < c) out.push(`${actor}:${c}`);
  return out;
}

/** Whether a copy holds something neither begin copy had: a sibling dot, or a clock counter beyond both. */
export function holdsNewerThan(set: SiblingSet | null, a: SiblingSet | null, b: SiblingSet | null): boolean {
  const dots = new Set([...siblingsByDot(a).keys(), ...siblingsByDot(b).keys()]);
  for (const d of siblingsByDot(set).keys()) if (!dots.has(d)) return true;
  const ca = clockCounters(a);
  const cb = clockCounters(b);
  for (const [actor, c] of clockCounters(set)) if (c > Math.max(ca.get(actor) ?? 0, cb.get(actor) ?? 0)) return true;
  return false;
}

/** Whether two copies hold one dot with different values (a dot issued twice: no merge can reconcile it). */
export function dotConflict(a: SiblingSet | null, b: SiblingSet | null): boolean {
  const mb = siblingsByDot(b);
  for (const [d, v] of siblingsByDot(a)) if (mb.has(d) && mb.get(d) !== v) return true;
  return false;
}

export function showSet(set: SiblingSet | null | undefined): string {
  if (set === null || set === undefined) return "absent";
  return `{${set.siblings.map((s) => dotKey(s.dot) + (s.value === null ? "(tombstone)" : "")).join(", ")}}`;
}
