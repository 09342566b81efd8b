// The production StoragePort over LevelDB (classic-level) under the node's `root` directory.
// It stores opaque bytes under string keys; the key layout (objects by partition, hints, meta)
// is the replica's business (src/core/replica/keys.ts), this file knows nothing of it.
//
// Contract (shared with sim/storage.ts, checked by test/adapters/storage-contract.ts):
// - keys are strings (stored as their UTF-8 bytes), values are bytes, returned as Uint8Array;
// - `done` is called exactly once per submitted op, always asynchronously;
// - ops take effect in submission order where it matters: an op sees every earlier write it
//   conflicts with (same key; or a scan and a write under its prefix) and no later one, and
//   its `done` comes after theirs. Unrelated ops may complete out of submission order;
// - `batch` is atomic (one LevelDB WriteBatch): puts first, then dels;
// - `scan(prefix)` returns every entry whose key starts with prefix, in JavaScript string
//   order (UTF-16 code units), the order the simulator and the core's sorts use. LevelDB
//   orders UTF-8 bytes, i.e. code points, which differs only for keys mixing astral characters
//   with U+E000..U+FFFF; such results are re-sorted.
//
// How (the hot path of every request; measured with `npm run bench`):
// - Writes are group-committed: every put/del/batch submitted while the previous group is
//   being written joins the next group, and a group is one LevelDB WriteBatch (one native
//   call, one fsync with `sync`) whose ops' `done`s run, in submission order, after it
//   completed. One group is written at a time, so writes reach LevelDB in submission order.
//   An idle store starts a group in a setImmediate: after the I/O callbacks of the current
//   event-loop turn, so the writes of all the requests served in that turn share it.
// - Gets are synchronous reads (`getSync`, ~2 us, against ~10-25 us for an awaited get and
//   its promise hops), answered in a microtask. A get of a key with a write still queued or
//   being written answers with that write's value (the latest submitted before the get) once
//   that write's group is durable; if the group fails, the get fails too.
// - Scans (boot only) are queued behind the writes submitted before them, and writes
//   submitted after a scan wait for it to finish.
//
// Durability (`sync`), measured on this machine (../shared/notes/FACTS.md):
// - sync: false  a write is in the OS page cache when `done` is called. A process crash
//                (SIGKILL, uncaught exception) loses nothing acknowledged; a power loss or
//                kernel crash can lose the last writes (those not yet flushed by the OS).
//                ~25k puts/s one at a time.
// - sync: true   every put/del/batch is fsync'd before `done`: survives power loss too (as far
//                as the disk honours flushes). ~2.9k puts/s one at a time; batching amortises.
// - a put or batch marked `sync` by the node (its boot record) is fsync'd whatever the setting
//   (its whole group is: one WriteBatch), so it and every write before it survive power loss.
// The simulator models the difference as "process crash" vs "machine crash".
//
// Only one process may open a root: LevelDB's LOCK file makes a second open fail, and we turn
// that into `root /path is in use by another mec process (LOCK held)`.
//
// Failures (measured: ../shared/notes/FACTS.md) carry a reason the node acts on:
// - "full": a write failed with ENOSPC ("No space left on device"; LevelDB hits it while about
//   2 MiB are still free). LevelDB then refuses every later write until the database is
//   reopened, so after any failed write the next write group first closes and reopens the
//   database. Reopening needs room (LevelDB flushes its log into a table and writes a new
//   manifest), and a failed reopen leaves it closed, so reads fail too: after a "full" failure
//   the adapter reopens only once REOPEN_FREE_BYTES_MIN are free (statfs), and until then
//   fails writes at once while the open database keeps serving reads. Once space is freed,
//   the node's probe write reopens it and writes work again, without a restart.
// - "corrupt": LevelDB reported Corruption (e.g. "corrupted compressed block contents" for a
//   damaged table block: LevelDB does not verify block checksums on reads unless told to, so
//   flipped bytes in an uncompressed block come back as data; the node's record checksums
//   catch those). A scan that hits one names the damaged table file: it runs LevelDB's repair
//   on a temporary copy of the root and reads the table number from the copy's LOG.
// - "io": anything else.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statfsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve as resolvePath } from "node:path";
import { ClassicLevel } from "classic-level";
import type { StorageFailure, StorageOp, StorageResult } from "../core/types.ts";
import type { StoragePort } from "../ports/index.ts";

interface LevelStorageOptions {
  /** fsync each write before acknowledging it (see the header for what each setting promises). */
  readonly sync: boolean;
}

/** The root is held by another process (or another open handle in this one). */
export class StorageLockedError extends Error {}

const utf8 = new TextEncoder();

/** After running out of space, reopen (and so write again) only once this much is free. */
const REOPEN_FREE_BYTES_MIN = 8 * 1024 * 1024;

function freeBytes(dir: string): number {
  try {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  } catch {
    return Number.POSITIVE_INFINITY; // cannot tell: try the reopen
  }
}

/** What kind of failure a LevelDB error is. */
function failureOf(err: unknown): StorageFailure {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } } | null;
  const text = `${e?.code ?? ""} ${e?.message ?? ""} ${e?.cause?.code ?? ""} ${e?.cause?.message ?? ""}`;
  if (/ENOSPC|No space left on device/i.test(text)) return "full";
  if (/LEVEL_CORRUPTION|Corruption/.test(text)) return "corrupt";
  return "io";
}

function messageOf(err: unknown): string {
  const e = err as { message?: string; cause?: { message?: string } } | null;
  return e?.cause?.message ?? e?.message ?? String(err);
}

/**
 * Names the damaged table files of a corrupt root: LevelDB's repair, run on a throwaway copy,
 * logs "Table #N: ... Corruption: ..." for each one. Best effort: "" when it cannot tell.
 */
async function findCorruptTables(root: string): Promise<string> {
  let copy: string | null = null;
  try {
    copy = mkdtempSync(join(tmpdir(), "mec-corrupt-"));
    cpSync(root, copy, { recursive: true, filter: (src) => !src.endsWith("/LOCK") });
    await ClassicLevel.repair(copy);
    const names = new Set<string>();
    for (const line of readFileSync(join(copy, "LOG"), "utf8").split("\n")) {
      const m = /Table #(\d+): .*Corruption/.exec(line);
      if (m !== null) names.add(join(root, `${m[1]!.padStart(6, "0")}.ldb`));
    }
    return [...names].join(", ");
  } catch {
    return "";
  } finally {
    if (copy !== null) rmSync(copy, { recursive: true, force: true });
  }
}
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

/** A queued put/del/batch, its entries in LevelDB order (a null value deletes). */
interface QueuedWrite {
  readonly keys: readonly string[];
  readonly entries: readonly (readonly [Uint8Array, Uint8Array | null])[];
  /** Marked `sync` by the node: its group is fsync'd even when the store does not sync. */
  readonly sync: boolean;
  readonly done: (result: StorageResult) => void;
}

/** One WriteBatch: ops submitted while the previous item was running. */
interface Group {
  readonly kind: "group";
  readonly writes: QueuedWrite[];
  /** Gets answered from this group's writes, delivered after it completed. */
  readonly readers: { readonly value: Uint8Array | undefined; readonly done: (result: StorageResult) => void }[];
  /** Waiting for the group to complete (close). */
  readonly after: (() => void)[];
}

interface QueuedScan {
  readonly kind: "scan";
  readonly prefix: string;
  readonly done: (result: StorageResult) => void;
}

/** The latest queued write of a key: its value (undefined: deleted) and the group holding it. */
interface Overlay {
  readonly value: Uint8Array | undefined;
  readonly group: Group;
}

export class LevelStorage implements StoragePort {
  /** Groups and scans, run one at a time in order; the head is running when `busy`. */
  private readonly queue: (Group | QueuedScan)[] = [];
  private busy = false;
  private kickScheduled = false;
  private readonly overlay = new Map<string, Overlay>();
  /** Completions to deliver in the next microtask (reads, errors). */
  private ready: { done: (result: StorageResult) => void; result: StorageResult }[] = [];
  private readyScheduled = false;
  private closed = false;
  private closing: Promise<void> | null = null;
  /** A write failed: LevelDB refuses writes until reopened, so the next group reopens first. */
  private reopenNeeded: StorageFailure | null = null;
  /** Times the database was reopened after a failed write (tests and /stats read it). */
  reopens = 0;
  /** The damaged table files, found once (a copy and a repair run: only on the error path). */
  private corruptTables: Promise<string> | null = null;

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
    if (this.closed) return this.later(done, { ok: false, message: "storage is closed" });
    switch (op.type) {
      case "get":
        return this.get(op.key, done);
      case "put":
        // Copied: the caller may reuse its buffer (msgpack's encoder does).
        return this.write([[op.key, op.value.slice()]], done, op.sync === true);
      case "del":
        return this.write([[op.key, null]], done, false);
      case "batch":
        return this.write([...op.puts.map(([k, v]) => [k, v.slice()] as const), ...op.dels.map((k) => [k, null] as const)], done, op.sync === true);
      case "scan":
        this.queue.push({ kind: "scan", prefix: op.prefix, done });
        this.kick();
        return;
    }
  }

  /** Waits for queued ops, then closes the database (releasing the LOCK). Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      const last = this.queue[this.queue.length - 1];
      if (last !== undefined) {
        await new Promise<void>((r) => {
          if (last.kind === "group") last.after.push(r);
          else this.queue.push({ kind: "group", writes: [], readers: [], after: [r] });
        });
      }
      await this.db.close();
    })();
    return this.closing;
  }

  private later(done: (result: StorageResult) => void, result: StorageResult): void {
    this.ready.push({ done, result });
    if (this.readyScheduled) return;
    this.readyScheduled = true;
    queueMicrotask(() => {
      this.readyScheduled = false;
      const batch = this.ready;
      this.ready = [];
      for (const r of batch) r.done(r.result);
    });
  }

  private get(key: string, done: (result: StorageResult) => void): void {
    const pending = this.overlay.get(key);
    if (pending !== undefined) {
      pending.group.readers.push({ value: pending.value, done });
      return;
    }
    let result: StorageResult;
    try {
      const value = this.db.getSync(utf8.encode(key));
      result = value === undefined ? { ok: true } : { ok: true, value };
    } catch (err) {
      if (failureOf(err) === "corrupt") {
        void this.corruption(err).then((message) => done({ ok: false, reason: "corrupt", message: `get failed: ${message}` }));
        return;
      }
      result = { ok: false, message: `get failed: ${messageOf(err)}`, reason: failureOf(err) };
    }
    this.later(done, result);
  }

  private write(ops: readonly (readonly [string, Uint8Array | null])[], done: (result: StorageResult) => void, sync: boolean): void {
    let group = this.queue[this.queue.length - 1];
    // The tail joins the next group unless it is already running (or is a scan).
    if (group === undefined || group.kind !== "group" || (this.busy && this.queue.length === 1)) {
      group = { kind: "group", writes: [], readers: [], after: [] };
      this.queue.push(group);
    }
    const keys: string[] = [];
    const entries: [Uint8Array, Uint8Array | null][] = [];
    for (const [key, value] of ops) {
      keys.push(key);
      entries.push([utf8.encode(key), value]);
      this.overlay.set(key, { value: value ?? undefined, group });
    }
    group.writes.push({ keys, entries, sync, done });
    this.kick();
  }

  /** Starts the head of the queue after this event-loop turn's I/O callbacks, so the writes of every request served in the turn share one group. */
  private kick(): void {
    if (this.busy || this.kickScheduled) return;
    this.kickScheduled = true;
    setImmediate(() => {
      this.kickScheduled = false;
      this.runHead();
    });
  }

  private runHead(): void {
    if (this.busy) return;
    const head = this.queue[0];
    if (head === undefined) return;
    this.busy = true;
    const finished = (): void => {
      this.queue.shift();
      this.busy = false;
      this.runHead();
    };
    if (head.kind === "scan") {
      void this.scan(head.prefix).then((result) => {
        finished();
        head.done(result);
      });
      return;
    }
    void this.writeGroup(head).then((result) => {
      for (const w of head.writes) {
        for (const k of w.keys) if (this.overlay.get(k)?.group === head) this.overlay.delete(k);
      }
      finished();
      for (const w of head.writes) w.done(result);
      for (const r of head.readers) {
        if (!result.ok) r.done(result);
        else r.done(r.value === undefined ? { ok: true } : { ok: true, value: r.value.slice() });
      }
      for (const f of head.after) f();
    });
  }

  private async writeGroup(group: Group): Promise<StorageResult> {
    if (group.writes.length === 0) return { ok: true };
    if (this.reopenNeeded !== null) {
      const free = this.reopenNeeded === "full" ? freeBytes(this.root) : Number.POSITIVE_INFINITY;
      if (free < REOPEN_FREE_BYTES_MIN) {
        return { ok: false, reason: "full", message: `write failed: no space left on device (${(free / 1048576).toFixed(1)} MiB free under ${this.root})` };
      }
      try {
        await this.db.close();
        await this.db.open({ createIfMissing: false });
        this.reopenNeeded = null;
        this.reopens++;
      } catch (err) {
        return { ok: false, message: `write failed: reopening LevelDB after a failed write: ${messageOf(err)}`, reason: failureOf(err) };
      }
    }
    try {
      const batch = this.db.batch();
      for (const w of group.writes) {
        for (const [k, v] of w.entries) {
          if (v === null) batch.del(k);
          else batch.put(k, v);
        }
      }
      await batch.write({ sync: this.sync || group.writes.some((w) => w.sync) });
      return { ok: true };
    } catch (err) {
      this.reopenNeeded = failureOf(err);
      return { ok: false, message: `write failed: ${messageOf(err)}`, reason: failureOf(err) };
    }
  }

  private async scan(prefixText: string): Promise<StorageResult> {
    try {
      const prefix = utf8.encode(prefixText);
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
    } catch (err) {
      const reason = failureOf(err);
      if (reason !== "corrupt") return { ok: false, message: `scan failed: ${messageOf(err)}`, reason };
      return { ok: false, reason, message: `scan failed: ${await this.corruption(err)}` };
    }
  }

  /** A LevelDB corruption error, with the damaged table file named when it can be found. */
  private async corruption(err: unknown): Promise<string> {
    this.corruptTables ??= findCorruptTables(this.root);
    const files = await this.corruptTables;
    const where = files === "" ? `a table file under ${this.root}` : `table file ${files}`;
    return `LevelDB error "${messageOf(err)}" in ${where}; move the root aside and start the node empty (its peers re-sync it)`;
  }
}
