// Order statistics of the quorum lab: percentiles, t-visibility and the P(consistent) curve
// from per-trial staleness thresholds. A trial's threshold T* is the smallest time after the
// commit at which a read with that trial's legs is no longer stale: a read started t ms after
// the commit is stale exactly when t < T* (T* <= 0: never stale).
import { assert } from "../../src/core/assert.ts";

/** The p-quantile by the nearest-rank method: the smallest x with at least p of the values <= x. */
export function percentile(sortedAsc: readonly number[], p: number): number {
  assert(sortedAsc.length > 0, "percentile of nothing");
  assert(p > 0 && p <= 1, `p must be in (0, 1], got ${p}`);
  const rank = Math.ceil(p * sortedAsc.length);
  return sortedAsc[Math.min(sortedAsc.length, rank) - 1]!;
}

export function sortedCopy(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** P(stale) for a read started t ms after the commit. */
export function staleAt(sortedThresholds: readonly number[], t: number): number {
  // Count thresholds > t (binary search for the first index with value > t).
  let lo = 0;
  let hi = sortedThresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortedThresholds[mid]! > t) hi = mid;
    else lo = mid + 1;
  }
  return (sortedThresholds.length - lo) / sortedThresholds.length;
}

/** The smallest t >= 0 with P(stale at t) <= 1 - p. */
export function tVisibility(sortedThresholds: readonly number[], p: number): number {
  const q = percentile(sortedThresholds, p);
  return Math.max(0, q);
}

/** Points (t, P(consistent)) on a grid from 0 to tMaxMs. */
export function consistencyCurve(sortedThresholds: readonly number[], tMaxMs: number, points = 60): { tMs: number; pConsistent: number }[] {
  const out: { tMs: number; pConsistent: number }[] = [];
  for (let i = 0; i <= points; i++) {
    const t = (tMaxMs * i) / points;
    out.push({ tMs: t, pConsistent: 1 - staleAt(sortedThresholds, t) });
  }
  return out;
}

/** C(n, k). */
export function binomial(n: number, k: number): number {
  if (k < 0 || k > n) return 0;
  let c = 1;
  for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
  return c;
}

/**
 * PBS k-staleness (Bailis et al. §3.2): the probability that a read quorum of R (chosen
 * uniformly) returns one of the last k committed versions, when each write reached exactly W
 * of the N replicas: 1 - (C(N-W, R) / C(N, R))^k.
 */
export function kStalenessConsistent(n: number, r: number, w: number, k: number): number {
  assert(r >= 1 && w >= 1 && r <= n && w <= n && k >= 1, `bad quorum n=${n} r=${r} w=${w} k=${k}`);
  return 1 - Math.pow(binomial(n - w, r) / binomial(n, r), k);
}
