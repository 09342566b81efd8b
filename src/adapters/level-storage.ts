// The production StoragePort over LevelDB (classic-level) under the node's `root` directory.
// It stores opaque bytes under string keys; the key layout (objects by partition, hints, meta)
// is the replica's business (src/core/replica/keys.ts), this file knows nothing of it.
//
// Contract (shared with sim/storage.ts, checked by test/adapters/storage-contract.ts):
// - keys are strings (stored as their UTF-8 bytes), values are bytes, returned as Uint8Array;
// - `done` is called exactly once per submitted op, always asynchronously;
// - ops take effect in submission order where it matters: an op waits for every earlier,
//   still running op it conflicts with (same key; or a scan and a write under its prefix).
//   Unrelated ops run concurrently (LevelDB does ~5x more puts/s with 64 in flight than
//   one at a time), so their callbacks may complete out of submission order;
// - `batch` is atomic (one LevelDB WriteBatch): puts first, then dels;
// - `scan(prefix)` returns every entry whose key starts with prefix, in JavaScript string
//   order (UTF-16 code units), the order the simulator and the core's sorts use. LevelDB
//   orders UTF-8 bytes, i.e. code points, which differs only for keys mixing astral characters
//   with U+E000..U+FFFF; such results are re-sorted.
//
// Durability (`sync`), measured on this machine (../shared/notes/FACTS.md):
// - sync: false  a write is in the OS page cache when `done` is called. A process crash
//                (SIGKILL, uncaught exception) loses nothing acknowledged; a power loss or
//                kernel crash can lose the last writes (those not yet flushed by the OS).
//                ~25k puts/s one at a time.
// - sync: true   every put/del/batch is fsync'd before `done`: survives power loss too (as far
//                as the disk honours flushes). ~2.9k puts/s one at a time; batching amortises.
// The simulator models the difference as "process crash" vs "machine crash".
//
// Only one process may open a root: LevelDB's LOCK file makes a second open fail, and we turn
// that into `root /path is in use by another mec process (LOCK held)`.
import { mkdirSync } from "node:fs";
import { resolve as resolvePath } from "node:path";
import { ClassicLevel } from "classic-level";
import type { StorageOp, StorageResult } from "../core/types.ts";
import type { StoragePort } from "../ports/index.ts";

export interface LevelStorageOptions {
  /** fsync each write before acknowledging it (see the header for what each setting promises). */
  readonly sync: boolean;
}

/** The root is held by another process (or another open handle in this one). */
export class StorageLockedError extends Error {}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: false });

/** Smallest byte string greater than every string starting with `prefix` (no UTF-8 byte is 0xff). */
function upperBound(prefix: Uint8Array): Uint8Array {
  const bound = prefix.slice();
  bound[bound.length - 1] = bound[bound.length - 1]! + 1;
  return bound;
}

function jsOrder(a: readonly [string, Uint8Array], b: readonly [string, Uint8Array]): number {
  return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
}

function copyValues(op: StorageOp): StorageOp {
  if (op.type === "put") return { ...op, value: op.value.slice() };
  if (op.type === "batch") return { ...op, puts: op.puts.map(([k, v]) => [k, v.slice()] as const) };
  return op;
}

interface Running {
  /** Keys written (for writes) or read (for gets). */
  readonly keys: readonly string[];
  readonly write: boolean;
  /** Set for scans. */
  readonly prefix: string | null;
  readonly finished: Promise<void>;
}

function conflicts(a: Omit<Running, "finished">, b: Omit<Running, "finished">): boolean {
  if (!a.write && !b.write) return false; // reads never conflict with reads
  if (a.prefix !== null && b.prefix !== null) return false; // two scans are both reads
  if (a.prefix !== null) return b.keys.some((k) => k.startsWith(a.prefix!));
  if (b.prefix !== null) return a.keys.some((k) => k.startsWith(b.prefix!));
  return a.keys.some((k) => b.keys.includes(k));
}

export class LevelStorage implements StoragePort {
  private readonly running = new Set<Running>();
  private closed = false;

  private constructor(
    private readonly db: ClassicLevel<Uint8Array, Uint8Array>,
    readonly root: string,
    private readonly sync: boolean,
  ) {}

  /** Opens (creating if missing) the LevelDB under root; fails fast if another process holds it. */
  static async open(root: string, opts: LevelStorageOptions): Promise<LevelStorage> {
    const dir = resolvePath(root);
    try {
      mkdirSync(dir, { recursive: true });
    } catch (err) {
      throw new Error(`cannot create root ${dir}: ${(err as Error).message}`);
    }
    const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, { keyEncoding: "view", valueEncoding: "view" });
    try {
      await db.open({ createIfMissing: true });
    } catch (err) {
      const e = err as { code?: string; cause?: { code?: string; message?: string }; message: string };
      if (e.cause?.code === "LEVEL_LOCKED" || e.code === "LEVEL_LOCKED") {
        throw new StorageLockedError(`root ${dir} is in use by another mec process (LOCK held)`);
      }
      throw new Error(`cannot open LevelDB under root ${dir}: ${e.cause?.message ?? e.message}`);
    }
    return new LevelStorage(db, dir, opts.sync);
  }

  submit(op: StorageOp, done: (result: StorageResult) => void): void {
    let called = false;
    const finish = (result: StorageResult): void => {
      if (called) return;
      called = true;
      done(result);
    };
    if (this.closed) {
      queueMicrotask(() => finish({ ok: false, message: "storage is closed" }));
      return;
    }
    // Copy the caller's bytes now: it may reuse its buffer (msgpack's encoder does) while the
    // op waits for an earlier conflicting one.
    op = copyValues(op);
    const entry = this.describe(op);
    const before = [...this.running].filter((r) => conflicts(r, entry)).map((r) => r.finished);
    let settle!: () => void;
    const mine: Running = { ...entry, finished: new Promise<void>((r) => (settle = r)) };
    this.running.add(mine);
    const started = before.length === 0 ? this.execute(op) : Promise.all(before).then(() => this.execute(op));
    void started
      .then(
        (result) => result,
        (err: unknown): StorageResult => ({ ok: false, message: `${op.type} failed: ${(err as Error).message ?? String(err)}` }),
      )
      .then((result) => {
        this.running.delete(mine);
        settle();
        finish(result);
      });
  }

  /** Waits for running ops, then closes the database (releasing the LOCK). Idempotent. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.running].map((r) => r.finished));
    await this.db.close();
  }

  private describe(op: StorageOp): Omit<Running, "finished"> {
    switch (op.type) {
      case "get":
        return { keys: [op.key], write: false, prefix: null };
      case "put":
      case "del":
        return { keys: [op.key], write: true, prefix: null };
      case "batch":
        return { keys: [...op.puts.map(([k]) => k), ...op.dels], write: true, prefix: null };
      case "scan":
        return { keys: [], write: false, prefix: op.prefix };
    }
  }

  private async execute(op: StorageOp): Promise<StorageResult> {
    const sync = this.sync;
    switch (op.type) {
      case "get": {
        const value = await this.db.get(utf8.encode(op.key));
        return value === undefined ? { ok: true } : { ok: true, value };
      }
      case "put":
        await this.db.put(utf8.encode(op.key), op.value, { sync });
        return { ok: true };
      case "del":
        await this.db.del(utf8.encode(op.key), { sync });
        return { ok: true };
      case "batch": {
        const batch = this.db.batch();
        for (const [k, v] of op.puts) batch.put(utf8.encode(k), v);
        for (const k of op.dels) batch.del(utf8.encode(k));
        await batch.write({ sync });
        return { ok: true };
      }
      case "scan": {
        const prefix = utf8.encode(op.prefix);
        const range = prefix.length === 0 ? {} : { gte: prefix, lt: upperBound(prefix) };
        const raw = await this.db.iterator(range).all();
        let resort = false;
        const entries = raw.map(([k, v]): [string, Uint8Array] => {
          const key = fromUtf8.decode(k);
          if (!resort && /[\ud800-\uffff]/.test(key)) resort = true;
          return [key, v];
        });
        if (resort) entries.sort(jsOrder);
        return { ok: true, entries };
      }
    }
  }
}
