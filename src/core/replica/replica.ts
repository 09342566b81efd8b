// The vnode side of a node: what a replica does with a key. Owns: local reads (object plus
// hints), the serialised read-modify-write of every stored key (minting a dot, merging an
// incoming set, reaping, deleting a handed-off hint), the hint index and the anti-entropy
// trees. Must not know: quorums, clients, request routing (coordinator/ does that).
//
// Theory of operation.
// - Every change to a stored key is a read-modify-write through a per-storage-key queue
//   (KeyLocks), held until the storage write completes: storage is asynchronous, so two
//   writes to one key must never interleave between their read and their write.
// - A replica merges (dvvset sync) whatever it receives with what it holds; it never replaces
//   (the planted bug "overwrite" does). A merge that changes nothing writes nothing.
// - A primary mints dots against its own object, which holds every dot this actor ever
//   minted for the key (objects are never deleted, see reap below). So a dot is never issued
//   twice while the node keeps its data; a node that lost its data boots with a new
//   incarnation, i.e. a new actor.
// - A fallback mints only when no primary is reachable (a minority side of a partition). Its
//   dots live in hints, which are deleted after handoff, so it also records (atomically with
//   the hint, key c:<partition>:<key>) the highest counter it minted for the key, and refuses
//   to mint when the hints it still holds do not cover that counter: minting again would
//   re-issue a dot, and raising the counter without holding the old sibling would make sync
//   drop that sibling elsewhere. The client then gets "unavailable" (nothing was applied).
// - Reaping replaces a tombstone-only object with a sibling-less set that keeps its clock (a
//   "remnant"). A real delete would let a late hint, repair or anti-entropy message resurrect
//   an older value, and would let this actor re-mint counter 1 for the key. The remnant's
//   clock drops every older sibling on merge; it costs one clock per reaped key.
import { decode as msgpackDecode, encode as msgpackEncode } from "@msgpack/msgpack";
import type { NodeContext } from "../context.ts";
import type { Dot, SiblingSet, VClock } from "../versioning/types.ts";
import type { NodeId, StorageResult } from "../types.ts";
import {
  applyWrite,
  counterOf,
  decodeSiblingSet,
  emptySet,
  encodeSiblingSet,
  isTombstoneOnly,
  liveSiblings,
  mergeReplicas,
  nanosFromMillis,
  setsEqual,
} from "../versioning/index.ts";
import { preferenceList } from "../ring/index.ts";
import { AntiEntropyTrees } from "./anti-entropy.ts";
import { checkObjectLimits, type ObjectSize } from "./limits.ts";
import { HINT_PREFIX, OBJECT_PREFIX, hintKey, mintedKey, objectKey, parseHintKey, parseObjectKey } from "./keys.ts";


/** Per-storage-key FIFO of read-modify-write bodies; a body calls release when its write completed. */
export class KeyLocks {
  private readonly queues = new Map<string, (() => void)[]>();

  run(storageKey: string, body: (release: () => void) => void): void {
    const queue = this.queues.get(storageKey);
    if (queue !== undefined) {
      queue.push(() => body(() => this.release(storageKey)));
      return;
    }
    this.queues.set(storageKey, []);
    body(() => this.release(storageKey));
  }

  private release(storageKey: string): void {
    const queue = this.queues.get(storageKey);
    if (queue === undefined) return; // released twice: ignore
    const next = queue.shift();
    if (next === undefined) this.queues.delete(storageKey);
    else next();
  }

  get busyKeys(): number {
    return this.queues.size;
  }
}

export interface HintEntry {
  readonly storageKey: string;
  readonly target: NodeId;
  readonly partition: number;
  readonly key: string;
}

/** In-memory index of the hints this node holds (rebuilt from storage at boot). */
export class HintIndex {
  private readonly byStorageKey = new Map<string, HintEntry>();
  private readonly byKey = new Map<string, Set<string>>();

  /** Called after a new hint was indexed (the node arms its handoff loop). */
  onAdd: (() => void) | null = null;

  add(entry: HintEntry): void {
    if (this.byStorageKey.has(entry.storageKey)) return;
    this.byStorageKey.set(entry.storageKey, entry);
    this.onAdd?.();
    const k = `${entry.partition}:${entry.key}`;
    let set = this.byKey.get(k);
    if (set === undefined) this.byKey.set(k, (set = new Set()));
    set.add(entry.storageKey);
  }

  remove(storageKey: string): void {
    const entry = this.byStorageKey.get(storageKey);
    if (entry === undefined) return;
    this.byStorageKey.delete(storageKey);
    const k = `${entry.partition}:${entry.key}`;
    const set = this.byKey.get(k);
    set?.delete(storageKey);
    if (set?.size === 0) this.byKey.delete(k);
  }

  /** Storage keys of the hints held for one key (any target). */
  forKey(partition: number, key: string): string[] {
    return [...(this.byKey.get(`${partition}:${key}`) ?? [])];
  }

  all(): HintEntry[] {
    return [...this.byStorageKey.values()];
  }

  get size(): number {
    return this.byStorageKey.size;
  }
}

export type ReadResult = { readonly ok: true; readonly set: SiblingSet | null } | { readonly ok: false };

export type MintResult =
  | { readonly ok: true; readonly set: SiblingSet; readonly bytes: Uint8Array; readonly dot: Dot }
  | { readonly ok: false; readonly message: string; readonly unavailable?: true; readonly refused?: "too-many-siblings" | "object-too-large" };

export interface WriteSpec {
  readonly partition: number;
  readonly key: string;
  readonly value: Uint8Array | null;
  readonly contentType: string;
  readonly context: VClock;
  readonly clientId: string | null;
}

/** Decodes a stored or received set; null (and a log line) when the bytes are malformed. */
export function tryDecodeSet(ctx: NodeContext, bytes: Uint8Array, what: string): SiblingSet | null {
  try {
    return decodeSiblingSet(bytes);
  } catch (e) {
    ctx.log("warn", `dropping malformed sibling set (${what})`, { error: e instanceof Error ? e.message : String(e) });
    return null;
  }
}

export class Replica {
  readonly locks = new KeyLocks();
  readonly hints = new HintIndex();
  readonly trees = new AntiEntropyTrees();

  constructor(private readonly ctx: NodeContext) {}

  private readonly prefCache = new Map<number, { primaries: readonly NodeId[]; fallbacks: readonly NodeId[] }>();

  /** The partition's preference list (cached: membership is static). */
  preferences(partition: number): { primaries: readonly NodeId[]; fallbacks: readonly NodeId[] } {
    let p = this.prefCache.get(partition);
    if (p === undefined) {
      const pl = preferenceList(this.ctx.ring, partition, this.ctx.config.n);
      p = { primaries: [...pl.primaries], fallbacks: [...pl.fallbacks] };
      this.prefCache.set(partition, p);
    }
    return p;
  }

  isPrimary(partition: number): boolean {
    return this.preferences(partition).primaries.includes(this.ctx.self);
  }

  private primaryPartitionsCache: readonly number[] | null = null;

  /** Partitions this node is a primary for. */
  primaryPartitions(): readonly number[] {
    if (this.primaryPartitionsCache === null) {
      const out: number[] = [];
      for (let p = 0; p < this.ctx.config.partitionCount; p++) if (this.isPrimary(p)) out.push(p);
      this.primaryPartitionsCache = out;
    }
    return this.primaryPartitionsCache;
  }

  /** Rebuilds the anti-entropy trees and the hint index from storage. */
  boot(done: (ok: boolean) => void): void {
    this.ctx.storage({ type: "scan", prefix: OBJECT_PREFIX }, (objects) => {
      if (!objects.ok) return done(false);
      for (const [k, v] of objects.entries ?? []) {
        const parsed = parseObjectKey(k);
        if (parsed !== null) this.trees.update(parsed.partition, parsed.key, v);
      }
      this.ctx.storage({ type: "scan", prefix: HINT_PREFIX }, (hints) => {
        if (!hints.ok) return done(false);
        for (const [k] of hints.entries ?? []) {
          const parsed = parseHintKey(k);
          if (parsed !== null) this.hints.add({ storageKey: k, ...parsed });
        }
        done(true);
      });
    });
  }

  /** Reads one stored set (null when absent; a corrupt record reads as absent, with a log line). */
  read(storageKey: string, done: (result: ReadResult & { bytes?: Uint8Array }) => void): void {
    this.ctx.storage({ type: "get", key: storageKey }, (r: StorageResult) => {
      if (!r.ok) {
        this.ctx.log("error", "storage read failed", { key: storageKey, error: r.message });
        return done({ ok: false });
      }
      if (r.value === undefined) return done({ ok: true, set: null });
      return done({ ok: true, set: tryDecodeSet(this.ctx, r.value, storageKey), bytes: r.value });
    });
  }

  /** What this node holds for a key: its object (if a primary) merged with any hints it holds. */
  localView(partition: number, key: string, done: (result: ReadResult) => void): void {
    const storageKeys = [objectKey(partition, key), ...this.hints.forKey(partition, key)];
    let pending = storageKeys.length;
    let failed = false;
    let acc: SiblingSet | null = null;
    for (const sk of storageKeys) {
      this.read(sk, (r) => {
        if (!r.ok) failed = true;
        else if (r.set !== null) acc = acc === null ? r.set : mergeReplicas(this.ctx.mode, acc, r.set);
        if (--pending === 0) done(failed ? { ok: false } : { ok: true, set: acc });
      });
    }
  }

  /**
   * The local view as bytes, for a get-reply. The common case (no hints for the key) sends the
   * stored bytes as they are, without decoding them (the coordinator validates what it gets).
   */
  localViewBytes(partition: number, key: string, done: (result: { ok: false } | { ok: true; bytes: Uint8Array | null }) => void): void {
    if (this.hints.forKey(partition, key).length > 0) {
      this.localView(partition, key, (r) => done(r.ok ? { ok: true, bytes: r.set === null ? null : encodeSiblingSet(r.set) } : r));
      return;
    }
    const storageKey = objectKey(partition, key);
    this.ctx.storage({ type: "get", key: storageKey }, (r) => {
      if (!r.ok) {
        this.ctx.log("error", "storage read failed", { key: storageKey, error: r.message });
        return done({ ok: false });
      }
      done({ ok: true, bytes: r.value ?? null });
    });
  }

  /**
   * Merges an incoming set (replicate, repair, handoff, anti-entropy) into local storage.
   * A fallback (hint !== null and not a primary of the partition) stores it as a hint for the
   * primary it stands in for. done(ok, changed) runs after the write completed.
   */
  mergeIncoming(partition: number, key: string, incoming: SiblingSet, hint: NodeId | null, done: (ok: boolean, changed: boolean) => void): void {
    const asHint = hint !== null && hint !== this.ctx.self && !this.isPrimary(partition);
    const storageKey = asHint ? hintKey(hint, partition, key) : objectKey(partition, key);
    this.locks.run(storageKey, (release) => {
      this.read(storageKey, (local) => {
        if (!local.ok) {
          release();
          return done(false, false);
        }
        const merged = this.ctx.hasBug("overwrite")
          ? incoming // planted bug: replace instead of merge (what the original MecDB did)
          : mergeReplicas(this.ctx.mode, local.set ?? emptySet(), incoming);
        if (local.set !== null && setsEqual(merged, local.set)) {
          release();
          return done(true, false);
        }
        const bytes = encodeSiblingSet(merged);
        this.ctx.storage({ type: "put", key: storageKey, value: bytes }, (w) => {
          if (!w.ok) {
            this.ctx.log("error", "storage write failed", { key: storageKey, error: w.message });
            release();
            return done(false, false);
          }
          if (asHint) {
            if (local.set === null) this.ctx.emit({ type: "hint-stored", key, forNode: hint });
            this.hints.add({ storageKey, target: hint, partition, key });
          } else {
            this.trees.update(partition, key, bytes);
          }
          release();
          done(true, true);
        });
      });
    });
  }

  /** Applies a client write to this primary's object, minting a dot; done runs after the write completed. */
  mint(spec: WriteSpec, done: (result: MintResult) => void): void {
    const storageKey = objectKey(spec.partition, spec.key);
    this.locks.run(storageKey, (release) => {
      this.read(storageKey, (local) => {
        if (!local.ok) {
          release();
          return done({ ok: false, message: "storage read failed" });
        }
        // Teaching mode client-vclock: the client's id is the actor (the original MecDB's scheme).
        const { set, dot } = applyWrite(this.ctx.mode, local.set ?? emptySet(), spec.context, this.actorFor(spec), this.writeOf(spec));
        const bytes = encodeSiblingSet(set);
        const refusal = this.limitRefusal(spec.key, local.set, set, bytes);
        if (refusal !== null) {
          release();
          return done(refusal);
        }
        this.ctx.storage({ type: "put", key: storageKey, value: bytes }, (w) => {
          if (!w.ok) {
            this.ctx.log("error", "storage write failed", { key: storageKey, error: w.message });
            release();
            return done({ ok: false, message: "storage write failed" });
          }
          // The dot is issued when it is durable: nothing (no replica, no client) saw it before,
          // so a dot whose write a machine crash lost was never issued and may be minted again.
          this.ctx.emit({ type: "dot-minted", key: spec.key, actor: dot.actor, counter: dot.counter });
          this.trees.update(spec.partition, spec.key, bytes);
          release();
          done({ ok: true, set, bytes, dot });
        });
      });
    });
  }

  /** A refusal when the write's result exceeds an object limit (and a warning near one); null to go on. */
  private limitRefusal(key: string, before: SiblingSet | null, after: SiblingSet, afterBytes: Uint8Array): MintResult | null {
    const sizeOf = (set: SiblingSet | null): ObjectSize =>
      set === null ? { siblings: 0, bytes: 0 } : { siblings: liveSiblings(set).length, bytes: encodeSiblingSet(set).length };
    const verdict = checkObjectLimits(() => sizeOf(before), { siblings: liveSiblings(after).length, bytes: afterBytes.length }, this.ctx.config.limits);
    if (verdict.ok) {
      if (verdict.warn !== null) this.ctx.log("warn", `key near its object limits: ${verdict.warn}`, { key });
      return null;
    }
    this.ctx.log("warn", "write refused: object limit", { key, error: verdict.error });
    this.ctx.emit({ type: "write-refused", key, limit: verdict.error === "too-many-siblings" ? "siblings" : "object-bytes" });
    return { ok: false, message: verdict.message, refused: verdict.error };
  }

  /** The actor a write is minted under: the node's, or the client's id in the client-vclock teaching mode. */
  private actorFor(spec: WriteSpec): string {
    return this.ctx.config.mode === "client-vclock" && spec.clientId !== null && spec.clientId !== "" ? spec.clientId : this.ctx.actor;
  }

  private writeOf(spec: WriteSpec): { value: Uint8Array | null; contentType: string; timestamp: bigint } {
    return { value: spec.value, contentType: spec.contentType, timestamp: nanosFromMillis(Math.max(0, this.ctx.now())) };
  }

  /**
   * Applies a client write on a fallback (no primary reachable): minted against the hints this
   * node holds for the key, stored as a hint for `target`. See the header for the refusal rule.
   */
  mintAsFallback(spec: WriteSpec, target: NodeId, done: (result: MintResult) => void): void {
    const recordKey = mintedKey(spec.partition, spec.key);
    const storageKey = hintKey(target, spec.partition, spec.key);
    // The record's lock serialises every fallback mint of this key (whatever the hint target);
    // the hint's lock serialises the hint's read-modify-write with incoming merges.
    this.locks.run(recordKey, (releaseRecord) => {
      const fail = (message: string, unavailable = false): void => {
        releaseRecord();
        done(unavailable ? { ok: false, message, unavailable: true } : { ok: false, message });
      };
      this.ctx.storage({ type: "get", key: recordKey }, (rec) => {
        if (!rec.ok) return fail("storage read failed");
        const recorded = rec.value === undefined ? 0 : parseCounter(rec.value);
        this.localView(spec.partition, spec.key, (view) => {
          if (!view.ok) return fail("storage read failed");
          const base = view.set ?? emptySet();
          const actor = this.actorFor(spec);
          if (counterOf(base.clock, actor) < recorded) {
            return fail("this fallback already handed off a write it minted for the key; a primary must take the next one", true);
          }
          const { set, dot } = applyWrite(this.ctx.mode, base, spec.context, actor, this.writeOf(spec));
          const refusal = this.limitRefusal(spec.key, view.set, set, encodeSiblingSet(set));
          if (refusal !== null) {
            releaseRecord();
            return done(refusal);
          }
          this.locks.run(storageKey, (releaseHint) => {
            this.read(storageKey, (held) => {
              if (!held.ok) {
                releaseHint();
                return fail("storage read failed");
              }
              const stored = held.set === null ? set : mergeReplicas(this.ctx.mode, held.set, set);
              const bytes = encodeSiblingSet(stored);
              const counter = Math.max(recorded, actor === this.ctx.actor ? dot.counter : 0);
              this.ctx.storage({ type: "batch", puts: [[storageKey, bytes], [recordKey, msgpackEncode(counter).slice()]], dels: [] }, (w) => {
                releaseHint();
                if (!w.ok) return fail("storage write failed");
                this.ctx.emit({ type: "dot-minted", key: spec.key, actor: dot.actor, counter: dot.counter }); // durable: issued
                if (held.set === null) this.ctx.emit({ type: "hint-stored", key: spec.key, forNode: target });
                this.hints.add({ storageKey, target, partition: spec.partition, key: spec.key });
                releaseRecord();
                done({ ok: true, set, bytes: encodeSiblingSet(set), dot });
              });
            });
          });
        });
      });
    });
  }

  /**
   * Compare-and-reap: if this primary still holds exactly `expected` (tombstone-only), keep only
   * its clock (see the header: a remnant, not a delete).
   */
  reap(partition: number, key: string, expected: SiblingSet): void {
    const storageKey = objectKey(partition, key);
    this.locks.run(storageKey, (release) => {
      this.read(storageKey, (local) => {
        if (!local.ok || local.set === null || !isTombstoneOnly(local.set) || !setsEqual(local.set, expected)) {
          release(); // changed since the GET saw it, or already reaped
          return;
        }
        const bytes = encodeSiblingSet({ clock: local.set.clock, siblings: [] });
        this.ctx.storage({ type: "put", key: storageKey, value: bytes }, (w) => {
          if (w.ok) {
            this.trees.update(partition, key, bytes);
            this.ctx.emit({ type: "reap", key });
          }
          release();
        });
      });
    });
  }

  /**
   * Deletes a hint after its primary acknowledged the handoff, but only if it still holds
   * exactly the bytes that were handed off (a newer write may have merged into it since).
   */
  deleteHintIfUnchanged(storageKey: string, handedOff: Uint8Array, done: (deleted: boolean) => void): void {
    this.locks.run(storageKey, (release) => {
      this.ctx.storage({ type: "get", key: storageKey }, (r) => {
        if (!r.ok || r.value === undefined || !bytesEqual(r.value, handedOff)) {
          if (r.ok && r.value === undefined) this.hints.remove(storageKey);
          release();
          return done(false);
        }
        this.ctx.storage({ type: "del", key: storageKey }, (d) => {
          if (d.ok) this.hints.remove(storageKey);
          release();
          done(d.ok);
        });
      });
    });
  }
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function parseCounter(bytes: Uint8Array): number {
  try {
    const v: unknown = msgpackDecode(bytes);
    return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : Number.MAX_SAFE_INTEGER;
  } catch {
    return Number.MAX_SAFE_INTEGER; // unreadable: refuse to mint rather than risk a re-issued dot
  }
}
