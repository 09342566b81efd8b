// Simulated clients and their history. Each client runs one operation at a time against a
// node it picks at random: blind writes (no context), read-modify-writes (get, then put with
// the returned clock as context), deletes with context, and reads, over a small key space so
// conflicts happen. Every written value is unique ("k1=c2.7"), so a value found in a replica
// names the operation that wrote it. After writesUntilMs the clients only read (read repair).
import type { ClientOp, NodeId } from "../src/core/types.ts";
import type { VClock } from "../src/core/versioning/types.ts";
import type { HistoryOp } from "./history.ts";
import type { ClientOutcome } from "./process.ts";
import type { Rng } from "./rng.ts";
import type { SimCluster } from "./cluster.ts";

export interface OpMix {
  readonly blind: number;
  readonly rmw: number;
  readonly delete: number;
  readonly read: number;
}

export interface WorkloadSpec {
  readonly clients: number;
  readonly keys: readonly string[];
  readonly thinkMinMs: number;
  readonly thinkMaxMs: number;
  readonly mix: OpMix;
  /** A client gives up waiting after this long (the write's outcome is then unknown). */
  readonly clientTimeoutMs: number;
  /** Stop after this many operations in total (writes and reads); Infinity for no limit. */
  readonly opsMax: number;
}

const encoder = new TextEncoder();

export class Workload {
  readonly history: HistoryOp[] = [];
  private opsStarted = 0;
  private writesUntilMs = 0;
  private stopAtMs = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly spec: WorkloadSpec,
    private readonly rng: Rng,
  ) {}

  /** Starts every client now; writes stop at writesUntilMs, everything at stopAtMs. */
  start(writesUntilMs: number, stopAtMs: number): void {
    this.writesUntilMs = writesUntilMs;
    this.stopAtMs = stopAtMs;
    for (let c = 0; c < this.spec.clients; c++) {
      const client = new Client(c, this, this.rng.fork(`client${c}`));
      this.cluster.sched.after(this.think(client.rng), () => client.next());
    }
  }

  think(rng: Rng): number {
    return this.spec.thinkMinMs + rng.next() * (this.spec.thinkMaxMs - this.spec.thinkMinMs);
  }

  /** Schedules a client's next operation after its think time. */
  invokeLater(client: Client): void {
    this.cluster.sched.after(this.think(client.rng), () => client.next());
  }

  get now(): number {
    return this.cluster.sched.now;
  }

  mayStart(): boolean {
    return this.now < this.stopAtMs && this.opsStarted < this.spec.opsMax;
  }

  writesAllowed(): boolean {
    return this.now < this.writesUntilMs;
  }

  get keys(): readonly string[] {
    return this.spec.keys;
  }

  get mix(): OpMix {
    return this.spec.mix;
  }

  /** Invokes op on a node; done gets the history record after it completed. */
  invoke(client: number, rng: Rng, op: ClientOp, value: string | null, done: (rec: HistoryOp) => void): void {
    this.opsStarted++;
    const node: NodeId = rng.pick(this.cluster.clientTargets);
    const rec: HistoryOp = {
      id: this.history.length,
      client,
      node,
      kind: op.type,
      key: op.key,
      value,
      context: op.type === "get" ? null : op.context,
      invokedAtMs: this.now,
      completedAtMs: null,
      outcome: "pending",
      dot: null,
      readSet: null,
      error: null,
    };
    this.history.push(rec);
    const tracer = this.cluster.tracer;
    if (tracer.on) tracer.emit(this.now, "invoke", node, { op: rec.id, client, kind: rec.kind, key: rec.key, value, context: rec.context });
    let finished = false;
    const timeout = this.cluster.sched.after(this.spec.clientTimeoutMs, () => {
      if (finished) return;
      finished = true;
      this.complete(rec, { ok: false, type: "crashed" }, "client timeout");
      done(rec);
    });
    this.cluster.process(node).request(op, (outcome) => {
      if (finished) return;
      finished = true;
      timeout.cancel();
      this.complete(rec, outcome, null);
      done(rec);
    });
  }

  private complete(rec: HistoryOp, outcome: ClientOutcome, note: string | null): void {
    rec.completedAtMs = this.now;
    if (outcome.ok) {
      rec.outcome = "ok";
      if (outcome.type === "get") rec.readSet = outcome.set;
      else {
        rec.dot = outcome.dot;
        this.cluster.writeAcked();
      }
    } else if (!("error" in outcome)) {
      if (outcome.type === "refused") {
        rec.outcome = "failed";
        rec.error = "refused";
      } else {
        rec.outcome = rec.kind === "get" ? "failed" : "unknown";
        rec.error = note ?? "coordinator crashed";
      }
    } else {
      rec.outcome = rec.kind !== "get" && outcome.maybeApplied ? "unknown" : "failed";
      rec.error = outcome.error;
    }
    const tracer = this.cluster.tracer;
    if (tracer.on) tracer.emit(this.now, "complete", rec.node, { op: rec.id, outcome: rec.outcome, dot: rec.dot, error: rec.error, read: rec.readSet });
  }
}

class Client {
  private seq = 0;
  constructor(
    readonly id: number,
    private readonly w: Workload,
    readonly rng: Rng,
  ) {}

  next(): void {
    if (!this.w.mayStart()) return;
    const key = this.rng.pick(this.w.keys);
    const mix = this.w.mix;
    const kind = this.w.writesAllowed()
      ? this.rng.weighted<keyof OpMix>([
          ["blind", mix.blind],
          ["rmw", mix.rmw],
          ["delete", mix.delete],
          ["read", mix.read],
        ])
      : "read";
    const then = (): void => {
      this.w.invokeLater(this);
    };
    switch (kind) {
      case "blind":
        this.put(key, null, then);
        return;
      case "read":
        this.w.invoke(this.id, this.rng, { type: "get", key }, null, then);
        return;
      case "rmw":
      case "delete":
        this.w.invoke(this.id, this.rng, { type: "get", key }, null, (rec) => {
          if (rec.outcome !== "ok" || !this.w.writesAllowed() || !this.w.mayStart()) return then();
          const context: VClock | null = rec.readSet?.clock ?? null;
          if (kind === "rmw") this.put(key, context, then);
          else if (context === null) then();
          else this.w.invoke(this.id, this.rng, { type: "delete", key, context, clientId: `c${this.id}` }, null, then);
        });
        return;
    }
  }

  private put(key: string, context: VClock | null, then: () => void): void {
    const value = `${key}=c${this.id}.${++this.seq}`;
    this.w.invoke(this.id, this.rng, { type: "put", key, value: encoder.encode(value), contentType: "text/plain", context, clientId: `c${this.id}` }, value, then);
  }
}
