// The simulated twin of the LevelDB adapter: an ordered map of string -> bytes whose
// operations complete after a simulated latency, one after the other (a disk queue: FIFO per
// node, as LevelDB applies one process's writes in order). An operation takes effect when it
// completes. A process crash hands the queued writes to the OS (they still land, their
// callbacks are lost); a machine crash loses them.
//
// Durability follows the node's `sync` setting, as LevelDB's log does:
// - sync = true: a completed write is durable;
// - sync = false: a completed write is visible but sits in the OS page cache until a write
//   marked `sync` completes (LevelDB's log is sequential: syncing it syncs every earlier
//   record) or the OS writes it back (writebackMs after it completed). A machine crash that is
//   allowed to lose data (the fault driver's budget) loses a random SUFFIX of those unsynced
//   writes, which is what a power loss does to LevelDB's log tail (and a flipped byte in the
//   log, which drops the records after it); one that is not allowed to flushes them first.
//
// Storage faults (driven by sim/faults.ts from the seed's StorageFaultPlan):
// - failWrites = "full" | "io": every write fails, as a full disk or a dying one does (reads
//   still work), until cleared; like LevelDB after ENOSPC, nothing of a failed write lands;
// - writeErrorRate: each write fails on its own with this probability (reason "io");
// - corrupt(pick, at): flips one bit of one stored object or hint (bit rot under the node).
import type { StorageFailure, StorageOp, StorageResult } from "../src/core/types.ts";
import type { Rng } from "./rng.ts";
import type { Scheduled, Scheduler } from "./scheduler.ts";
import type { Tracer } from "./trace.ts";

export interface StorageLatency {
  readonly readMinMs: number;
  readonly readMaxMs: number;
  /** Synced writes: slower than reads. */
  readonly writeMinMs: number;
  readonly writeMaxMs: number;
  /** Optional: draws each operation's latency itself (the quorum lab); replaces the ranges. */
  readonly sampleMs?: (node: string, op: StorageOp) => number;
}

interface StorageDurability {
  /** Completed writes are durable (the node's sync = true). */
  readonly sync: boolean;
  /** With sync = false: the OS writes an unsynced write back this long after it completed. */
  readonly writebackMs: number;
}

interface Unsynced {
  readonly op: StorageOp;
  readonly atMs: number;
}

interface InFlight {
  readonly op: StorageOp;
  readonly event: Scheduled;
}

export class SimStorage {
  /** What reads see (durable + unsynced). */
  private data = new Map<string, Uint8Array>();
  /** What survives a machine crash that loses every unsynced write (only kept with sync = false). */
  private durable = new Map<string, Uint8Array>();
  private unsynced: Unsynced[] = [];
  private inflight: InFlight[] = [];
  private lastCompletionMs = 0;
  ops = 0;
  /** While set, every write fails with this reason. */
  failWrites: Exclude<StorageFailure, "corrupt"> | null = null;
  /** Probability that one write fails on its own (an I/O error). */
  writeErrorRate = 0;
  writesFailed = 0;
  /** Called as a delete takes effect, with the bytes it removes (the hint-deletion log). */
  onDelete: ((key: string, removed: Uint8Array) => void) | null = null;

  constructor(
    readonly node: string,
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly tracer: Tracer,
    private readonly latency: StorageLatency,
    private readonly durability: StorageDurability = { sync: true, writebackMs: 0 },
  ) {}

  submit(op: StorageOp, done: (result: StorageResult) => void): void {
    this.ops++;
    const write = op.type !== "get" && op.type !== "scan";
    const ms = this.latency.sampleMs !== undefined
      ? this.latency.sampleMs(this.node, op)
      : write
      ? this.latency.writeMinMs + this.rng.next() * (this.latency.writeMaxMs - this.latency.writeMinMs)
      : this.latency.readMinMs + this.rng.next() * (this.latency.readMaxMs - this.latency.readMinMs);
    const at = Math.max(this.sched.now + ms, this.lastCompletionMs);
    this.lastCompletionMs = at;
    if (this.tracer.on) this.tracer.emit(this.sched.now, "storage-op", this.node, { ...describeOp(op), ...this.describeSets(op) });
    const event = this.sched.at(at, () => {
      this.removeInflight(event);
      const result = this.complete(op);
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
      if (f.op.type !== "get" && f.op.type !== "scan") this.complete(f.op);
    }
    this.inflight = [];
    this.lastCompletionMs = 0;
  }

  /**
   * Machine crash: queued writes are lost. With sync = false and loseUnsynced, so is a random
   * suffix (at least one) of the completed but unsynced writes; without loseUnsynced they are
   * written back first. Returns the number of writes lost (queued and completed).
   */
  crashMachine(loseUnsynced = false): number {
    let queued = 0;
    for (const f of this.inflight) {
      f.event.cancel();
      if (f.op.type !== "get" && f.op.type !== "scan") queued++;
    }
    this.inflight = [];
    this.lastCompletionMs = 0;
    this.writeBack(this.sched.now - this.durability.writebackMs);
    let keep = this.unsynced.length;
    if (loseUnsynced && keep > 0) keep = this.rng.int(0, keep - 1);
    const lost = this.unsynced.length - keep;
    for (const u of this.unsynced.slice(0, keep)) applyOp(this.durable, u.op);
    this.unsynced = [];
    if (!this.durability.sync) this.data = new Map(this.durable);
    if (lost > 0) this.wipedAtMs.push(this.sched.now); // completed writes are gone: a partial disk loss
    return queued + lost;
  }

  /** Completed writes not yet durable (always 0 with sync = true). */
  get unsyncedCount(): number {
    this.writeBack(this.sched.now - this.durability.writebackMs);
    return this.unsynced.length;
  }

  /** An op takes effect: visible at once; durable now with sync (or a sync-marked op), else later. */
  private complete(op: StorageOp): StorageResult {
    if (op.type !== "get" && op.type !== "scan") {
      const fault = this.writeFault();
      if (fault !== null) {
        this.writesFailed++;
        return fault;
      }
    }
    if (this.onDelete !== null) this.reportDeletes(op);
    const result = applyOp(this.data, op);
    if (op.type === "del") this.deletedAtMs.set(op.key, this.sched.now);
    else if (op.type === "batch") for (const k of op.dels) this.deletedAtMs.set(k, this.sched.now);
    if (this.durability.sync || op.type === "get" || op.type === "scan") return result;
    this.unsynced.push({ op, atMs: this.sched.now });
    if ((op.type === "put" || op.type === "batch") && op.sync === true) this.writeBack(Infinity);
    else this.writeBack(this.sched.now - this.durability.writebackMs);
    return result;
  }

  private reportDeletes(op: StorageOp): void {
    const keys = op.type === "del" ? [op.key] : op.type === "batch" ? op.dels : [];
    for (const k of keys) {
      const removed = this.data.get(k);
      if (removed !== undefined) this.onDelete!(k, removed);
    }
  }

  /** Makes durable every unsynced write that completed at or before `untilMs` (a prefix). */
  private writeBack(untilMs: number): void {
    let i = 0;
    while (i < this.unsynced.length && this.unsynced[i]!.atMs <= untilMs) applyOp(this.durable, this.unsynced[i++]!.op);
    if (i > 0) this.unsynced.splice(0, i);
  }

  /** Data wipe: everything is gone (call after a crash). */
  wipe(): void {
    this.data.clear();
    this.durable.clear();
    this.unsynced = [];
    this.wipedAtMs.push(this.sched.now);
  }

  /** When this disk lost completed writes: wiped, or a power loss that cut its unsynced tail (the read checker excuses reads such a loss may explain). */
  readonly wipedAtMs: number[] = [];

  /** When each storage key was last deleted (reaping; the anti-entropy checker skips such keys). */
  readonly deletedAtMs = new Map<string, number>();

  /** Bit flips so far: when, and which storage key. */
  readonly corruptions: { readonly atMs: number; readonly key: string }[] = [];

  /** What reads see now under one key (the bytes are never mutated in place). */
  peek(key: string): Uint8Array | undefined {
    return this.data.get(key);
  }

  /** What reads see now under a key prefix (the bytes are never mutated in place: a snapshot). */
  withPrefix(prefix: string): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const [k, v] of this.data) if (k.startsWith(prefix)) out.set(k, v);
    return out;
  }

  /** The durable contents, in key order. */
  entries(): [string, Uint8Array][] {
    return [...this.data.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  }

  get size(): number {
    return this.data.size;
  }

  /**
   * Flips one bit of a stored object or hint: the pick-th of them in key order, at a byte
   * near its end (where a sibling's value lies). Returns the key, or null if there is none.
   * The flip is on the disk: in what reads see and in the durable copy.
   */
  corrupt(pick: number, at: number): string | null {
    const keys = [...this.data.keys()].filter((k) => k.startsWith("o:") || k.startsWith("h:")).sort();
    if (keys.length === 0) return null;
    const key = keys[pick % keys.length]!;
    const bytes = this.data.get(key)!.slice();
    const i = bytes.length - 1 - (at % Math.min(bytes.length, 12));
    bytes[i] = bytes[i]! ^ (1 << (at % 8));
    this.data.set(key, bytes);
    if (this.durable.has(key)) this.durable.set(key, bytes.slice());
    this.corruptions.push({ atMs: this.sched.now, key });
    if (this.tracer.on) this.tracer.emit(this.sched.now, "storage-corrupt", this.node, { key, byte: i });
    return key;
  }

  private writeFault(): StorageResult | null {
    if (this.failWrites === "full") return { ok: false, message: "IO error: No space left on device (simulated)", reason: "full" };
    if (this.failWrites === "io" || (this.writeErrorRate > 0 && this.rng.next() < this.writeErrorRate)) {
      return { ok: false, message: "IO error: input/output error (simulated)", reason: "io" };
    }
    return null;
  }
}

/** Applies op to a map (reads read it). */
function applyOp(data: Map<string, Uint8Array>, op: StorageOp): StorageResult {
  switch (op.type) {
    case "get": {
      const value = data.get(op.key);
      return value === undefined ? { ok: true } : { ok: true, value };
    }
    case "put":
      data.set(op.key, op.value.slice());
      return { ok: true };
    case "del":
      data.delete(op.key);
      return { ok: true };
    case "batch":
      for (const [k, v] of op.puts) data.set(k, v.slice());
      for (const k of op.dels) data.delete(k);
      return { ok: true };
    case "scan": {
      const entries: [string, Uint8Array][] = [];
      for (const [k, v] of data) if (k.startsWith(op.prefix)) entries.push([k, v]);
      entries.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
      return { ok: true, entries };
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
