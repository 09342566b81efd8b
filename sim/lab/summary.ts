// What one lab run reports: t-visibility at p, the 99.9th percentile read and write latency,
// P(consistent) at the commit and the curve, for the real node (one path) or the WARS model.
import type { Fit } from "./fits.ts";
import { runPbsOnNode, type LabPath, type PbsRun } from "./pbs.ts";
import { consistencyCurve, percentile, sortedCopy, staleAt, tVisibility } from "./stats.ts";
import { runWarsModel, type TrialOutcome } from "./wars.ts";

export interface PbsSummary {
  readonly path: LabPath | "model";
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly p: number;
  readonly trials: number;
  readonly tVisibilityMs: number;
  readonly readP999Ms: number;
  readonly writeP999Ms: number;
  /** P(consistent) for a read started right at the commit (t = 0). */
  readonly pConsistentAtCommit: number;
  /** Real-node runs: reads that returned the old value at their own t0, and disagreements (must be 0). */
  readonly staleReads?: number;
  readonly mismatches?: number;
  /** The sorted staleness thresholds (for curves); not printed. */
  readonly thresholdsMs: readonly number[];
}

function summarize(path: PbsSummary["path"], outcomes: readonly TrialOutcome[], n: number, r: number, w: number, p: number, run?: PbsRun): PbsSummary {
  const thresholdsMs = sortedCopy(outcomes.map((o) => o.thresholdMs));
  return {
    path, n, r, w, p,
    trials: outcomes.length,
    tVisibilityMs: tVisibility(thresholdsMs, p),
    readP999Ms: percentile(sortedCopy(outcomes.map((o) => o.readLatencyMs)), 0.999),
    writeP999Ms: percentile(sortedCopy(outcomes.map((o) => o.writeLatencyMs)), 0.999),
    pConsistentAtCommit: 1 - staleAt(thresholdsMs, 0),
    ...(run !== undefined ? { staleReads: run.staleReads, mismatches: run.mismatches } : {}),
    thresholdsMs,
  };
}

export interface LabRequest {
  readonly fit: Fit;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly p: number;
  readonly trials: number;
  readonly seed: number;
  readonly onProgress?: (done: number, total: number) => void;
}

export function measureOnNode(req: LabRequest, path: LabPath): PbsSummary {
  const run = runPbsOnNode({ fit: req.fit, n: req.n, r: req.r, w: req.w, trials: req.trials, seed: req.seed, path, ...(req.onProgress ? { onProgress: req.onProgress } : {}) });
  if (run.failed > 0) throw new Error(`pbs lab: ${run.failed} requests failed (none should)`);
  return summarize(path, run.outcomes, req.n, req.r, req.w, req.p, run);
}

export function measureModel(req: LabRequest): PbsSummary {
  return summarize("model", runWarsModel(req.fit, req.n, req.r, req.w, req.trials, req.seed), req.n, req.r, req.w, req.p);
}

/** Rounds for printing (3 significant decimals at most). */
export function ms(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : x;
}

/** The JSON-able part of a summary (no thresholds). */
export function publicSummary(s: PbsSummary): Record<string, unknown> {
  const { thresholdsMs: _omit, ...rest } = s;
  return { ...rest, tVisibilityMs: ms(s.tVisibilityMs), readP999Ms: ms(s.readP999Ms), writeP999Ms: ms(s.writeP999Ms), pConsistentAtCommit: Math.round(s.pConsistentAtCommit * 1e5) / 1e5 };
}

export { consistencyCurve };
