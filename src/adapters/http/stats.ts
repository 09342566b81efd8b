// Per-node statistics for GET /stats (a JSON snapshot) and GET /metrics (Prometheus text).
// Owns: counting HTTP requests and their latencies per operation, and the node events the
// host reports (read repairs, hints, handoffs, anti-entropy exchanges, siblings, reaps,
// suspicions). Every count lives once, in prom-client metrics: /metrics exposes them and the
// /stats snapshot is read back from the same metrics (only the node's identity, readiness
// and the set of suspected peers are plain state). Each NodeStats has its own prom-client
// Registry, never the global one, so several nodes (or tests) in one process do not collide.
// Must not know: how the node works; it only sees NodeEvents (wired by the node process:
// host hooks.onEvent -> stats.onEvent) and request outcomes (recorded by the HTTP server).
import { Counter, Gauge, Histogram, Registry, type Metric, type MetricObjectWithValues, type MetricValueWithName as MetricValue } from "prom-client";
import { LatencyWindow } from "./latency-window.ts";
import type { NodeEvent } from "../../core/types.ts";

/** The operations the HTTP API counts separately; "other" is /ping, /stats, /metrics and unknown paths. */
export type RequestOp = "get" | "put" | "delete" | "other";
const REQUEST_OPS: readonly RequestOp[] = ["get", "put", "delete", "other"];

/** The latency percentiles (and max) are computed over this sliding window of time. */
const LATENCY_WINDOW_S = 600;
const EVENT_TYPES = ["quorum", "dot-minted", "read-repair", "hint-stored", "handoff", "anti-entropy", "siblings", "reap", "suspect", "unsuspect", "corrupt-object", "storage-failing", "storage-recovered", "ring-changed", "transfer-started", "transfer-done", "join-refused", "left"] as const;

interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

interface OpStats {
  readonly count: number;
  /** Count per HTTP status code, e.g. {"200": 10, "404": 2}. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** count and meanMs over every request of this operation; percentiles over the last LATENCY_WINDOW_S seconds; maxMs since start. */
  readonly latency: LatencySummary;
}

interface StatsSnapshot {
  readonly node: {
    readonly id: string;
    readonly name: string;
    readonly ready: boolean;
    readonly actor: string | null;
    readonly incarnation: number | null;
    readonly uptimeMs: number;
  };
  readonly requests: { readonly total: number; readonly byOp: Readonly<Record<RequestOp, OpStats>> };
  readonly quorums: Readonly<Record<"get" | "put" | "delete", number>>;
  readonly dotsMinted: number;
  readonly readRepairs: number;
  readonly hintsStored: number;
  readonly handoffs: number;
  readonly antiEntropy: { readonly exchanges: number; readonly keysRepaired: number };
  /** Reads or writes that saw a key with more than one live sibling. */
  readonly siblings: { readonly events: number; readonly maxCount: number; readonly lastCount: number };
  readonly reaps: number;
  readonly suspects: number;
  readonly unsuspects: number;
  readonly suspectedPeers: readonly string[];
  /** Storage health: corrupt records detected (each counted once until rewritten), failing writes. */
  readonly storage: {
    readonly corruptObjects: number;
    /** Why writes fail right now ("full", "io", "corrupt"), or null while they succeed. */
    readonly failing: string | null;
    readonly failingEpisodes: number;
    readonly lastError: string | null;
  };
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

/** The values of a metric, read back from prom-client (what /metrics would print). */
async function valuesOf(metric: { get(): Promise<MetricObjectWithValues<MetricValue<string>>> }): Promise<readonly MetricValue<string>[]> {
  return (await metric.get()).values;
}

/** The sum of the values whose labels match (all of them without a filter). */
function sumOf(values: readonly MetricValue<string>[], match: Readonly<Record<string, string>> = {}): number {
  let total = 0;
  for (const v of values) if (Object.entries(match).every(([k, want]) => v.labels[k] === want)) total += v.value;
  return total;
}

interface NodeStatsOptions {
  readonly nodeId: string;
  readonly name: string;
  /** Milliseconds since the epoch; defaults to Date.now (tests pass a fake). */
  readonly clock?: () => number;
}

export class NodeStats {
  /** This node's own Prometheus registry (GET /metrics serves it, GET /stats reads it back). */
  readonly registry = new Registry();
  private readonly clock: () => number;
  private readonly startedAtMs: number;

  // State that is not a count: who the node is, which peers it suspects now, why storage fails.
  private ready = false;
  private actor: string | null = null;
  private incarnation: number | null = null;
  private readonly suspected = new Set<string>();
  private storageFailing: string | null = null;
  private storageLastError: string | null = null;

  private readonly mRequests: Counter<"op" | "status">;
  private readonly mDuration: Histogram<"op">;
  private readonly mLatency: LatencyWindow;
  private readonly mLatencyMax: Gauge<"op">;
  private readonly mEvents: Counter<"event">;
  private readonly mQuorums: Counter<"op">;
  private readonly mKeysRepaired: Counter;
  private readonly mSiblingsMax: Gauge;
  private readonly mSiblingsLast: Gauge;
  private readonly mSuspected: Gauge;
  private readonly mReady: Gauge;
  private readonly mCorrupt: Counter;
  private readonly mStorageFailing: Gauge;
  private readonly mTransfers: Counter;
  private readonly mTransferObjects: Counter;
  private readonly mRingEpoch: Gauge;
  /** The largest latency per op so far (the value mLatencyMax shows), to raise it without reading the gauge back. */
  private readonly latencyMaxS = new Map<RequestOp, number>();
  private siblingsMax = 0;
  /** Label-bound children, cached: prom-client hashes the label object on every unbound call. */
  private readonly requestChildren = new Map<string, { inc(): void }>();
  private readonly durationChildren = new Map<RequestOp, { observe(v: number): void }>();

  constructor(readonly options: NodeStatsOptions) {
    this.clock = options.clock ?? Date.now;
    this.startedAtMs = this.clock();
    const registers = [this.registry];
    this.registry.setDefaultLabels({ node: options.name });
    this.mRequests = new Counter({
      name: "mec_http_requests_total",
      help: "HTTP requests answered, by operation and status code",
      labelNames: ["op", "status"],
      registers,
    });
    this.mDuration = new Histogram({
      name: "mec_http_request_duration_seconds",
      help: "HTTP request latency, by operation",
      labelNames: ["op"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.mLatency = new LatencyWindow(
      "mec_http_request_latency_seconds",
      `HTTP request latency percentiles over the last ${LATENCY_WINDOW_S} s, by operation`,
      "op",
      [0.5, 0.9, 0.99],
      LATENCY_WINDOW_S,
    );
    this.registry.registerMetric(this.mLatency as unknown as Metric);
    this.mLatencyMax = new Gauge({ name: "mec_http_request_latency_max_seconds", help: "Largest HTTP request latency since start, by operation", labelNames: ["op"], registers });
    this.mEvents = new Counter({
      name: "mec_node_events_total",
      help: `Node events: ${EVENT_TYPES.join(", ")}`,
      labelNames: ["event"],
      registers,
    });
    this.mQuorums = new Counter({ name: "mec_quorums_total", help: "Requests answered after reaching their quorum, by operation", labelNames: ["op"], registers });
    this.mKeysRepaired = new Counter({
      name: "mec_anti_entropy_keys_repaired_total",
      help: "Keys repaired by anti-entropy exchanges",
      registers,
    });
    this.mSiblingsMax = new Gauge({ name: "mec_siblings_max", help: "Largest live sibling count seen on one key", registers });
    this.mSiblingsLast = new Gauge({ name: "mec_siblings_last", help: "Live sibling count of the last read or write that saw siblings", registers });
    this.mSuspected = new Gauge({ name: "mec_peers_suspected", help: "Peers currently suspected down", registers });
    this.mReady = new Gauge({ name: "mec_node_ready", help: "1 once the node has booted", registers });
    this.mReady.set(0);
    this.mCorrupt = new Counter({
      name: "mec_storage_corrupt_objects_total",
      help: "Stored records that failed their checksum or did not decode (never served; repaired from a peer)",
      registers,
    });
    this.mStorageFailing = new Gauge({ name: "mec_storage_failing", help: "1 while storage writes fail (disk full, I/O errors): the node is not ready", registers });
    this.mStorageFailing.set(0);
    this.mTransfers = new Counter({ name: "mec_transfers_total", help: "Ownership transfers this node completed as the sender (a partition handed to a new primary)", registers });
    this.mTransferObjects = new Counter({ name: "mec_transfer_objects_total", help: "Objects this node sent in completed ownership transfers", registers });
    this.mRingEpoch = new Gauge({ name: "mec_ring_epoch", help: "Epoch of the cluster state this node holds (0: the configured member list)", registers });
    this.mRingEpoch.set(0);
    // Pre-create the series so a scrape shows zeros instead of missing series.
    for (const e of EVENT_TYPES) this.mEvents.inc({ event: e }, 0);
    for (const op of ["get", "put", "delete"] as const) this.mQuorums.inc({ op }, 0);
  }

  /** A node event, as reported by the host (hooks.onEvent). */
  onEvent(event: NodeEvent, _now: number): void {
    this.mEvents.inc({ event: event.type });
    switch (event.type) {
      case "ready":
        this.ready = true;
        this.actor = event.actor;
        this.incarnation = event.incarnation;
        this.mReady.set(1);
        return;
      case "quorum":
        this.mQuorums.inc({ op: event.op });
        return;
      case "anti-entropy":
        this.mKeysRepaired.inc(event.keysRepaired);
        return;
      case "siblings":
        this.mSiblingsLast.set(event.count);
        if (event.count > this.siblingsMax) {
          this.siblingsMax = event.count;
          this.mSiblingsMax.set(event.count);
        }
        return;
      case "suspect":
      case "unsuspect":
        if (event.type === "suspect") this.suspected.add(event.peer);
        else this.suspected.delete(event.peer);
        this.mSuspected.set(this.suspected.size);
        return;
      case "corrupt-object":
        this.mCorrupt.inc();
        return;
      case "storage-failing":
        this.storageFailing = event.reason;
        this.storageLastError = event.message;
        this.mStorageFailing.set(1);
        return;
      case "storage-recovered":
        this.storageFailing = null;
        this.mStorageFailing.set(0);
        return;
      case "boot-failed":
        this.storageLastError = event.message;
        return;
      case "transfer-done":
        this.mTransfers.inc();
        this.mTransferObjects.inc(event.objects);
        return;
      case "ring-changed":
        this.mRingEpoch.set(event.epoch);
        return;
      default:
        // Counted in mec_node_events_total above; nothing else to keep.
        return;
    }
  }

  /** Why storage writes fail right now, or null (the HTTP layer's readiness). */
  get storageFailingReason(): string | null {
    return this.storageFailing;
  }

  /** One answered HTTP request (recorded by the server's onResponse hook). */
  recordRequest(op: RequestOp, status: number, latencyMs: number): void {
    const key = `${op} ${status}`;
    let counter = this.requestChildren.get(key);
    if (counter === undefined) {
      counter = this.mRequests.labels({ op, status: String(status) });
      this.requestChildren.set(key, counter);
    }
    counter.inc();
    let duration = this.durationChildren.get(op);
    if (duration === undefined) {
      duration = this.mDuration.labels({ op });
      this.durationChildren.set(op, duration);
    }
    const seconds = latencyMs / 1000;
    duration.observe(seconds);
    this.mLatency.observe(op, seconds);
    if (seconds > (this.latencyMaxS.get(op) ?? -1)) {
      this.latencyMaxS.set(op, seconds);
      this.mLatencyMax.set({ op }, seconds);
    }
  }

  /** True while the node waits for a member's cluster state (it lost its meta record): not ready. */
  joining = false;

  setJoining(joining: boolean): void {
    this.joining = joining;
  }

  /** Marks the node ready without a "ready" event (for handles that know readiness otherwise). */
  setReady(ready: boolean): void {
    this.ready = ready;
    this.mReady.set(ready ? 1 : 0);
  }

  /** The JSON of GET /stats, read back from this node's metrics. */
  async snapshot(): Promise<StatsSnapshot> {
    const requests = await valuesOf(this.mRequests);
    const latency = (await this.mLatency.get()).values;
    const latencyMax = await valuesOf(this.mLatencyMax);
    const events = await valuesOf(this.mEvents);
    const quorums = await valuesOf(this.mQuorums);
    const event = (type: (typeof EVENT_TYPES)[number]): number => sumOf(events, { event: type });
    const quorum = (op: "get" | "put" | "delete"): number => sumOf(quorums, { op });
    const byOp = {} as Record<RequestOp, OpStats>;
    for (const op of REQUEST_OPS) {
      const byStatus: Record<string, number> = {};
      const rows = requests.filter((v) => v.labels["op"] === op && v.value > 0).sort((a, b) => Number(a.labels["status"]) - Number(b.labels["status"]));
      for (const v of rows) byStatus[String(v.labels["status"])] = v.value;
      byOp[op] = { count: sumOf(rows), byStatus, latency: latencySummary(latency, latencyMax, op) };
    }
    return {
      node: {
        id: this.options.nodeId,
        name: this.options.name,
        ready: this.ready,
        actor: this.actor,
        incarnation: this.incarnation,
        uptimeMs: Math.max(0, this.clock() - this.startedAtMs),
      },
      requests: { total: sumOf(requests), byOp },
      quorums: { get: quorum("get"), put: quorum("put"), delete: quorum("delete") },
      dotsMinted: event("dot-minted"),
      readRepairs: event("read-repair"),
      hintsStored: event("hint-stored"),
      handoffs: event("handoff"),
      storage: {
        corruptObjects: sumOf(await valuesOf(this.mCorrupt)),
        failing: this.storageFailing,
        failingEpisodes: event("storage-failing"),
        lastError: this.storageLastError,
      },
      antiEntropy: { exchanges: event("anti-entropy"), keysRepaired: sumOf(await valuesOf(this.mKeysRepaired)) },
      siblings: { events: event("siblings"), maxCount: sumOf(await valuesOf(this.mSiblingsMax)), lastCount: sumOf(await valuesOf(this.mSiblingsLast)) },
      reaps: event("reap"),
      suspects: event("suspect"),
      unsuspects: event("unsuspect"),
      suspectedPeers: [...this.suspected].sort(),
    };
  }

  /** Prometheus text exposition of this node's registry. */
  metrics(): Promise<string> {
    return this.registry.metrics();
  }

  get metricsContentType(): string {
    return this.registry.contentType;
  }
}

/** One op's latency summary from the Summary's rows (quantiles, _sum, _count) and the max gauge, in ms. */
function latencySummary(rows: readonly MetricValue<string>[], maxRows: readonly MetricValue<string>[], op: RequestOp): LatencySummary {
  const mine = rows.filter((v) => v.labels["op"] === op);
  const count = mine.find((v) => v.metricName?.endsWith("_count"))?.value ?? 0;
  if (count === 0) return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 };
  const sum = mine.find((v) => v.metricName?.endsWith("_sum"))?.value ?? 0;
  const ms = (q: number): number => {
    const x = mine.find((v) => v.labels["quantile"] === q)?.value;
    return round3(x === undefined || Number.isNaN(x) ? 0 : x * 1000);
  };
  return { count, meanMs: round3((sum / count) * 1000), p50Ms: ms(0.5), p90Ms: ms(0.9), p99Ms: ms(0.99), maxMs: round3(sumOf(maxRows, { op }) * 1000) };
}
