// The WARS model itself (Bailis et al. §4), as a plain Monte Carlo with no node code: the
// reference the quorum lab's runs on the real node are compared with. One trial draws the
// 4N legs; the write commits at the W-th fastest W_i + A_i; a read started t ms after the
// commit reaches replica i at c + t + R_i, uses the R replicas with the fastest R_i + S_i, and
// is stale when none of them had applied the write (W_i) when the read reached it. The trial's
// threshold is T* = min over used i of (W_i - c - R_i): stale exactly when t < T*.
import { Rng, fnv32 } from "../rng.ts";
import { sample, type Fit } from "./fits.ts";

interface TrialLegs {
  readonly w: number[];
  readonly a: number[];
  readonly r: number[];
  readonly s: number[];
}

export interface TrialOutcome {
  readonly thresholdMs: number;
  readonly writeLatencyMs: number;
  readonly readLatencyMs: number;
}

/** The k-th smallest (1-based) of values. */
function kthSmallest(values: readonly number[], k: number): number {
  return [...values].sort((x, y) => x - y)[k - 1]!;
}

/** Datacenter legs for WAN: replica i sits in datacenter i; requests start in dc. */
export function drawLegs(fit: Fit, n: number, rng: Rng, writeDc: number, readDc: number): TrialLegs {
  const extra = (i: number, dc: number): number => (i === dc ? 0 : fit.remoteExtraMs);
  const legs: TrialLegs = { w: [], a: [], r: [], s: [] };
  for (let i = 0; i < n; i++) {
    legs.w.push(sample(fit.legs.W, rng) + extra(i, writeDc));
    legs.a.push(sample(fit.legs.A, rng) + extra(i, writeDc));
    legs.r.push(sample(fit.legs.R, rng) + extra(i, readDc));
    legs.s.push(sample(fit.legs.S, rng) + extra(i, readDc));
  }
  return legs;
}

export function evaluateTrial(legs: TrialLegs, r: number, w: number): TrialOutcome {
  const n = legs.w.length;
  const commit = kthSmallest(legs.w.map((x, i) => x + legs.a[i]!), w);
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => legs.r[i]! + legs.s[i]! - (legs.r[j]! + legs.s[j]!));
  const used = order.slice(0, r);
  let threshold = Infinity;
  for (const i of used) threshold = Math.min(threshold, legs.w[i]! - commit - legs.r[i]!);
  const last = used[used.length - 1]!;
  return { thresholdMs: threshold, writeLatencyMs: commit, readLatencyMs: legs.r[last]! + legs.s[last]! };
}

/** Runs the model for `trials` trials. WAN: each request starts in a random datacenter. */
export function runWarsModel(fit: Fit, n: number, r: number, w: number, trials: number, seed: number): TrialOutcome[] {
  const rng = new Rng(seed, fnv32("wars-model"));
  const out: TrialOutcome[] = [];
  const wan = fit.remoteExtraMs > 0;
  for (let t = 0; t < trials; t++) {
    const writeDc = wan ? rng.int(0, n - 1) : -1;
    const readDc = wan ? rng.int(0, n - 1) : -1;
    out.push(evaluateTrial(drawLegs(fit, n, rng, writeDc, readDc), r, w));
  }
  return out;
}
