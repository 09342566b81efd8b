// Checker 8: hints drain. At the end of the quiet period no node still holds a hint (an
// object kept for a down primary, sloppy quorum) whose target is up: hinted handoff must have
// delivered it. Hints for a node that is down at the end may stay.
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

export function checkHintsDrained(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  if (run.hintsAtEnd === undefined || run.upAtEnd === undefined) return out;
  for (const [node, hints] of [...run.hintsAtEnd].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    if (!run.upAtEnd.has(node)) continue;
    for (const h of hints) {
      if (!run.upAtEnd.has(h.target)) continue;
      out.push({ property: "hints-drain", detail: `${node} still holds a hint of key ${h.key} for ${h.target}, which is up, at the end of the quiet period` });
      if (out.length >= DETAILS_MAX) return out;
    }
  }
  return out;
}
