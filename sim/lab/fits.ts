// Latency distributions of the quorum lab: mixtures of a Pareto body and an exponential tail,
// with the four fits of Bailis et al., "Probabilistically Bounded Staleness for Practical
// Partial Quorums" (VLDB 2012), Table 3. All values in ms. A leg draw takes one uniform
// number for the mixture choice and one for the value, from the caller's seeded Rng.
import type { Rng } from "../rng.ts";

/** One component: Pareto(x_m, alpha) (pdf alpha x_m^alpha / x^(alpha+1), x >= x_m) or Exp(lambda per ms). */
type Component =
  | { readonly kind: "pareto"; readonly weight: number; readonly xmMs: number; readonly alpha: number }
  | { readonly kind: "exp"; readonly weight: number; readonly lambdaPerMs: number };

/** A mixture: weights sum to 1. */
type Mixture = readonly Component[];

export type Leg = "W" | "A" | "R" | "S";

export interface Fit {
  readonly name: FitName;
  readonly legs: Readonly<Record<Leg, Mixture>>;
  /** Extra ms on every message to or from a non-local replica (WAN: 75); 0 for one datacenter. */
  readonly remoteExtraMs: number;
}

export const FIT_NAMES = ["LNKD-SSD", "LNKD-DISK", "YMMR", "WAN"] as const;
type FitName = (typeof FIT_NAMES)[number];

interface FitOptions {
  /** Shape of YMMR's W body: 3.35 in the paper's Table 3, 3.5 in the authors' simulator code. */
  readonly ymmrWAlpha?: number;
}

export function pareto(weight: number, xmMs: number, alpha: number): Component {
  return { kind: "pareto", weight, xmMs, alpha };
}

export function exp(weight: number, lambdaPerMs: number): Component {
  return { kind: "exp", weight, lambdaPerMs };
}

const LNKD_SSD: Mixture = [pareto(0.9122, 0.235, 10), exp(0.0878, 1.66)];
const LNKD_DISK_W: Mixture = [pareto(0.38, 1.05, 1.51), exp(0.62, 0.183)];

export function fitByName(name: FitName, options: FitOptions = {}): Fit {
  switch (name) {
    case "LNKD-SSD":
      return { name, legs: { W: LNKD_SSD, A: LNKD_SSD, R: LNKD_SSD, S: LNKD_SSD }, remoteExtraMs: 0 };
    case "LNKD-DISK":
      return { name, legs: { W: LNKD_DISK_W, A: LNKD_SSD, R: LNKD_SSD, S: LNKD_SSD }, remoteExtraMs: 0 };
    case "YMMR": {
      const other: Mixture = [pareto(0.982, 1.5, 3.8), exp(0.018, 0.0217)];
      const w: Mixture = [pareto(0.939, 3, options.ymmrWAlpha ?? 3.35), exp(0.061, 0.0028)];
      return { name, legs: { W: w, A: other, R: other, S: other }, remoteExtraMs: 0 };
    }
    case "WAN":
      return { name, legs: fitByName("LNKD-DISK").legs, remoteExtraMs: 75 };
  }
}

export function isFitName(s: string): s is FitName {
  return (FIT_NAMES as readonly string[]).includes(s);
}

/** One draw from a mixture. */
export function sample(mix: Mixture, rng: Rng): number {
  let u = rng.next();
  let chosen = mix[mix.length - 1]!;
  for (const c of mix) {
    if (u < c.weight) {
      chosen = c;
      break;
    }
    u -= c.weight;
  }
  // 1 - next() is in (0, 1]: no log(0), no division by zero.
  const v = 1 - rng.next();
  return chosen.kind === "pareto" ? chosen.xmMs / Math.pow(v, 1 / chosen.alpha) : -Math.log(v) / chosen.lambdaPerMs;
}

/** The mixture's mean (Infinity when a Pareto body has alpha <= 1). */
export function mean(mix: Mixture): number {
  let m = 0;
  for (const c of mix) m += c.weight * (c.kind === "pareto" ? (c.alpha > 1 ? (c.alpha * c.xmMs) / (c.alpha - 1) : Infinity) : 1 / c.lambdaPerMs);
  return m;
}
