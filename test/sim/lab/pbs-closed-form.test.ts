// The PBS closed forms (Bailis et al. §3) and the lab's statistics, without the node.
import { describe, expect, it } from "vitest";
import { Rng } from "../../../sim/rng.ts";
import { binomial, consistencyCurve, kStalenessConsistent, percentile, sortedCopy, staleAt, tVisibility } from "../../../sim/lab/stats.ts";
import { fitByName, mean, sample } from "../../../sim/lab/fits.ts";
import { evaluateTrial } from "../../../sim/lab/wars.ts";

describe("k-staleness closed form 1 - (C(N-W,R)/C(N,R))^k", () => {
  it("N=3, R=W=1: 0.556 within 2 versions, 0.704 within 3", () => {
    expect(kStalenessConsistent(3, 1, 1, 1)).toBeCloseTo(1 / 3, 10);
    expect(kStalenessConsistent(3, 1, 1, 2).toFixed(3)).toBe("0.556");
    expect(kStalenessConsistent(3, 1, 1, 3).toFixed(3)).toBe("0.704");
  });

  it("a strict quorum (R + W > N) is always consistent", () => {
    for (const [r, w] of [[2, 2], [1, 3], [3, 1], [3, 3]] as const) expect(kStalenessConsistent(3, r, w, 1)).toBe(1);
  });

  it("agrees with a direct simulation of random write and read quorums", () => {
    const rng = new Rng(7);
    const subset = (n: number, k: number): Set<number> => {
      const all = Array.from({ length: n }, (_, i) => i);
      for (let i = n - 1; i > 0; i--) {
        const j = rng.int(0, i);
        [all[i], all[j]] = [all[j]!, all[i]!];
      }
      return new Set(all.slice(0, k));
    };
    for (const [n, r, w, k] of [[3, 1, 1, 2], [3, 1, 1, 3], [5, 2, 1, 2], [5, 1, 2, 1]] as const) {
      let hits = 0;
      const trials = 20000;
      for (let t = 0; t < trials; t++) {
        const writes = Array.from({ length: k }, () => subset(n, w));
        const read = subset(n, r);
        if (writes.some((ws) => [...read].some((x) => ws.has(x)))) hits++;
      }
      expect(Math.abs(hits / trials - kStalenessConsistent(n, r, w, k))).toBeLessThan(0.015);
    }
  });

  it("binomial coefficients", () => {
    expect(binomial(3, 1)).toBe(3);
    expect(binomial(5, 2)).toBe(10);
    expect(binomial(2, 3)).toBe(0);
  });
});

describe("lab statistics", () => {
  it("nearest-rank percentile and t-visibility", () => {
    const xs = sortedCopy(Array.from({ length: 1000 }, (_, i) => i + 1));
    expect(percentile(xs, 0.999)).toBe(999);
    expect(percentile(xs, 1)).toBe(1000);
    expect(tVisibility(sortedCopy([-5, -1, 0.5, 2]), 0.75)).toBe(0.5);
    expect(tVisibility(sortedCopy([-5, -1]), 0.999)).toBe(0);
  });

  it("P(stale at t) counts thresholds above t, and P(consistent) never falls as t grows", () => {
    const th = sortedCopy([-1, 0.5, 1, 3, Infinity]);
    expect(staleAt(th, 0)).toBeCloseTo(0.8);
    expect(staleAt(th, 1)).toBeCloseTo(0.4);
    const curve = consistencyCurve(th, 5, 10);
    for (let i = 1; i < curve.length; i++) expect(curve[i]!.pConsistent).toBeGreaterThanOrEqual(curve[i - 1]!.pConsistent);
  });

  it("a WARS trial: commit at the W-th fastest W+A, the read uses the R fastest R+S", () => {
    const legs = { w: [1, 10, 20], a: [1, 1, 1], r: [5, 1, 2], s: [5, 1, 2] };
    const one = evaluateTrial(legs, 1, 1);
    expect(one.writeLatencyMs).toBe(2); // replica 0: 1 + 1
    expect(one.readLatencyMs).toBe(2); // replica 1: 1 + 1
    expect(one.thresholdMs).toBe(10 - 2 - 1); // replica 1 applies at 10; read reaches it at c + t + 1
    expect(evaluateTrial(legs, 3, 1).thresholdMs).toBe(1 - 2 - 5); // replica 0 is used: never stale
  });

  it("fits: LNKD-SSD draws have the mixture's mean", () => {
    const fit = fitByName("LNKD-SSD");
    const rng = new Rng(3);
    let sum = 0;
    for (let i = 0; i < 50000; i++) sum += sample(fit.legs.W, rng);
    expect(sum / 50000).toBeCloseTo(mean(fit.legs.W), 1);
    expect(fitByName("YMMR", { ymmrWAlpha: 3.5 }).legs.W[0]).toMatchObject({ kind: "pareto", alpha: 3.5, xmMs: 3 });
    expect(fitByName("WAN").remoteExtraMs).toBe(75);
  });
});
