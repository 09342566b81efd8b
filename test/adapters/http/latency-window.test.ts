import { describe, expect, it } from "vitest";
import { Registry, type Metric } from "prom-client";
import { LatencyWindow } from "../../../src/adapters/http/latency-window.ts";

/** A window of 60 s in 5 buckets of 12 s on a clock the test moves. */
function windowAt(): { w: LatencyWindow; clock: { ms: number } } {
  const clock = { ms: 1_000_000 };
  let seed = 1;
  const random = (): number => ((seed = (seed * 48271) % 2147483647) / 2147483647);
  const w = new LatencyWindow("lat_seconds", "test latencies", "op", [0.5, 0.9, 0.99], 60, 5, 100, () => clock.ms, random);
  return { w, clock };
}

describe("LatencyWindow", () => {
  it("gives exact quantiles while a bucket holds every observation", () => {
    const { w } = windowAt();
    for (let i = 1; i <= 100; i++) w.observe("get", i / 1000);
    expect(w.quantile("get", 0.5)).toBe(0.05);
    expect(w.quantile("get", 0.99)).toBe(0.099);
    expect(w.quantile("get", 1)).toBe(0.1);
    expect(w.quantile("put", 0.5)).toBeNaN();
  });

  it("forgets observations older than the window, bucket by bucket", () => {
    const { w, clock } = windowAt();
    for (let i = 0; i < 50; i++) w.observe("get", 1);
    clock.ms += 30_000;
    for (let i = 0; i < 50; i++) w.observe("get", 2);
    expect(w.quantile("get", 0.25)).toBe(1);
    clock.ms += 40_000; // the first bucket is now more than 60 s old
    expect(w.quantile("get", 0.25)).toBe(2);
    clock.ms += 60_000;
    expect(w.quantile("get", 0.5)).toBeNaN();
  });

  it("keeps a bounded uniform sample when a bucket sees more than it holds", () => {
    const { w } = windowAt();
    // 10,000 observations, 1..10000 ms, into a bucket that keeps 100: the estimate stays near.
    for (let i = 1; i <= 10_000; i++) w.observe("put", i / 1000);
    expect(Math.abs(w.quantile("put", 0.5) - 5)).toBeLessThan(1.5);
    expect(w.quantile("put", 0.99)).toBeGreaterThan(8.5);
  });

  it("weights each bucket's sample by the observations it stands for", () => {
    const { w, clock } = windowAt();
    for (let i = 0; i < 1000; i++) w.observe("get", 1); // 1,000 seen, 100 kept
    clock.ms += 12_000;
    for (let i = 0; i < 100; i++) w.observe("get", 9); // 100 seen, 100 kept
    // 1,000 of 1,100 observations were 1: the median is 1 and p90 still 1 (9 is the top ~9%).
    expect(w.quantile("get", 0.5)).toBe(1);
    expect(w.quantile("get", 0.9)).toBe(1);
    expect(w.quantile("get", 0.95)).toBe(9);
  });

  it("is exposed as a Prometheus summary: quantiles, _sum and _count per op", async () => {
    const { w } = windowAt();
    w.observe("get", 0.25);
    w.observe("get", 0.75);
    const registry = new Registry();
    registry.registerMetric(w as unknown as Metric);
    const text = await registry.metrics();
    expect(text).toContain("# TYPE lat_seconds summary");
    expect(text).toContain('lat_seconds{quantile="0.5",op="get"} 0.25');
    expect(text).toContain('lat_seconds_sum{op="get"} 1');
    expect(text).toContain('lat_seconds_count{op="get"} 2');
  });
});
