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
// - Every object and hint is stored as a checksummed record (record.ts) and verified on every
//   read. A corrupt record is counted (event corrupt-object), never served, sent or used as a
//   merge source: a read answers "corrupt" (a GET does not count it toward R but repairs it),
//   its anti-entropy digest is dropped (so an exchange brings the key back from a peer), and
//   an incoming set (repair, anti-entropy, replicate, handoff) replaces it. A mint refuses to
//   run on a corrupt record (it cannot know which dots it held): nothing is applied, and the
//   coordinator asks the next primary. Nor after the record was restored: the healthy copy
//   may lack a dot this actor minted (say a w=1 write whose replicas never got it), so the
//   restoring write also stores a fence (f:<partition>:<key> = this actor), and this actor
//   never mints the key again; other primaries do, and a new incarnation (a new actor) may.
// - Reads go through a bounded memo of verified records (decoded-records.ts): bytes identical
//   to ones verified (or written) before are not checksummed and decoded again. Anything else
//   is verified as above.
// - A storage write that fails is reported with its reason (storage-full for space), never
//   as applied; node.ts turns failing writes into "not ready" until one succeeds again.
import { decode as msgpackDecode, encode as msgpackEncode } from "@msgpack/msgpack";
import type { NodeContext } from "../context.ts";
import type { Dot, SiblingSet, VClock } from "../versioning/types.ts";
import type { ClientErrorCode, NodeId, StorageFailure, StorageOp, StorageResult } from "../types.ts";
import {
  applyWrite,
  conflictingDots,
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
import { isPending, servingPreferences } from "../membership/cluster-state.ts";
import { AntiEntropyTrees } from "./anti-entropy.ts";
import { contextRefusal, encodeChecked } from "./write-guard.ts";
import { FENCE_PREFIX, HINT_PREFIX, OBJECT_PREFIX, fenceKey, hintKey, mintedKey, objectKey, parseFenceKey, partitionPrefix, parseHintKey, parseObjectKey } from "./keys.ts";
import { RECORD_HEADER_BYTES, encodeRecord, openRecord } from "./record.ts";
import { DecodedRecords } from "./decoded-records.ts";
import { checkObjectLimits, type ObjectSize } from "./limits.ts";


/** Per-storage-key FIFO of read-modify-write bodies; a body calls release when its write completed. */
class KeyLocks {
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

interface HintEntry {
  readonly storageKey: string;
  readonly target: NodeId;
  readonly partition: number;
  readonly key: string;
}

/** In-memory index of the hints this node holds (rebuilt from storage at boot). */
class HintIndex {
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

/** A local read: the set (null when absent or corrupt; corrupt says which), or a storage failure. */
type ReadResult =
  | { readonly ok: true; readonly set: SiblingSet | null; readonly corrupt?: true }
  | { readonly ok: false; readonly reason?: StorageFailure };

/** A stored record's verified payload (encodeSiblingSet bytes), or why it is unusable. */
type StoredPayload =
  | { readonly ok: true; readonly payload: Uint8Array | null; readonly corrupt?: true }
  | { readonly ok: false; readonly reason?: StorageFailure };

export type MintResult =
  /** decoded: what decoding `bytes` gives (the set as a reader of the record sees it). */
  | { readonly ok: true; readonly set: SiblingSet; readonly bytes: Uint8Array; readonly dot: Dot; readonly decoded: SiblingSet }
  /** Nothing was applied; error says why (the coordinator may try another replica). */
  | { readonly ok: false; readonly message: string; readonly error: ClientErrorCode };

/** The client error of a failed storage write. */
function writeFailure(result: StorageResult): ClientErrorCode {
  return !result.ok && result.reason === "full" ? "storage-full" : "storage-error";
}

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

  /** Storage keys known to hold a corrupt record (counted once until rewritten). */
  private readonly corruptKeys = new Set<string>();
  /** Object storage keys this actor must never mint again (fenced after a corrupt record). */
  private readonly fenced = new Set<string>();
  /** Verified records and their decoded sets (a hit needs byte-identical record bytes). */
  readonly decoded = new DecodedRecords();

  /** A record failed verification: count it once, drop its digest so anti-entropy restores it. */
  private noteCorrupt(storageKey: string, problem: string): void {
    const object = parseObjectKey(storageKey);
    if (object !== null) this.trees.update(object.partition, object.key, null);
    if (this.corruptKeys.has(storageKey)) return;
    this.corruptKeys.add(storageKey);
    const key = object?.key ?? parseHintKey(storageKey)?.key ?? storageKey;
    this.ctx.log("error", "corrupt record in storage: not served, repaired from a peer", { key: storageKey, problem });
    this.ctx.emit({ type: "corrupt-object", key, storageKey, problem });
  }

  /** Writes a set's record (payload = encodeSiblingSet(set) bytes) under storageKey. */
  private writeRecord(storageKey: string, payload: Uint8Array, set: SiblingSet, done: (result: StorageResult) => void): void {
    const record = encodeRecord(payload);
    this.ctx.storage({ type: "put", key: storageKey, value: record }, (w) => {
      if (w.ok) this.stored(storageKey, record, set);
      done(w);
    });
  }

  /** A record was written: it is no longer corrupt, and the memo knows what it decodes to. */
  private stored(storageKey: string, record: Uint8Array, set: SiblingSet): void {
    this.corruptKeys.delete(storageKey);
    this.decoded.remember(storageKey, record, RECORD_HEADER_BYTES, set);
  }

  /** Verifies a stored record; a corrupt one is noted and reported as such. */
  verify(storageKey: string, bytes: Uint8Array): { payload: Uint8Array; set: SiblingSet } | null {
    const known = this.decoded.get(storageKey, bytes);
    if (known !== undefined) return known;
    const opened = openRecord(bytes);
    if (!opened.ok) {
      this.noteCorrupt(storageKey, opened.problem);
      return null;
    }
    try {
      const set = decodeSiblingSet(opened.payload);
      this.decoded.remember(storageKey, bytes, RECORD_HEADER_BYTES, set);
      return { payload: opened.payload, set };
    } catch (e) {
      this.noteCorrupt(storageKey, e instanceof Error ? e.message : String(e));
      return null;
    }
  }

  /**
   * Scrub: checks every stored object's checksum in a partition (anti-entropy runs it before
   * each exchange), so a record that rotted without being read loses its digest and the
   * exchange brings the peer's copy. Only the checksum: rot is what it looks for, and decoding
   * every set before every exchange cost more than a tenth of a simulated node's time (a payload
   * that passes its checksum but does not decode is still caught on every read). done runs
   * after the scan, whatever it found.
   */
  scrub(partition: number, done: () => void): void {
    this.ctx.storage({ type: "scan", prefix: partitionPrefix(partition) }, (r) => {
      if (r.ok) {
        for (const [k, v] of r.entries ?? []) {
          if (this.decoded.holds(k, v)) continue; // identical to bytes verified before
          const opened = openRecord(v);
          if (!opened.ok) this.noteCorrupt(k, opened.problem);
        }
      }
      done();
    });
  }

  /** Reads one stored record's payload, verified (for handoff and anti-entropy, which send it on). */
  readPayload(storageKey: string, done: (result: StoredPayload) => void): void {
    this.ctx.storage({ type: "get", key: storageKey }, (r) => {
      if (!r.ok && r.reason === "corrupt") {
        this.noteCorrupt(storageKey, r.message); // the engine cannot read it: as corrupt as a bad checksum
        return done({ ok: true, payload: null, corrupt: true });
      }
      if (!r.ok) {
        this.ctx.log("error", "storage read failed", { key: storageKey, error: r.message });
        return done(r.reason === undefined ? { ok: false } : { ok: false, reason: r.reason });
      }
      if (r.value === undefined) return done({ ok: true, payload: null });
      const v = this.verify(storageKey, r.value);
      done(v === null ? { ok: true, payload: null, corrupt: true } : { ok: true, payload: v.payload });
    });
  }

  private readonly prefCache = new Map<number, { primaries: readonly NodeId[]; fallbacks: readonly NodeId[] }>();

  /** Called after every object write (the key's new bytes are durable): ownership handoff re-sends keys written during a transfer. */
  onStored: ((partition: number, key: string) => void) | null = null;

  /** The cluster state changed: preference lists are computed again. */
  ringChanged(): void {
    this.prefCache.clear();
    this.primaryPartitionsCache = null;
  }

  /** Whether the partition waits for an ownership transfer (its serving primaries are the old ones). */
  isPending(partition: number): boolean {
    return isPending(this.ctx.cluster, partition, this.ctx.config.n);
  }

  /** The partition's preference list as requests use it (cached until the cluster state changes). */
  preferences(partition: number): { primaries: readonly NodeId[]; fallbacks: readonly NodeId[] } {
    let p = this.prefCache.get(partition);
    if (p === undefined) {
      const pl = servingPreferences(this.ctx.cluster, partition, this.ctx.config.n);
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
  boot(done: (result: StorageResult) => void): void {
    this.ctx.storage({ type: "scan", prefix: OBJECT_PREFIX }, (objects) => {
      if (!objects.ok) return done(objects);
      for (const [k, v] of objects.entries ?? []) {
        const parsed = parseObjectKey(k);
        if (parsed === null) continue;
        const verified = this.verify(k, v); // a corrupt object gets no digest: anti-entropy restores it
        if (verified !== null) this.trees.update(parsed.partition, parsed.key, verified.payload);
      }
      this.ctx.storage({ type: "scan", prefix: HINT_PREFIX }, (hints) => {
        if (!hints.ok) return done(hints);
        for (const [k, v] of hints.entries ?? []) {
          const parsed = parseHintKey(k);
          if (parsed === null) continue;
          // A corrupt hint is indexed too (verify counts it): handoff then finds it corrupt and
          // deletes it, so no hint lingers undeliverable.
          this.verify(k, v);
          this.hints.add({ storageKey: k, ...parsed });
        }
        this.ctx.storage({ type: "scan", prefix: FENCE_PREFIX }, (fences) => {
          if (!fences.ok) return done(fences);
          for (const [k, v] of fences.entries ?? []) {
            const parsed = parseFenceKey(k);
            // An unreadable fence fences this actor too (refusing is always safe).
            if (parsed !== null && (fenceActor(v) ?? this.ctx.actor) === this.ctx.actor) this.fenced.add(objectKey(parsed.partition, parsed.key));
          }
          done({ ok: true });
        });
      });
    });
  }

  /** Reads one stored set: null when absent, null and corrupt when its record failed verification. */
  read(storageKey: string, done: (result: ReadResult) => void): void {
    this.ctx.storage({ type: "get", key: storageKey }, (r: StorageResult) => {
      if (!r.ok && r.reason === "corrupt") {
        this.noteCorrupt(storageKey, r.message);
        return done({ ok: true, set: null, corrupt: true });
      }
      if (!r.ok) {
        this.ctx.log("error", "storage read failed", { key: storageKey, error: r.message });
        return done(r.reason === undefined ? { ok: false } : { ok: false, reason: r.reason });
      }
      if (r.value === undefined) return done({ ok: true, set: null });
      const v = this.verify(storageKey, r.value);
      return done(v === null ? { ok: true, set: null, corrupt: true } : { ok: true, set: v.set });
    });
  }

  /**
   * What this node holds for a key: its object (if a primary) merged with any hints it holds.
   * Corrupt when any of those records is: the view is then incomplete, and must not be answered.
   */
  localView(partition: number, key: string, done: (result: ReadResult) => void): void {
    const storageKeys = [objectKey(partition, key), ...this.hints.forKey(partition, key)];
    let pending = storageKeys.length;
    let failed = false;
    let corrupt = false;
    let acc: SiblingSet | null = null;
    for (const sk of storageKeys) {
      this.read(sk, (r) => {
        if (!r.ok) failed = true;
        else if (r.corrupt === true) corrupt = true;
        else if (r.set !== null) acc = acc === null ? r.set : mergeReplicas(this.ctx.mode, acc, r.set);
        if (--pending > 0) return;
        done(failed ? { ok: false } : corrupt ? { ok: true, set: null, corrupt: true } : { ok: true, set: acc });
      });
    }
  }

  /**
   * The local view as bytes, for a get-reply. The common case (no hints for the key) sends the
   * stored bytes as they are, without decoding them (the coordinator validates what it gets).
   */
  localViewBytes(partition: number, key: string, done: (result: { ok: false } | { ok: true; bytes: Uint8Array | null; corrupt?: true }) => void): void {
    if (this.hints.forKey(partition, key).length > 0) {
      this.localView(partition, key, (r) => {
        if (!r.ok) return done({ ok: false });
        if (r.corrupt === true) return done({ ok: true, bytes: null, corrupt: true });
        done({ ok: true, bytes: r.set === null ? null : encodeSiblingSet(r.set) });
      });
      return;
    }
    this.readPayload(objectKey(partition, key), (r) => {
      if (!r.ok) return done({ ok: false });
      done(r.corrupt === true ? { ok: true, bytes: null, corrupt: true } : { ok: true, bytes: r.payload });
    });
  }

  /**
   * Merges an incoming set (replicate, repair, handoff, anti-entropy) into local storage.
   * A fallback (hint !== null and not a primary of the partition) stores it as a hint for the
   * primary it stands in for. done(ok, changed) runs after the write completed; a failure
   * says why when storage failed (done(false, false, "storage-full")).
   */
  mergeIncoming(
    partition: number,
    key: string,
    incoming: SiblingSet,
    hint: NodeId | null,
    done: (ok: boolean, changed: boolean, failure?: ClientErrorCode) => void,
  ): void {
    const asHint = hint !== null && hint !== this.ctx.self && !this.isPrimary(partition);
    const storageKey = asHint ? hintKey(hint, partition, key) : objectKey(partition, key);
    this.locks.run(storageKey, (release) => {
      this.read(storageKey, (local) => {
        if (!local.ok) {
          release();
          return done(false, false, "storage-error");
        }
        if (this.refuseConflict(key, local.set, incoming)) {
          release();
          return done(false, false);
        }
        // A corrupt local record is replaced by what came (the only healthy copy here).
        const merged = this.ctx.hasBug("overwrite")
          ? incoming // planted bug: replace instead of merge (what the original MecDB did)
          : mergeReplicas(this.ctx.mode, local.set ?? emptySet(), incoming);
        if (local.set !== null && setsEqual(merged, local.set)) {
          release();
          return done(true, false);
        }
        const bytes = encodeSiblingSet(merged);
        const record = encodeRecord(bytes);
        // Restoring a corrupt object: fence this actor for the key in the same atomic write.
        const fence = local.corrupt === true && !asHint ? fenceKey(partition, key) : null;
        const write: StorageOp =
          fence === null
            ? { type: "put", key: storageKey, value: record }
            : { type: "batch", puts: [[storageKey, record], [fence, msgpackEncode(this.ctx.actor).slice()]], dels: [] };
        this.ctx.storage(write, (w) => {
          if (!w.ok) {
            this.ctx.log("error", "storage write failed", { key: storageKey, error: w.message });
            release();
            return done(false, false, writeFailure(w));
          }
          // merged is canonical (sync's output, sorted): what decoding these bytes gives.
          this.stored(storageKey, record, merged);
          if (fence !== null) this.fenced.add(storageKey);
          if (asHint) {
            if (local.set === null) this.ctx.emit({ type: "hint-stored", key, forNode: hint });
            this.hints.add({ storageKey, target: hint, partition, key });
          } else {
            this.trees.update(partition, key, bytes);
            this.onStored?.(partition, key);
          }
          release();
          done(true, true);
        });
      });
    });
  }

  /**
   * True (after a log line and a dot-conflict event per dot) when the two states hold one dot
   * with different values: a dot was issued twice somewhere, and sync would keep only one of
   * the two values. The local copy is kept as it is; the sender gets no acknowledgement.
   */
  private refuseConflict(key: string, local: SiblingSet | null, incoming: SiblingSet): boolean {
    if (local === null || this.ctx.mode === "client-vclock") return false; // that mode's dots are not unique, by design
    const dots = conflictingDots(local, incoming);
    for (const dot of dots) {
      this.ctx.log("error", "two different values carry the same dot (a dot was issued twice); refusing to merge them", { key, actor: dot.actor, counter: dot.counter });
      this.ctx.emit({ type: "dot-conflict", key, actor: dot.actor, counter: dot.counter });
    }
    return dots.length > 0;
  }

  /** Applies a client write to this primary's object, minting a dot; done runs after the write completed. */
  mint(spec: WriteSpec, done: (result: MintResult) => void): void {
    const storageKey = objectKey(spec.partition, spec.key);
    // Under a changed ring the minted record is checked too (checkMintedAsFallback): its lock
    // makes the check wait for a fallback mint of the key still in flight here (one the ring
    // change overtook), which would otherwise issue the same counter. Order: object, record.
    const locked = this.ctx.cluster.epoch === 0 ? [storageKey] : [storageKey, mintedKey(spec.partition, spec.key)];
    this.lockAll(locked, (release) => {
      this.read(storageKey, (local) => {
        if (!local.ok) {
          release();
          return done({ ok: false, message: "storage read failed", error: "storage-error" });
        }
        if (local.corrupt === true || this.fenced.has(storageKey)) {
          // Treating it as absent would mint counter 1 again, and a restored copy may lack a dot
          // this actor issued: refuse (nothing applied); another primary mints the write.
          release();
          const why = local.corrupt === true ? "is corrupt (it is being repaired from a peer)" : "was restored from a peer after corruption";
          return done({ ok: false, message: `the local record of the key ${why}: this replica no longer mints it`, error: "storage-error" });
        }
        this.checkMintedAsFallback(spec, local, (refused) => {
          if (refused !== null) {
            release();
            return done(refused);
          }
          // Teaching mode client-vclock: the client's id is the actor (the original MecDB's scheme).
          const prepared = this.prepareMint(spec, local, this.actorFor(spec));
          if (!prepared.ok) {
            release();
            return done(prepared);
          }
          const { set, dot, bytes } = prepared;
          const refusal = this.limitRefusal(spec.key, local.set, set, bytes);
          if (refusal !== null) {
            release();
            return done(refusal);
          }
          this.writeRecord(storageKey, bytes, prepared.decoded, (w) => {
            if (!w.ok) {
              this.ctx.log("error", "storage write failed", { key: storageKey, error: w.message });
              release();
              return done({ ok: false, message: `storage write failed: ${w.message}`, error: writeFailure(w) });
            }
            // The dot is issued when it is durable: nothing (no replica, no client) saw it before,
            // so a dot whose write a machine crash lost was never issued and may be minted again.
            this.ctx.emit({ type: "dot-minted", key: spec.key, actor: dot.actor, counter: dot.counter });
            this.trees.update(spec.partition, spec.key, bytes);
            this.onStored?.(spec.partition, spec.key);
            release();
            done({ ok: true, set, bytes, dot, decoded: prepared.decoded });
          });
        });
      });
    });
  }

  /**
   * Under a changed ring a node may become a primary of a key it minted as a fallback (its
   * minted record holds those counters, its object may not yet): minting from the object alone
   * would issue those dots again, so the write is refused (nothing applied; another primary
   * mints it) until the copy here covers them. A fixed ring never makes a fallback a primary.
   */
  private checkMintedAsFallback(spec: WriteSpec, local: Extract<ReadResult, { ok: true }>, done: (refused: Extract<MintResult, { ok: false }> | null) => void): void {
    if (this.ctx.cluster.epoch === 0) return done(null);
    this.ctx.storage({ type: "get", key: mintedKey(spec.partition, spec.key) }, (rec) => {
      if (!rec.ok) return done({ ok: false, message: "storage read failed", error: "storage-error" });
      const actor = this.actorFor(spec);
      const recorded = rec.value === undefined ? 0 : parseMinted(rec.value, actor);
      if (recorded > counterOf((local.set ?? emptySet()).clock, actor)) return done({ ok: false, message: "this replica minted writes of the key as a fallback that its copy does not hold yet: another primary mints it", error: "storage-error" });
      done(null);
    });
  }

  /**
   * The set, dot and bytes a client write produces on `local`, or a refusal (logged, and
   * counted as a mint-refused event): an undecodable local record is never taken for an
   * absent one (minting on it would re-issue its dots), and a context outside the limits of
   * write-guard.ts is a bad request. Never throws.
   */
  private prepareMint(spec: WriteSpec, local: Extract<ReadResult, { ok: true }>, actor: string): MintResult {
    const refuse = (reason: "corrupt-local" | "bad-context", message: string, badRequest: boolean): Extract<MintResult, { ok: false }> => {
      this.ctx.log(badRequest ? "warn" : "error", `refusing a write: ${message}`, { key: spec.key });
      this.ctx.emit({ type: "mint-refused", key: spec.key, reason });
      return { ok: false, message, error: badRequest ? "bad-request" : "storage-error" };
    };
    if (local.corrupt === true) return refuse("corrupt-local", "the stored record of the key is unreadable; minting on it could re-issue its dots", false);
    const base = local.set ?? emptySet();
    const why = contextRefusal(base, spec.context, actor, actor === this.ctx.actor && this.ctx.mode !== "client-vclock");
    if (why !== null) return refuse("bad-context", why, true);
    const { set, dot } = applyWrite(this.ctx.mode, base, spec.context, actor, this.writeOf(spec));
    const grew = [...spec.context.keys()].some((a) => a !== actor && !base.clock.has(a));
    const encoded = encodeChecked(set, grew);
    if (!encoded.ok) return refuse("bad-context", encoded.message, true);
    return { ok: true, set, dot, bytes: encoded.bytes, decoded: encoded.decoded };
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
    return { ok: false, message: verdict.message, error: verdict.error };
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
      const fail = (message: string, error: ClientErrorCode = "storage-error"): void => {
        releaseRecord();
        done({ ok: false, message, error });
      };
      this.ctx.storage({ type: "get", key: recordKey }, (rec) => {
        if (!rec.ok) return fail("storage read failed");
        const recorded = rec.value === undefined ? 0 : parseMinted(rec.value, this.actorFor(spec));
        this.localView(spec.partition, spec.key, (view) => {
          if (!view.ok) return fail("storage read failed");
          if (view.corrupt === true) return fail("a local record of the key is corrupt");
          const base = view.set ?? emptySet();
          const actor = this.actorFor(spec);
          if (counterOf(base.clock, actor) < recorded) {
            return fail("this fallback already handed off a write it minted for the key; a primary must take the next one", "unavailable");
          }
          const prepared = this.prepareMint(spec, view, actor);
          if (!prepared.ok) {
            releaseRecord();
            return done(prepared);
          }
          const { set, dot } = prepared;
          const refusal = this.limitRefusal(spec.key, view.set, set, encodeSiblingSet(set));
          if (refusal !== null) {
            releaseRecord();
            return done(refusal);
          }
          this.locks.run(storageKey, (releaseHint) => {
            this.read(storageKey, (held) => {
              if (!held.ok || held.corrupt === true) {
                releaseHint();
                return fail(held.ok ? "a local record of the key is corrupt" : "storage read failed");
              }
              const stored = held.set === null ? prepared.decoded : mergeReplicas(this.ctx.mode, held.set, prepared.decoded);
              const record = encodeRecord(encodeSiblingSet(stored));
              const counter = Math.max(recorded, actor === this.ctx.actor ? dot.counter : 0);
              this.ctx.storage({ type: "batch", puts: [[storageKey, record], [recordKey, msgpackEncode([actor, counter]).slice()]], dels: [] }, (w) => {
                releaseHint();
                if (!w.ok) return fail(`storage write failed: ${w.message}`, writeFailure(w));
                this.stored(storageKey, record, stored); // stored: decoded sets or their sync
                this.ctx.emit({ type: "dot-minted", key: spec.key, actor: dot.actor, counter: dot.counter }); // durable: issued
                if (held.set === null) this.ctx.emit({ type: "hint-stored", key: spec.key, forNode: target });
                this.hints.add({ storageKey, target, partition: spec.partition, key: spec.key });
                releaseRecord();
                done({ ok: true, set, bytes: prepared.bytes, dot, decoded: prepared.decoded });
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
        const remnant: SiblingSet = { clock: local.set.clock, siblings: [] };
        const bytes = encodeSiblingSet(remnant);
        this.writeRecord(storageKey, bytes, remnant, (w) => {
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
   * Sheds a stray object (of a partition this node no longer serves, after cut-over): one
   * atomic write deletes it and stores, for each of the partition's primaries, a hint holding
   * it (merged with the hint already held for that primary, if any). So its data never leaves
   * this disk before hinted handoff delivered it to every primary (the hint is deleted only
   * after a durable merge there). done("nothing") when there is nothing to shed (no readable
   * object, or the partition is served here again or still pending), "retry" when it must wait
   * (a storage read or write failed, a hint is unreadable or holds a conflicting dot).
   */
  shedToHints(partition: number, key: string, done: (outcome: "shed" | "nothing" | "retry") => void): void {
    const targets = this.preferences(partition).primaries.filter((t) => t !== this.ctx.self);
    const objKey = objectKey(partition, key);
    // The minted record keeps this actor's highest counter for the key once the object is gone
    // (as a reap keeps a remnant): a later fallback mint must not issue those dots again.
    const recordKey = mintedKey(partition, key);
    const keys = [objKey, recordKey, ...targets.map((t) => hintKey(t, partition, key))];
    this.lockAll(keys, (release) => {
      const finish = (outcome: "shed" | "nothing" | "retry"): void => {
        release();
        done(outcome);
      };
      if (targets.length === 0 || this.isPrimary(partition) || this.isPending(partition)) return finish("nothing");
      this.ctx.storage({ type: "get", key: recordKey }, (rec) => {
        if (!rec.ok) return finish("retry");
        const recorded = rec.value === undefined ? 0 : parseMinted(rec.value, this.ctx.actor);
        this.readAll(hintKeysOf(keys), (results) => {
          const [object, ...hints] = results;
          if (object === undefined || !object.ok) return finish("retry");
          if (object.set === null) return finish("nothing"); // absent, or corrupt (never spread; the primaries hold the key)
          const puts: [string, Uint8Array][] = [];
          const counter = Math.max(recorded, counterOf(object.set.clock, this.ctx.actor));
          if (counter > recorded) puts.push([recordKey, msgpackEncode([this.ctx.actor, counter]).slice()]);
          for (let i = 0; i < targets.length; i++) {
            const h = hints[i]!;
            if (!h.ok || h.corrupt === true || (h.set !== null && this.refuseConflict(key, h.set, object.set))) return finish("retry");
            puts.push([keys[i + 2]!, encodeRecord(encodeSiblingSet(h.set === null ? object.set : mergeReplicas(this.ctx.mode, h.set, object.set)))]);
          }
          this.ctx.storage({ type: "batch", puts, dels: [objKey] }, (w) => {
            if (!w.ok) {
              this.ctx.log("error", "storage write failed", { key: objKey, error: w.message });
              return finish("retry");
            }
            targets.forEach((target, i) => this.hints.add({ storageKey: keys[i + 2]!, target, partition, key }));
            this.trees.update(partition, key, null);
            this.decoded.forget(objKey);
            finish("shed");
          });
        });
      });
    });
  }

  /** Takes the locks of several storage keys, in the given order (callers always lock an object, then its minted record, then its hints). */
  private lockAll(storageKeys: readonly string[], body: (release: () => void) => void): void {
    const held: (() => void)[] = [];
    const next = (i: number): void => {
      if (i === storageKeys.length) return body(() => held.reverse().forEach((r) => r()));
      this.locks.run(storageKeys[i]!, (release) => {
        held.push(release);
        next(i + 1);
      });
    };
    next(0);
  }

  /** Reads several records; done gets their results in order. */
  private readAll(storageKeys: readonly string[], done: (results: ReadResult[]) => void): void {
    const results: ReadResult[] = new Array<ReadResult>(storageKeys.length);
    let pending = storageKeys.length;
    storageKeys.forEach((k, i) =>
      this.read(k, (r) => {
        results[i] = r;
        if (--pending === 0) done(results);
      }),
    );
  }

  /**
   * Deletes a hint after its primary acknowledged the handoff, but only if it still holds
   * exactly the payload that was handed off (a newer write may have merged into it since).
   */
  deleteHintIfUnchanged(storageKey: string, handedOff: Uint8Array, done: (deleted: boolean) => void): void {
    this.locks.run(storageKey, (release) => {
      this.ctx.storage({ type: "get", key: storageKey }, (r) => {
        const held = r.ok && r.value !== undefined ? openRecord(r.value) : null;
        if (!r.ok || held === null || !held.ok || !bytesEqual(held.payload, handedOff)) {
          if (r.ok && r.value === undefined) this.hints.remove(storageKey);
          release();
          return done(false);
        }
        this.ctx.storage({ type: "del", key: storageKey }, (d) => {
          if (d.ok) this.hints.remove(storageKey);
          this.decoded.forget(storageKey);
          release();
          done(d.ok);
        });
      });
    });
  }

  /**
   * Deletes a hint whose record is corrupt: it can never be handed off (its bytes are not
   * trusted), and the values it held reach the primary from the other replicas (read repair,
   * anti-entropy). Left on disk it would be a hint that never drains.
   */
  discardCorruptHint(storageKey: string): void {
    this.locks.run(storageKey, (release) => {
      this.ctx.storage({ type: "del", key: storageKey }, (d) => {
        if (d.ok) {
          this.hints.remove(storageKey);
          this.corruptKeys.delete(storageKey);
          this.decoded.forget(storageKey);
          this.ctx.log("warn", "discarded a corrupt hint", { key: storageKey });
        }
        release();
      });
    });
  }
}

/** The object's and the hints' keys of a shed's lock list [object, minted record, ...hints]: the records read as sibling sets. */
function hintKeysOf(keys: readonly string[]): string[] {
  return [keys[0]!, ...keys.slice(2)];
}

export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The counter a fallback record `[actor, counter]` holds for `actor`: 0 when it belongs to
 * another actor (an earlier incarnation, which never mints again; or the number-only record of
 * an older version). Unreadable: refuse to mint rather than risk a re-issued dot.
 */
function parseMinted(bytes: Uint8Array, actor: string): number {
  try {
    const v: unknown = msgpackDecode(bytes);
    if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return 0;
    if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== "string" || typeof v[1] !== "number" || !Number.isSafeInteger(v[1]) || v[1] < 0) return Number.MAX_SAFE_INTEGER;
    return v[0] === actor ? v[1] : 0;
  } catch {
    return Number.MAX_SAFE_INTEGER;
  }
}

function fenceActor(bytes: Uint8Array): string | null {
  try {
    const v: unknown = msgpackDecode(bytes);
    return typeof v === "string" ? v : null;
  } catch {
    return null;
  }
}
