// The latency percentiles of GET /stats and the `mec_http_request_latency_seconds` summary of
// /metrics: per operation, count and sum since start, and quantiles over a sliding window of
// the last `windowS` seconds (in `buckets` age buckets; the oldest is dropped as time passes).
// Each bucket keeps a uniform sample of at most `samplesMax` latencies (reservoir sampling),
// so memory is bounded whatever the request rate and a quantile is exact up to that many
// requests per bucket, an estimate from a uniform sample beyond. Owns: the window and the
// exposition rows (prom-client's metric interface: `get()` with summary rows). Must not know:
// HTTP. Replaces prom-client's Summary, whose every observation was pushed into one t-digest
// per age bucket (five), the largest cost of recording a request (see README, Performance).

/** One row of a metric's values, as prom-client's registry reads them. */
interface Row {
  readonly labels: Record<string, string | number>;
  readonly value: number;
  readonly metricName?: string;
}

interface Bucket {
  /** Seconds since the epoch / bucket span: which slice of time this bucket holds. */
  readonly slot: number;
  readonly sample: number[];
  /** Observations that fell into this bucket (>= sample.length). */
  seen: number;
}

class OpWindow {
  count = 0;
  sum = 0;
  readonly buckets: Bucket[] = [];
}

export class LatencyWindow {
  readonly type = "summary";
  private readonly ops = new Map<string, OpWindow>();
  private readonly bucketMs: number;

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly labelName: string,
    private readonly percentiles: readonly number[],
    windowS: number,
    private readonly bucketCount = 5,
    private readonly samplesMax = 2048,
    private readonly nowMs: () => number = Date.now,
    private readonly random: () => number = Math.random,
  ) {
    if (!(windowS > 0 && bucketCount >= 1 && samplesMax >= 1)) throw new Error("LatencyWindow: bad window");
    this.bucketMs = (windowS * 1000) / bucketCount;
  }

  /** Records one latency (seconds) of the operation `op`. */
  observe(op: string, seconds: number): void {
    let w = this.ops.get(op);
    if (w === undefined) {
      w = new OpWindow();
      this.ops.set(op, w);
    }
    w.count++;
    w.sum += seconds;
    const slot = Math.floor(this.nowMs() / this.bucketMs);
    let b = w.buckets[w.buckets.length - 1];
    if (b === undefined || b.slot !== slot) {
      b = { slot, sample: [], seen: 0 };
      w.buckets.push(b);
      while (w.buckets.length > this.bucketCount) w.buckets.shift();
    }
    b.seen++;
    if (b.sample.length < this.samplesMax) b.sample.push(seconds);
    else {
      // Reservoir sampling (Vitter's algorithm R): every observation of the bucket is kept
      // with the same probability samplesMax / seen.
      const at = Math.floor(this.random() * b.seen);
      if (at < this.samplesMax) b.sample[at] = seconds;
    }
  }

  /** The quantile q (0..1) of op's latencies in the window (nearest rank: the smallest observed value with at least q of the observations at or below it), NaN when it saw none. */
  quantile(op: string, q: number): number {
    return this.quantilesOf(op, [q])[0]!;
  }

  private quantilesOf(op: string, qs: readonly number[]): number[] {
    const w = this.ops.get(op);
    const oldest = Math.floor(this.nowMs() / this.bucketMs) - this.bucketCount + 1;
    // Each bucket's sample stands for `seen` observations: weight its values accordingly.
    const weighted: [number, number][] = [];
    let total = 0;
    for (const b of w?.buckets ?? []) {
      if (b.slot < oldest) continue;
      const weight = b.seen / b.sample.length;
      for (const v of b.sample) weighted.push([v, weight]);
      total += b.seen;
    }
    if (total === 0) return qs.map(() => Number.NaN);
    weighted.sort((x, y) => x[0] - y[0]);
    return qs.map((q) => {
      const rank = q * total;
      let acc = 0;
      for (const [v, weight] of weighted) {
        acc += weight;
        if (acc >= rank) return v;
      }
      return weighted[weighted.length - 1]![0];
    });
  }

  /** The rows of a prom-client summary: one per quantile, then _sum and _count, per op. */
  async get(): Promise<{ name: string; help: string; type: string; values: Row[]; aggregator: string }> {
    const values: Row[] = [];
    for (const [op, w] of this.ops) {
      const qs = this.quantilesOf(op, this.percentiles);
      this.percentiles.forEach((p, i) => values.push({ labels: { quantile: p, [this.labelName]: op }, value: qs[i]! }));
      values.push({ metricName: `${this.name}_sum`, labels: { [this.labelName]: op }, value: w.sum });
      values.push({ metricName: `${this.name}_count`, labels: { [this.labelName]: op }, value: w.count });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: "sum" };
  }
}
