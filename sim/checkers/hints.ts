// Checker 8: hints drain. At the end of the quiet period no node still holds a hint (an
// object kept for a down primary, sloppy quorum) whose target is up: hinted handoff must have
// delivered it. Hints for a node that is down at the end may stay. Nor does any node hold a
// plain object of a key it is not a primary of (the oracle's preference lists): a fallback
// keeps what it holds for others only as hints, so a stray object is a copy that never drains.
// And a hint is deleted only once its target knows everything it held: at the moment of each
// hint deletion (sim/hint-deletes.ts) the target's stored clock covers the hint's clock (the
// oracle's own comparison, sim/oracle/sets.ts), unless the target lost stored data or had a
// record flipped shortly before (its copy may then lack what it once acknowledged) or the
// hint's own record was corrupt (discarded: its values reach the primary from the replicas).
// A target that is no longer a primary of the key keeps what it is handed as hints for the new
// primaries: a dot counts as known when its object or one of those hints knows it.
// A hint for a target that departed for good (it left the cluster; the run's membership record)
// can never be delivered: it may also be deleted once the deleting node's own stored object for
// the key covers it (the node adopted it; the shed then hands it on if it is no primary).
import { clockNotCovered } from "../oracle/sets.ts";
import type { SiblingSet } from "../../src/core/versioning/types.ts";
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

/** A target that lost stored data or had a record flipped this long before a hint deletion is not judged. */
export const HINT_DELETE_EXCUSE_MS = 10_000;

export function checkHintsDrained(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  const add = (detail: string): boolean => {
    out.push({ property: "hints-drain", detail });
    return out.length >= DETAILS_MAX;
  };
  const byNode = <T>(m: ReadonlyMap<string, T>): [string, T][] => [...m].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  if (run.hintsAtEnd !== undefined && run.upAtEnd !== undefined) {
    for (const [node, hints] of byNode(run.hintsAtEnd)) {
      if (!run.upAtEnd.has(node)) continue;
      for (const h of hints) {
        if (!run.upAtEnd.has(h.target)) continue;
        if (add(`${node} still holds a hint of key ${h.key} for ${h.target}, which is up, at the end of the quiet period`)) return out;
      }
    }
  }
  for (const detail of hintsDroppedEarly(run)) if (add(detail)) return out;
  for (const [node, objects] of byNode(run.final)) {
    for (const key of objects.keys()) {
      const primaries = run.primariesOf(key);
      if (primaries.includes(node)) continue;
      if (add(`${node} holds a plain object of key ${key}, of which it is not a primary (${primaries.join(",")}): a stray copy, not a hint`)) return out;
    }
  }
  return out;
}

/** The hint's clock entries that none of the target's copies of the key (its object, its own hints) covers. */
function unknownToTarget(hint: SiblingSet, object: SiblingSet | null, hinted: readonly SiblingSet[]): string[] {
  let unknown = clockNotCovered(object, hint);
  for (const copy of hinted) {
    if (unknown.length === 0) break;
    const notHere = new Set(clockNotCovered(copy, hint));
    unknown = unknown.filter((entry) => notHere.has(entry));
  }
  return unknown;
}

/** Hint deletions whose target did not know everything the hint held. */
function hintsDroppedEarly(run: RunRecord): string[] {
  const out: string[] = [];
  const at = (ms: number): string => `+${Math.round(ms - (run.startMs ?? 0))} ms`;
  const lostNear = (node: string, ms: number): boolean =>
    (run.wipes?.get(node) ?? []).some((t) => t <= ms && t >= ms - HINT_DELETE_EXCUSE_MS) ||
    (run.flips?.get(node) ?? []).some((f) => f.atMs <= ms && f.atMs >= ms - HINT_DELETE_EXCUSE_MS);
  const departed = new Set(run.membership?.departed ?? []);
  for (const d of run.hintDeletes ?? []) {
    if (d.hint === null || lostNear(d.target, d.atMs)) continue;
    const unknown = unknownToTarget(d.hint, d.targetHeld, d.targetHinted ?? []);
    if (unknown.length === 0) continue;
    if (departed.has(d.target) && d.holderHeld !== undefined && clockNotCovered(d.holderHeld, d.hint).length === 0) continue;
    out.push(`${d.node} deleted its hint of key ${d.key} for ${d.target} at ${at(d.atMs)} while ${d.target}'s copy did not know [${unknown.join(",")}] of it (a copy dropped before it was handed off)`);
    if (out.length >= DETAILS_MAX) break;
  }
  return out;
}
