// Per-node statistics for GET /stats (a JSON snapshot) and GET /metrics (Prometheus text).
// Owns: counting HTTP requests and their latencies per operation, and the node events the
// host reports (read repairs, hints, handoffs, anti-entropy exchanges, siblings, reaps,
// suspicions). Each NodeStats has its own prom-client Registry, never the global one, so
// several nodes (or tests) in one process do not collide.
// Must not know: how the node works; it only sees NodeEvents (wired by the node process:
// host hooks.onEvent -> stats.onEvent) and request outcomes (recorded by the HTTP server).
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { NodeEvent } from "../../core/types.ts";

/** The operations the HTTP API counts separately; "other" is /ping, /stats, /metrics and unknown paths. */
export type RequestOp = "get" | "put" | "delete" | "other";
const REQUEST_OPS: readonly RequestOp[] = ["get", "put", "delete", "other"];

/** How many recent latencies per operation the JSON percentiles are computed over. */
const LATENCY_WINDOW = 2048;

export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p90Ms: number;
  readonly p99Ms: number;
  readonly maxMs: number;
}

export interface OpStats {
  readonly count: number;
  /** Count per HTTP status code, e.g. {"200": 10, "404": 2}. */
  readonly byStatus: Readonly<Record<string, number>>;
  /** Over the last LATENCY_WINDOW requests of this operation. */
  readonly latency: LatencySummary;
}

export interface StatsSnapshot {
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

/** Fixed-size ring of the most recent samples. */
class Window {
  private readonly samples = new Float64Array(LATENCY_WINDOW);
  private size = 0;
  private next = 0;
  private sum = 0;
  private total = 0;
  private max = 0;

  add(value: number): void {
    this.samples[this.next] = value;
    this.next = (this.next + 1) % LATENCY_WINDOW;
    if (this.size < LATENCY_WINDOW) this.size++;
    this.total++;
    this.sum += value;
    if (value > this.max) this.max = value;
  }

  summary(): LatencySummary {
    if (this.size === 0) return { count: 0, meanMs: 0, p50Ms: 0, p90Ms: 0, p99Ms: 0, maxMs: 0 };
    const sorted = Array.from(this.samples.subarray(0, this.size)).sort((a, b) => a - b);
    const at = (q: number): number => round3(sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? 0);
    return {
      count: this.total,
      meanMs: round3(this.sum / this.total),
      p50Ms: at(0.5),
      p90Ms: at(0.9),
      p99Ms: at(0.99),
      maxMs: round3(this.max),
    };
  }
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}

export interface NodeStatsOptions {
  readonly nodeId: string;
  readonly name: string;
  /** Milliseconds since the epoch; defaults to Date.now (tests pass a fake). */
  readonly clock?: () => number;
}

export class NodeStats {
  /** This node's own Prometheus registry (GET /metrics serves it). */
  readonly registry = new Registry();
  private readonly clock: () => number;
  private readonly startedAtMs: number;

  private ready = false;
  private actor: string | null = null;
  private incarnation: number | null = null;
  private requestTotal = 0;
  private readonly opCount = new Map<RequestOp, number>();
  private readonly opStatus = new Map<RequestOp, Map<number, number>>();
  private readonly opLatency = new Map<RequestOp, Window>();
  private readonly quorums = { get: 0, put: 0, delete: 0 };
  private dotsMinted = 0;
  private readRepairs = 0;
  private hintsStored = 0;
  private handoffs = 0;
  private antiEntropyExchanges = 0;
  private antiEntropyKeysRepaired = 0;
  private siblingEvents = 0;
  private siblingMax = 0;
  private siblingLast = 0;
  private reaps = 0;
  private suspects = 0;
  private unsuspects = 0;
  private readonly suspected = new Set<string>();
  private corruptObjects = 0;
  private storageFailing: string | null = null;
  private storageFailingEpisodes = 0;
  private storageLastError: string | null = null;

  private readonly mRequests: Counter<"op" | "status">;
  private readonly mDuration: Histogram<"op">;
  private readonly mEvents: Counter<"event">;
  private readonly mKeysRepaired: Counter;
  private readonly mSiblingsMax: Gauge;
  private readonly mSuspected: Gauge;
  private readonly mReady: Gauge;
  private readonly mCorrupt: Counter;
  private readonly mStorageFailing: Gauge;
  /** Label-bound children, cached: prom-client hashes the label object on every unbound call. */
  private readonly requestChildren = new Map<string, { inc(): void }>();
  private readonly durationChildren = new Map<RequestOp, { observe(v: number): void }>();

  constructor(readonly options: NodeStatsOptions) {
    this.clock = options.clock ?? Date.now;
    this.startedAtMs = this.clock();
    for (const op of REQUEST_OPS) {
      this.opCount.set(op, 0);
      this.opStatus.set(op, new Map());
      this.opLatency.set(op, new Window());
    }
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
    this.mEvents = new Counter({
      name: "mec_node_events_total",
      help: "Node events: quorum, dot-minted, read-repair, hint-stored, handoff, anti-entropy, siblings, reap, suspect, unsuspect",
      labelNames: ["event"],
      registers,
    });
    this.mKeysRepaired = new Counter({
      name: "mec_anti_entropy_keys_repaired_total",
      help: "Keys repaired by anti-entropy exchanges",
      registers,
    });
    this.mSiblingsMax = new Gauge({ name: "mec_siblings_max", help: "Largest live sibling count seen on one key", registers });
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
    // Pre-create the event series so a scrape shows zeros instead of missing series.
    for (const e of ["quorum", "dot-minted", "read-repair", "hint-stored", "handoff", "anti-entropy", "siblings", "reap", "suspect", "unsuspect", "corrupt-object", "storage-failing", "storage-recovered"]) {
      this.mEvents.inc({ event: e }, 0);
    }
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
      case "dot-minted":
        this.dotsMinted++;
        return;
      case "quorum":
        this.quorums[event.op]++;
        return;
      case "read-repair":
        this.readRepairs++;
        return;
      case "hint-stored":
        this.hintsStored++;
        return;
      case "handoff":
        this.handoffs++;
        return;
      case "anti-entropy":
        this.antiEntropyExchanges++;
        this.antiEntropyKeysRepaired += event.keysRepaired;
        this.mKeysRepaired.inc(event.keysRepaired);
        return;
      case "siblings":
        this.siblingEvents++;
        this.siblingLast = event.count;
        if (event.count > this.siblingMax) {
          this.siblingMax = event.count;
          this.mSiblingsMax.set(event.count);
        }
        return;
      case "reap":
        this.reaps++;
        return;
      case "suspect":
        this.suspects++;
        this.suspected.add(event.peer);
        this.mSuspected.set(this.suspected.size);
        return;
      case "unsuspect":
        this.unsuspects++;
        this.suspected.delete(event.peer);
        this.mSuspected.set(this.suspected.size);
        return;
      case "peer-message-dropped":
      case "write-refused":
        // Counted by label in SecurityMetrics (src/adapters/security-metrics.ts).
        return;
      case "mint-refused":
      case "dot-conflict": // counted in mec_node_events_total{event="dot-conflict"} above
        return;
      case "corrupt-object":
        this.corruptObjects++;
        this.mCorrupt.inc();
        return;
      case "storage-failing":
        this.storageFailing = event.reason;
        this.storageFailingEpisodes++;
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
      default: {
        // A new event type: counted in mec_node_events_total above, nothing else to do.
        const _exhaustive: never = event;
        return;
      }
    }
  }

  /** One answered HTTP request (recorded by the server's onResponse hook). */
  recordRequest(op: RequestOp, status: number, latencyMs: number): void {
    this.requestTotal++;
    this.opCount.set(op, (this.opCount.get(op) ?? 0) + 1);
    const byStatus = this.opStatus.get(op);
    if (byStatus !== undefined) byStatus.set(status, (byStatus.get(status) ?? 0) + 1);
    this.opLatency.get(op)?.add(latencyMs);
    const key = `${op} ${status}`;
    let counter = this.requestChildren.get(key);
    if (counter === undefined) {
      counter = this.mRequests.labels({ op, status: String(status) });
      this.requestChildren.set(key, counter);
    }
    counter.inc();
    let histogram = this.durationChildren.get(op);
    if (histogram === undefined) {
      histogram = this.mDuration.labels({ op });
      this.durationChildren.set(op, histogram);
    }
    histogram.observe(latencyMs / 1000);
  }

  /** Why storage writes fail right now, or null (the HTTP layer's readiness). */
  get storageFailingReason(): string | null {
    return this.storageFailing;
  }

  /** Marks the node ready without a "ready" event (for handles that know readiness otherwise). */
  setReady(ready: boolean): void {
    this.ready = ready;
    this.mReady.set(ready ? 1 : 0);
  }

  snapshot(): StatsSnapshot {
    const byOp = {} as Record<RequestOp, OpStats>;
    for (const op of REQUEST_OPS) {
      const byStatus: Record<string, number> = {};
      for (const [status, count] of [...(this.opStatus.get(op) ?? new Map<number, number>())].sort((a, b) => a[0] - b[0])) {
        byStatus[String(status)] = count;
      }
      byOp[op] = {
        count: this.opCount.get(op) ?? 0,
        byStatus,
        latency: (this.opLatency.get(op) ?? new Window()).summary(),
      };
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
      requests: { total: this.requestTotal, byOp },
      quorums: { ...this.quorums },
      dotsMinted: this.dotsMinted,
      readRepairs: this.readRepairs,
      hintsStored: this.hintsStored,
      handoffs: this.handoffs,
      storage: {
        corruptObjects: this.corruptObjects,
        failing: this.storageFailing,
        failingEpisodes: this.storageFailingEpisodes,
        lastError: this.storageLastError,
      },
      antiEntropy: { exchanges: this.antiEntropyExchanges, keysRepaired: this.antiEntropyKeysRepaired },
      siblings: { events: this.siblingEvents, maxCount: this.siblingMax, lastCount: this.siblingLast },
      reaps: this.reaps,
      suspects: this.suspects,
      unsuspects: this.unsuspects,
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
