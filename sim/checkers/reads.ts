// Checker 7: reads see acknowledged writes. A successful get whose replicas were all primaries
// of the key (no fallback involved) must show every acknowledged put of that key that
// completed before the get began, was acknowledged by primaries only, and for which the two
// requests' own quorums overlap (r + w > N), unless a write that could supersede it (oracle
// model: sent with a context that had shown it) was invoked before the get completed, or a
// disk of either quorum was wiped in between (at most W-1 wipes: the value may then be
// elsewhere) or a stored copy of the key on one of them had its bits flipped in between (a
// replica does not serve a corrupt copy: for that key it is a lost disk until repaired). Gets that involved fallbacks (sloppy quorum) or whose quorums need not overlap
// are only counted as stale (RunStats.staleReads), never a violation.
import type { HistoryOp } from "../history.ts";
import { causalModelOf } from "../oracle/index.ts";
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

interface ReadFinding {
  readonly get: HistoryOp;
  readonly missed: HistoryOp;
  readonly strict: boolean;
}

function findings(run: RunRecord): ReadFinding[] {
  const model = causalModelOf(run.history);
  const putsByKey = new Map<string, HistoryOp[]>();
  for (const op of run.history) if (op.kind === "put" && op.outcome === "ok" && op.writeId !== null) putsByKey.set(op.key, [...(putsByKey.get(op.key) ?? []), op]);
  const wipedBetween = (nodes: readonly string[], from: number, to: number): boolean =>
    nodes.some((n) => (run.wipes?.get(n) ?? []).some((t) => t >= from && t <= to));
  const flippedBetween = (nodes: readonly string[], key: string, from: number, to: number): boolean =>
    nodes.some((n) => (run.flips?.get(n) ?? []).some((f) => f.key.endsWith(`:${key}`) && f.atMs >= from && f.atMs <= to));
  const out: ReadFinding[] = [];
  for (const g of run.history) {
    if (g.kind !== "get" || g.outcome !== "ok" || g.replicas === null || g.completedAtMs === null) continue;
    const primaries = run.primariesOf(g.key);
    const shown = new Set(g.shown ?? []);
    const rG = g.r ?? run.r;
    for (const x of putsByKey.get(g.key) ?? []) {
      if (x.completedAtMs === null || x.completedAtMs >= g.invokedAtMs || shown.has(x.writeId!)) continue;
      if (model.supersedersOf(x.writeId!).some((w) => w.invokedAtMs <= g.completedAtMs!)) continue;
      const replicas = [...(x.replicas ?? []), ...g.replicas];
      if (wipedBetween(replicas, x.invokedAtMs, g.completedAtMs) || flippedBetween(replicas, g.key, x.invokedAtMs, g.completedAtMs)) continue;
      const strict = rG + (x.w ?? run.w) > run.n && replicas.every((n) => primaries.includes(n));
      out.push({ get: g, missed: x, strict });
    }
  }
  return out;
}

export function checkReads(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  for (const f of findings(run)) {
    if (!f.strict) continue;
    out.push({
      property: "stale-read",
      detail: `get op ${f.get.id} of key ${f.get.key} (r=${f.get.r ?? run.r}, replicas ${f.get.replicas!.join(",")}) did not return ${f.missed.writeId} (op ${f.missed.id}, w=${f.missed.w ?? run.w}, acknowledged by ${f.missed.replicas!.join(",")} before the get began)`,
    });
    if (out.length >= DETAILS_MAX) break;
  }
  return out;
}

/** Gets that missed an earlier acknowledged, unsuperseded write where that is allowed (sloppy or non-overlapping quorums). */
export function staleReadCount(run: RunRecord): number {
  return new Set(findings(run).filter((f) => !f.strict).map((f) => f.get.id)).size;
}
