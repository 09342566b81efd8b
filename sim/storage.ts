// The simulated twin of the LevelDB adapter: an ordered map of string -> bytes whose
// operations complete after a simulated latency, one after the other (a disk queue: FIFO per
// node, as LevelDB applies one process's writes in order). An operation takes effect when it
// completes, and a completed write is durable. A process crash hands the queued writes to
// the OS (they still land, their callbacks are lost); a machine crash loses them.
import type { StorageOp, StorageResult } from "../src/core/types.ts";
import type { Rng } from "./rng.ts";
import type { Scheduled, Scheduler } from "./scheduler.ts";
import type { Tracer } from "./trace.ts";

export interface StorageLatency {
  readonly readMinMs: number;
  readonly readMaxMs: number;
  /** Synced writes: slower than reads. */
  readonly writeMinMs: number;
  readonly writeMaxMs: number;
}

interface InFlight {
  readonly op: StorageOp;
  readonly event: Scheduled;
}

export class SimStorage {
  private readonly data = new Map<string, Uint8Array>();
  private inflight: InFlight[] = [];
  private lastCompletionMs = 0;
  ops = 0;

  constructor(
    readonly node: string,
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly tracer: Tracer,
    private readonly latency: StorageLatency,
  ) {}

  submit(op: StorageOp, done: (result: StorageResult) => void): void {
    this.ops++;
    const write = op.type !== "get" && op.type !== "scan";
    const ms = write
      ? this.latency.writeMinMs + this.rng.next() * (this.latency.writeMaxMs - this.latency.writeMinMs)
      : this.latency.readMinMs + this.rng.next() * (this.latency.readMaxMs - this.latency.readMinMs);
    const at = Math.max(this.sched.now + ms, this.lastCompletionMs);
    this.lastCompletionMs = at;
    if (this.tracer.on) this.tracer.emit(this.sched.now, "storage-op", this.node, { ...describeOp(op), ...this.describeSets(op) });
    const event = this.sched.at(at, () => {
      this.removeInflight(event);
      const result = this.apply(op);
      if (this.tracer.on) this.tracer.emit(this.sched.now, "storage-done", this.node, { op: op.type, ok: result.ok });
      done(result);
    });
    this.inflight.push({ op, event });
  }

  /** For the trace: summaries of the objects a write stores (when the tracer can describe them). */
  private describeSets(op: StorageOp): Record<string, unknown> {
    const d = this.tracer.describe;
    if (d === null || (op.type !== "put" && op.type !== "batch")) return {};
    const puts: readonly (readonly [string, Uint8Array])[] = op.type === "put" ? [[op.key, op.value]] : op.puts;
    const sets = puts.map(([k, v]) => d.stored(k, v)).filter((s) => s !== null);
    return sets.length > 0 ? { sets } : {};
  }

  private removeInflight(event: Scheduled): void {
    // FIFO: the completing op is almost always the first.
    const i = this.inflight.findIndex((f) => f.event === event);
    if (i >= 0) this.inflight.splice(i, 1);
  }

  /** Process crash: queued writes still land (the OS has them), no callback runs. */
  crashProcess(): void {
    for (const f of this.inflight) {
      f.event.cancel();
      if (f.op.type !== "get" && f.op.type !== "scan") this.apply(f.op);
    }
    this.inflight = [];
    this.lastCompletionMs = 0;
  }

  /** Machine crash: queued (not yet synced) writes are lost. */
  crashMachine(): number {
    let lost = 0;
    for (const f of this.inflight) {
      f.event.cancel();
      if (f.op.type !== "get" && f.op.type !== "scan") lost++;
    }
    this.inflight = [];
    this.lastCompletionMs = 0;
    return lost;
  }

  /** Data wipe: everything is gone (call after a crash). */
  wipe(): void {
    this.data.clear();
    this.wipedAtMs.push(this.sched.now);
  }

  /** When this disk was wiped (the read checker excuses reads that a wipe may explain). */
  readonly wipedAtMs: number[] = [];

  /** The durable contents, in key order. */
  entries(): [string, Uint8Array][] {
    return [...this.data.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  get size(): number {
    return this.data.size;
  }

  private apply(op: StorageOp): StorageResult {
    switch (op.type) {
      case "get": {
        const value = this.data.get(op.key);
        return value === undefined ? { ok: true } : { ok: true, value };
      }
      case "put":
        this.data.set(op.key, op.value.slice());
        return { ok: true };
      case "del":
        this.data.delete(op.key);
        return { ok: true };
      case "batch":
        for (const [k, v] of op.puts) this.data.set(k, v.slice());
        for (const k of op.dels) this.data.delete(k);
        return { ok: true };
      case "scan": {
        const entries: [string, Uint8Array][] = [];
        for (const [k, v] of this.data) if (k.startsWith(op.prefix)) entries.push([k, v]);
        entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
        return { ok: true, entries };
      }
    }
  }
}

function describeOp(op: StorageOp): Record<string, unknown> {
  switch (op.type) {
    case "get":
    case "del":
      return { op: op.type, key: op.key };
    case "put":
      return { op: op.type, key: op.key, size: op.value.length };
    case "batch":
      return { op: op.type, puts: op.puts.map(([k]) => k), dels: op.dels };
    case "scan":
      return { op: op.type, prefix: op.prefix };
  }
}
