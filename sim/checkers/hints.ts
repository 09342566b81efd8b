// Checker 8: hints drain. At the end of the quiet period no node still holds a hint (an
// object kept for a down primary, sloppy quorum) whose target is up: hinted handoff must have
// delivered it. Hints for a node that is down at the end may stay. Nor does any node hold a
// plain object of a key it is not a primary of (the oracle's preference lists): a fallback
// keeps what it holds for others only as hints, so a stray object is a copy that never drains.
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

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
  for (const [node, objects] of byNode(run.final)) {
    for (const key of objects.keys()) {
      const primaries = run.primariesOf(key);
      if (primaries.includes(node)) continue;
      if (add(`${node} holds a plain object of key ${key}, of which it is not a primary (${primaries.join(",")}): a stray copy, not a hint`)) return out;
    }
  }
  return out;
}
