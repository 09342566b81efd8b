// The node: a deterministic state machine `step({now, input}) -> Effect[]` (the shape of
// etcd/raft's Ready loop). Owns: boot (incarnation, boot nonce, rebuilding in-memory state
// from storage), dispatching inputs to the modules, the effect buffer, and the registries that
// turn storage completions and timer firings back into the callbacks that asked for them.
// Must not know: how effects are executed (src/host), wall time, ambient randomness, I/O.
//
// Theory of operation.
// - Boot: every start is a new incarnation, so a node never issues a dot twice whatever part of
//   its writes a crash took (a wipe, a power loss that cut the unsynced tail of the log with
//   sync = false, a flipped byte that made LevelDB drop records): the meta record holds the
//   last incarnation; the new one is that plus one (absent or unreadable: a random 32-bit
//   draw), written with a per-op sync before the node goes on, so it is durable before the
//   first dot even when writes are not synced. The actor is `${name}.${incarnation as 8 hex}`.
//   Why not reuse the incarnation after a clean stop: a byte flipped in a stopped node's log
//   loses records without any sign the node could see, and a counter lease (skipping ahead)
//   would make the new clock cover dots it never held, dropping their siblings on sync. The
//   cost is one clock entry per start for the keys a node mints afterwards.
//   Every start also draws a boot nonce: request ids are `${id}/${bootNonce}/${seq}`, so a
//   reply to a request from before a restart can never match a new one. Then the anti-entropy
//   trees and the hint index are rebuilt from storage, and the node is ready.
// - The PRNG is seeded from config.seed and the time of the start input, so a node restarted
//   with the same config still draws a fresh incarnation and nonce.
// - Before ready, client ops get "starting", forwarded writes get "starting" (nothing was
//   applied, the coordinator may try the next primary), other peer messages are dropped
//   (senders cope with loss), but every message still counts as proof of life.
// - Joined: the meta record says whether this node has joined. A node booted without it (new or
//   wiped disk) and configured to join is ready but reports "joining" and serves as no member
//   (client ops get "starting": not joined yet; forwarded writes are refused; admin ops ignored)
//   until a member's state names it ("joined"); its configured list is no ring to count on.
// - A malformed peer message is logged and dropped; it never crashes the node.
// - Storage health: a failed storage write (disk full, I/O error) makes the node "storage
//   failing" (event storage-failing; the HTTP layer answers not-ready) until a write succeeds
//   again (event storage-recovered). While failing, it probes every STORAGE_PROBE_MS with a
//   tiny write (m:probe), refuses forwarded writes and replicas at once (a refusal: nothing
//   applied, the coordinator tries the next primary or a fallback), and coordinates its own
//   clients' writes through another primary.
// - A store LevelDB reports corrupt while booting (a damaged table block) stops the boot: the
//   node emits boot-failed with the storage error (naming the file) and never becomes ready;
//   the production process exits 1. A corrupt single record is not fatal (replica.ts).
// - A peer message is decoded (messages.ts) and validated (validate.ts) before it touches
//   state: its sender is the peer the transport authenticated, not its `from` field. A
//   malformed or forged message is dropped and counted (a "peer-message-dropped" event);
//   it never crashes the node.
// - Periodic work: a heartbeat to every peer every heartbeatIntervalMs, whatever other traffic
//   flows (production sends them on their own control socket, so they never wait behind a
//   data backlog), a probe on the data channel to each peer whose requests timed out (its ack,
//   like any reply, makes it routable again; see membership/failure-detector.ts), the failure
//   detector's check on the same tick, hinted handoff every handoffIntervalMs while hints
//   exist, anti-entropy every antiEntropyIntervalMs (0 = off).
//
// Where things live: coordinator/ (get.ts, put.ts, mint.ts and the pure quorum.ts), replica/
// (replica.ts: storage read-modify-writes, hints, trees; handoff.ts; ae-exchange.ts;
// anti-entropy.ts; keys.ts), membership/failure-detector.ts, messages.ts, random.ts.
import { decode as msgpackDecode, encode as msgpackEncode } from "@msgpack/msgpack";
import { assert, assertNever } from "./assert.ts";
import type { NodeContext } from "./context.ts";
import { GetCoordinator } from "./coordinator/get.ts";
import { MintCoordinator } from "./coordinator/mint.ts";
import { PutCoordinator } from "./coordinator/put.ts";
import { FailureDetector } from "./membership/failure-detector.ts";
import type { Transition } from "./membership/failure-detector.ts";
import { bootOfReqId, decodeMessage, encodeMessage, isReplyType } from "./messages.ts";
import { PeerBoots } from "./membership/peer-boots.ts";
import type { PeerMessage } from "./messages.ts";
import { Rng, hex32 } from "./random.ts";
import { validatePeerMessage, type DropReason, type ValidationContext } from "./validate.ts";
import { AntiEntropyExchange } from "./replica/ae-exchange.ts";
import { Handoff } from "./replica/handoff.ts";
import { META_KEY, PROBE_KEY } from "./replica/keys.ts";
import { Replica, tryDecodeSet } from "./replica/replica.ts";
import { Membership } from "./membership/membership.ts";
import { displayedStatus, memberOf, pendingPartitions, plannedTransfers, stateFromWire, stateToWire } from "./membership/cluster-state.ts";
import type { ClusterState } from "./membership/cluster-state.ts";
import { Shed } from "./replica/shed.ts";
import { Transfers } from "./replica/transfer.ts";
import type {
  AdminOp,
  BugName,
  ClientOp,
  ClientResult,
  Effect,
  NodeConfig,
  NodeEvent,
  NodeId,
  NodeInspection,
  NodeMachine,
  Stamped,
  StorageFailure,
  StorageOp,
  StorageResult,
} from "./types.ts";
import type { VersioningMode } from "./versioning/types.ts";

/** Delay before retrying a failed boot step (storage error). */
const BOOT_RETRY_MS = 1000;
/** What client ops get while the node waits for a member's state (it lost its meta record). */
const NOT_JOINED = "the node has not joined the cluster yet (it waits for a member's cluster state)";
/** While storage writes fail, a probe write is tried this often. */
const STORAGE_PROBE_MS = 1000;

type Phase = "new" | "booting" | "ready";

/** Creates a node. Throws on an inconsistent config (a programmer error, not an operating one). */
export function createNode(config: NodeConfig): NodeMachine {
  assertConfig(config);
  return new Node(config);
}

function assertConfig(c: NodeConfig): void {
  assert(c.members.includes(c.id), `members must include the node itself (${c.id})`);
  assert(new Set(c.members).size === c.members.length, "members must be distinct");
  assert(Number.isInteger(c.n) && c.n >= 1, `n must be a positive integer, got ${c.n}`);
  assert(Number.isInteger(c.r) && c.r >= 1 && c.r <= c.n, `r must be in [1, n], got ${c.r}`);
  assert(Number.isInteger(c.w) && c.w >= 1 && c.w <= c.n, `w must be in [1, n], got ${c.w}`);
  assert(Number.isInteger(c.partitionCount) && c.partitionCount >= 1 && c.partitionCount <= 0x10000, `bad partitionCount ${c.partitionCount}`);
  for (const [name, v] of [
    ["requestTimeoutMs", c.requestTimeoutMs],
    ["heartbeatIntervalMs", c.heartbeatIntervalMs],
    ["suspectAfterMs", c.suspectAfterMs],
    ["handoffIntervalMs", c.handoffIntervalMs],
  ] as const) {
    assert(Number.isFinite(v) && v > 0, `${name} must be positive, got ${v}`);
  }
  assert(Number.isFinite(c.antiEntropyIntervalMs) && c.antiEntropyIntervalMs >= 0, `bad antiEntropyIntervalMs ${c.antiEntropyIntervalMs}`);
  assert(c.reapDelayMs === null || (Number.isFinite(c.reapDelayMs) && c.reapDelayMs >= 0), `bad reapDelayMs ${String(c.reapDelayMs)}`);
}

class Node implements NodeMachine {
  readonly id: NodeId;
  private phase: Phase = "new";
  private effects: Effect[] = [];
  /** Wall time of the input being handled: only for timestamps (see Stamped). */
  private nowMs = 0;
  /** Monotonic time of the input being handled: every duration is measured on it. */
  private monoMs = 0;
  private nextOpId = 1;
  private nextTimerId = 1;
  private readonly storageCallbacks = new Map<number, (result: StorageResult) => void>();
  private readonly timerCallbacks = new Map<number, () => void>();
  private rng: Rng;
  private bootNonce = 0;
  private reqSeq = 0;
  private incarnation = 0;
  private actor = "";
  /** Why storage writes fail, or null while they succeed. */
  private storageFailing: StorageFailure | null = null;
  private readonly membership: Membership;
  private readonly detector: FailureDetector;
  private readonly peerBoots = new PeerBoots();
  private readonly ctx: NodeContext;
  private readonly replica: Replica;
  private readonly getCoordinator: GetCoordinator;
  private readonly mintCoordinator: MintCoordinator;
  private readonly putCoordinator: PutCoordinator;
  private readonly handoff: Handoff;
  private readonly antiEntropy: AntiEntropyExchange;
  private readonly transfers: Transfers;
  private readonly shed: Shed;
  private readonly validation: ValidationContext;
  /** Set once this node has left (or was removed): it takes no new client requests and reports "left" when drained. */
  private leftReported = false;
  /**
   * A leaving node: set once a peer's gossip showed a state in which nothing is left to move
   * from this node. Until then the completion marks of its last transfers may live only here,
   * and a node that left with them would strand their partitions in handoff for good.
   */
  private handoffKnownByPeer = false;

  constructor(private readonly config: NodeConfig) {
    this.id = config.id;
    this.rng = new Rng(config.seed);
    this.membership = new Membership({
      self: config.id,
      name: config.name,
      n: config.n,
      partitionCount: config.partitionCount,
      configured: config.members,
      join: config.join === true,
      send: (to, msg) => this.send(to, msg),
      log: (level, msg, fields) => this.ctx.log(level, msg, fields),
      changed: (previous, next) => this.clusterChanged(previous, next),
      persist: (next, done) => this.persistState(next, done),
      joinedNow: () => this.becameJoined(),
      refused: (message) => this.emit({ type: "join-refused", message }),
    });
    this.detector = new FailureDetector(config.id, this.membership.peers, config.suspectAfterMs);
    this.ctx = this.makeContext();
    this.replica = new Replica(this.ctx);
    this.getCoordinator = new GetCoordinator(this.ctx, this.replica);
    this.mintCoordinator = new MintCoordinator(this.ctx, this.replica);
    this.putCoordinator = new PutCoordinator(this.ctx, this.replica, this.mintCoordinator);
    this.handoff = new Handoff(this.ctx, this.replica);
    this.antiEntropy = new AntiEntropyExchange(this.ctx, this.replica);
    this.transfers = new Transfers(this.ctx, this.replica, () => plannedTransfers(this.membership.state, config.n), (plan) => this.membership.markDone(plan.partition, plan.to));
    this.shed = new Shed(this.ctx, this.replica);
    const transferStored = this.replica.onStored;
    this.replica.onStored = (partition, key) => {
      transferStored?.(partition, key);
      this.shed.stored(partition, key);
      this.armShed();
    };
    const membership = this.membership;
    this.validation = {
      self: config.id,
      get members() {
        return membership.members;
      },
      partitionCount: config.partitionCount,
      n: config.n,
      maxKeyBytes: config.limits?.maxKeyBytes ?? 65_536,
    };
  }

  private makeContext(): NodeContext {
    const node = this;
    const mode: VersioningMode = this.config.bugs.includes("lww") ? "lww" : this.config.mode;
    return {
      config: this.config,
      self: this.config.id,
      mode,
      get cluster() {
        return node.membership.state;
      },
      get detector() {
        return node.detector;
      },
      get rng() {
        return node.rng;
      },
      get actor() {
        return node.actor;
      },
      get storageFailing() {
        return node.storageFailing;
      },
      now: () => this.nowMs,
      hasBug: (bug: BugName) => this.config.bugs.includes(bug),
      newReqId: () => `${this.config.id}/${hex32(this.bootNonce)}/${this.reqSeq++}`,
      get bootId() {
        return hex32(node.bootNonce);
      },
      peerBoot: (peer: NodeId) => this.peerBoots.get(peer),
      peerBootsMark: () => this.peerBoots.mark,
      peerBootHeardBy: (peer: NodeId, boot: string, mark: number) => this.peerBoots.heardBy(peer, boot, mark),
      send: (to: NodeId, msg: PeerMessage) => this.send(to, msg),
      storage: (op: StorageOp, done: (result: StorageResult) => void) => this.storage(op, done),
      setTimer: (afterMs: number, fire: () => void) => this.setTimer(afterMs, fire),
      cancelTimer: (timerId: number) => this.cancelTimer(timerId),
      emit: (event: NodeEvent) => this.emit(event),
      log: (level, msg, fields) => this.effects.push(fields === undefined ? { kind: "log", level, msg } : { kind: "log", level, msg, fields }),
      reply: (clientReqId: number, result: ClientResult) => this.effects.push({ kind: "reply", clientReqId, result }),
      peerTimedOut: (peer: NodeId) => this.emitTransitions(this.detector.timedOut(peer)),
    };
  }

  inspect(): NodeInspection {
    return {
      phase: this.phase,
      actor: this.actor,
      suspected: this.detector.suspectedPeers().sort(),
      pending: { get: this.getCoordinator.inFlight, put: this.putCoordinator.inFlight, replicate: this.mintCoordinator.inFlight },
      rng: this.rng.state(),
      cluster: this.membership.named(this.membership.state),
      transfers: {
        pending: plannedTransfers(this.membership.state, this.config.n).length,
        active: this.transfers.views(),
        objectsSent: this.transfers.objectsSent,
        objectsReceived: this.transfers.objectsReceived,
        completed: this.transfers.completed,
      },
    };
  }

  step(stamped: Stamped): Effect[] {
    this.effects = [];
    this.nowMs = stamped.now;
    this.monoMs = stamped.monotonic;
    const input = stamped.input;
    switch (input.kind) {
      case "start":
        this.handleStart();
        break;
      case "message":
        this.handleMessage(input.from, input.bytes);
        break;
      case "timer": {
        const fire = this.timerCallbacks.get(input.timerId);
        this.timerCallbacks.delete(input.timerId);
        fire?.(); // a cancelled timer that still fired is ignored
        break;
      }
      case "client":
        this.handleClient(input.clientReqId, input.op);
        break;
      case "admin":
        this.handleAdmin(input.op);
        break;
      case "storage": {
        const done = this.storageCallbacks.get(input.opId);
        this.storageCallbacks.delete(input.opId);
        done?.(input.result);
        break;
      }
      default:
        assertNever(input);
    }
    const out = this.effects;
    this.effects = [];
    return out;
  }

  // ---- effects ----

  private send(to: NodeId, msg: PeerMessage): void {
    assert(to !== this.config.id, `node ${to} sends a message to itself`);
    this.effects.push({ kind: "send", to, bytes: encodeMessage(msg) });
  }

  private storage(op: StorageOp, done: (result: StorageResult) => void): void {
    const opId = this.nextOpId++;
    const write = op.type === "put" || op.type === "del" || op.type === "batch";
    this.storageCallbacks.set(opId, write ? (r) => (this.noteWrite(r), done(r)) : done);
    this.effects.push({ kind: "storage", opId, op });
  }

  /** Tracks storage health from every write's outcome (before the write's own callback runs). */
  private noteWrite(result: StorageResult): void {
    if (result.ok) {
      if (this.storageFailing === null) return;
      this.storageFailing = null;
      this.ctx.log("info", "storage writes succeed again; ready");
      this.emit({ type: "storage-recovered" });
      return;
    }
    if (this.storageFailing !== null) return;
    this.storageFailing = result.reason ?? "io";
    this.ctx.log("error", "a storage write failed; not ready until one succeeds", { reason: this.storageFailing, error: result.message });
    this.emit({ type: "storage-failing", reason: this.storageFailing, message: result.message });
    this.armStorageProbe();
  }

  private armStorageProbe(): void {
    this.setTimer(STORAGE_PROBE_MS, () => {
      if (this.storageFailing === null) return;
      this.storage({ type: "put", key: PROBE_KEY, value: Uint8Array.of(1) }, (r) => {
        if (!r.ok) this.armStorageProbe();
      });
    });
  }

  private setTimer(afterMs: number, fire: () => void): number {
    const timerId = this.nextTimerId++;
    this.timerCallbacks.set(timerId, fire);
    this.effects.push({ kind: "set-timer", timerId, afterMs: Math.max(0, afterMs) });
    return timerId;
  }

  private cancelTimer(timerId: number): void {
    if (!this.timerCallbacks.delete(timerId)) return;
    this.effects.push({ kind: "cancel-timer", timerId });
  }

  private emit(event: NodeEvent): void {
    this.effects.push({ kind: "event", event });
  }

  private emitTransitions(transitions: readonly Transition[]): void {
    for (const t of transitions) this.emit({ type: t.type, peer: t.peer });
  }

  private every(intervalMs: number, body: () => void): void {
    const loop = (): void => {
      body();
      this.setTimer(intervalMs, loop);
    };
    this.setTimer(intervalMs, loop);
  }

  // ---- boot ----

  private handleStart(): void {
    if (this.phase !== "new") {
      this.ctx.log("warn", "start received twice; ignored");
      return;
    }
    this.phase = "booting";
    this.rng = new Rng(this.config.seed, this.nowMs);
    this.bootNonce = this.rng.nextU32();
    this.detector.start(this.monoMs);
    this.readMeta();
  }

  private readMeta(): void {
    this.storage({ type: "get", key: META_KEY }, (r) => {
      if (!r.ok && r.reason === "corrupt") return this.bootFailed(`reading the meta record failed: ${r.message}`);
      if (!r.ok) return this.retryBoot("reading the meta record failed", r.message, () => this.readMeta());
      const meta = r.value === undefined ? null : parseMeta(r.value);
      const previous = meta === null ? null : meta.incarnation;
      const stored = r.value === undefined ? null : parseStoredState(r.value);
      if (stored !== null) this.restoreState(stored);
      else if (meta !== null && meta.joined) this.membership.markJoined();
      if (r.value !== undefined && previous === null) this.ctx.log("warn", "the meta record is malformed; drawing a new incarnation");
      // Planted bug "counter-reset": a fixed incarnation, so a wiped node re-mints old dots.
      if (this.config.bugs.includes("counter-reset")) return previous === null ? this.writeMeta(0) : this.afterMeta(previous);
      // Every start is a new incarnation (see the header): the previous one plus one while the
      // meta record survives (so never one this disk used since), a random one on a fresh disk.
      this.writeMeta(previous === null ? this.rng.nextU32() : (previous + 1) >>> 0);
    });
  }

  private writeMeta(incarnation: number): void {
    // sync: durable before the first dot of this incarnation, even when writes are not synced.
    this.storage({ type: "put", key: META_KEY, value: this.metaBytes(incarnation), sync: true }, (r) => {
      if (!r.ok) return this.retryBoot("writing the meta record failed", r.message, () => this.writeMeta(incarnation));
      this.afterMeta(incarnation);
    });
  }

  /**
   * The meta record: the incarnation, whether this node has joined (so a restart with its disk
   * is joined at once), and the cluster state once it differs from the configured one.
   */
  private metaBytes(incarnation: number, state: ClusterState = this.membership.state): Uint8Array {
    const joined = this.membership.joined;
    return msgpackEncode(state.epoch > 0 ? { incarnation, joined, ring: stateToWire(state) } : { incarnation, joined }).slice();
  }

  /** The state last made durable by persistState (clusterChanged need not write it again). */
  private persisted: ClusterState | null = null;

  /** A membership change this node makes: durable (synced) before it is adopted (membership.ts). */
  private persistState(next: ClusterState, done: (ok: boolean) => void): void {
    this.storage({ type: "put", key: META_KEY, value: this.metaBytes(this.incarnation, next), sync: true }, (r) => {
      if (!r.ok) this.ctx.log("error", "persisting a membership change failed", { error: r.message });
      if (r.ok) this.persisted = next;
      done(r.ok);
    });
  }

  private clusterMetaRetryArmed = false;

  /** Persists the current cluster state; a failed write is retried each heartbeat until one succeeds (an adopted state must not stay in memory only). */
  private writeClusterMeta(): void {
    this.storage({ type: "put", key: META_KEY, value: this.metaBytes(this.incarnation), sync: true }, (r) => {
      if (r.ok || this.clusterMetaRetryArmed) return;
      this.ctx.log("error", "persisting the cluster state failed; retrying", { error: r.message });
      this.clusterMetaRetryArmed = true;
      this.setTimer(this.config.heartbeatIntervalMs, () => {
        this.clusterMetaRetryArmed = false;
        if (this.phase === "ready") this.writeClusterMeta();
      });
    });
  }

  /** A member's state named this node (it had lost its meta record): persist that, then serve. */
  private becameJoined(): void {
    if (this.phase !== "ready") return;
    this.writeClusterMeta();
    this.noteJoined();
  }

  /** Whether this node serves as a member (reported: "joining" at ready, then "joined"). */
  private servesAsMember = false;

  /** An unjoined node that became joined reports it, once: from now on it coordinates. */
  private noteJoined(): void {
    if (this.phase !== "ready" || this.servesAsMember || !this.membership.joined) return;
    this.servesAsMember = true;
    this.ctx.log("info", "joined the cluster; serving requests");
    this.emit({ type: "joined" });
  }

  private restoreState(stored: ClusterState): void {
    const previous = this.membership.state;
    this.membership.restore(stored);
    this.detector.setPeers(this.membership.peers, this.monoMs);
    if (previous !== this.membership.state) this.replica.ringChanged();
  }

  /** The cluster state changed: persist it (with this incarnation), recompute routing, restart transfers, report it. */
  private clusterChanged(previous: ClusterState, next: ClusterState): void {
    this.replica.ringChanged();
    this.antiEntropy.ringChanged();
    this.shed.ringChanged();
    this.armShed();
    this.detector.setPeers(this.membership.peers, this.monoMs);
    if (this.phase === "ready" && next !== this.persisted) this.writeClusterMeta();
    this.persisted = null;
    this.noteJoined();
    const n = this.config.n;
    this.emit({
      type: "ring-changed",
      epoch: next.epoch,
      owners: next.owners,
      members: next.members.map((m) => ({ id: m.id, status: displayedStatus(next, m, n) })),
      pending: pendingPartitions(next, n),
    });
    if (next.epoch !== previous.epoch) this.ctx.log("info", "cluster state adopted", { epoch: next.epoch, pending: pendingPartitions(next, n).length });
    if (this.phase === "ready") {
      this.transfers.tick();
      this.armTransfers();
    }
    this.checkLeft();
  }

  /** A leaving node whose partitions all moved, as a peer knows too (or a removed one), reports that it left, once. */
  private checkLeft(): void {
    const state = this.membership.state;
    const me = memberOf(state, this.config.id);
    if (this.leftReported || me === undefined || me.status === "valid") return;
    if (me.status === "leaving" && (this.movesLeft(state) || !this.handoffKnownByPeer)) return;
    this.leftReported = true;
    this.ctx.log("info", me.status === "removed" ? "this node was removed from the cluster" : "this node handed off all its partitions and left the cluster");
    this.reportLeftWhenDrained();
  }

  /** The client requests in flight finish (new ones are refused), then the node reports it left (its process exits). */
  private reportLeftWhenDrained(): void {
    if (this.getCoordinator.inFlight + this.putCoordinator.inFlight + this.mintCoordinator.inFlight === 0) return this.emit({ type: "left" });
    this.setTimer(this.config.heartbeatIntervalMs, () => this.reportLeftWhenDrained());
  }

  private movesLeft(state: ClusterState): boolean {
    return plannedTransfers(state, this.config.n).some((t) => t.from === this.config.id);
  }

  /** A peer's gossip: does it know this leaving node has nothing left to move? */
  private notePeerHandoffView(from: NodeId, state: ClusterState): void {
    if (from === this.config.id || this.handoffKnownByPeer || memberOf(state, this.config.id)?.status !== "leaving") return;
    if (state.epoch !== this.membership.state.epoch || this.movesLeft(state)) return;
    this.handoffKnownByPeer = true;
    this.checkLeft();
  }

  private handleAdmin(op: AdminOp): void {
    if (this.phase !== "ready" || !this.servesAsMember) {
      this.ctx.log("warn", "membership command before the node is ready (booted and joined); ignored", { op: op.type });
      return;
    }
    const change = op.type === "leave" ? ({ type: "leave", id: this.config.id } as const) : ({ type: "remove", id: op.node } as const);
    const result = this.membership.change(change);
    if (!result.ok) this.ctx.log("warn", "membership command refused", { op: op.type, reason: result.message });
  }

  private transfersArmed = false;

  /** The transfer loop runs only while this node has transfers to send. */
  private armTransfers(): void {
    if (this.transfersArmed || this.phase !== "ready") return;
    if (!plannedTransfers(this.membership.state, this.config.n).some((t) => t.from === this.config.id)) return;
    this.transfersArmed = true;
    this.setTimer(this.config.handoffIntervalMs, () => {
      this.transfersArmed = false;
      this.transfers.tick();
      this.armTransfers();
    });
  }

  private afterMeta(incarnation: number): void {
    this.incarnation = incarnation;
    this.actor = `${this.config.name}.${hex32(incarnation)}`;
    this.replica.boot((r) => {
      if (!r.ok && r.reason === "corrupt") return this.bootFailed(`scanning storage failed: ${r.message}`);
      if (!r.ok) return this.retryBoot("scanning storage failed", r.message, () => this.afterMeta(incarnation));
      this.becomeReady();
    });
  }

  /** The store is damaged beyond a record: retrying cannot help, the operator must act. */
  private bootFailed(message: string): void {
    this.ctx.log("error", `boot failed: ${message}`);
    this.emit({ type: "boot-failed", message });
  }

  private retryBoot(what: string, message: string, retry: () => void): void {
    this.ctx.log("error", `${what}; retrying`, { error: message });
    this.setTimer(BOOT_RETRY_MS, retry);
  }

  private becomeReady(): void {
    this.phase = "ready";
    this.emit({ type: "ready", actor: this.actor, incarnation: this.incarnation });
    // Lost its meta record and told to join: its configured list is no ring to coordinate on.
    this.servesAsMember = this.membership.joined;
    if (!this.servesAsMember) this.emit({ type: "joining" });
    const c = this.config;
    this.every(c.heartbeatIntervalMs, () => {
      // Always, to every peer: liveness must not ride on data traffic (a busy data channel
      // would delay it and get a live peer suspected).
      for (const p of this.membership.peers) this.send(p, { type: "heartbeat", from: c.id, boot: hex32(this.bootNonce) });
      this.membership.tick();
      for (const p of this.detector.toProbe()) this.send(p, { type: "probe", reqId: this.ctx.newReqId(), from: c.id });
      this.emitTransitions(this.detector.tick(this.monoMs));
    });
    // The handoff loop runs only while this node holds hints (no idle timer events).
    this.replica.hints.onAdd = () => this.armHandoff();
    if (this.replica.hints.size > 0) this.armHandoff();
    if (c.antiEntropyIntervalMs > 0) this.every(c.antiEntropyIntervalMs, () => this.antiEntropy.tick());
    // Transfers a stored state still asks for (a restart mid-transfer re-runs them).
    this.transfers.tick();
    this.armTransfers();
    // Objects of partitions moved away that a crash left unshed.
    this.shed.ringChanged();
    this.armShed();
    this.checkLeft();
  }

  private shedArmed = false;

  /** The shed loop runs only while there are stray objects to turn into hints (replica/shed.ts). */
  private armShed(): void {
    if (this.shedArmed || this.phase !== "ready" || !this.shed.hasWork) return;
    this.shedArmed = true;
    this.setTimer(this.config.handoffIntervalMs, () => {
      this.shedArmed = false;
      this.shed.tick();
      this.armShed();
    });
  }

  private handoffArmed = false;

  private armHandoff(): void {
    if (this.handoffArmed || this.phase !== "ready") return;
    this.handoffArmed = true;
    this.setTimer(this.config.handoffIntervalMs, () => {
      this.handoffArmed = false;
      this.handoff.tick();
      if (this.replica.hints.size > 0) this.armHandoff();
    });
  }

  // ---- client ops ----

  private handleClient(clientReqId: number, op: ClientOp): void {
    if (this.phase !== "ready") {
      this.ctx.reply(clientReqId, { ok: false, type: op.type, error: "starting", message: "the node is starting", answered: 0, needed: 0, maybeApplied: false });
      return;
    }
    if (!this.servesAsMember) {
      this.ctx.reply(clientReqId, { ok: false, type: op.type, error: "starting", message: NOT_JOINED, answered: 0, needed: 0, maybeApplied: false });
      return;
    }
    if (this.leftReported) {
      this.ctx.reply(clientReqId, { ok: false, type: op.type, error: "unavailable", message: "this node has left the cluster; send requests to a member", answered: 0, needed: 0, maybeApplied: false });
      return;
    }
    switch (op.type) {
      case "get":
        this.getCoordinator.start(clientReqId, op);
        return;
      case "put":
      case "delete":
        this.putCoordinator.start(clientReqId, op);
        return;
      default:
        assertNever(op);
    }
  }

  // ---- peer messages ----

  private handleMessage(transportFrom: NodeId, bytes: Uint8Array): void {
    let msg: PeerMessage;
    try {
      msg = decodeMessage(bytes);
    } catch (e) {
      this.dropMessage(transportFrom, "malformed", e instanceof Error ? e.message : String(e));
      return;
    }
    const verdict = validatePeerMessage(msg, transportFrom, this.validation);
    if (!verdict.ok) {
      this.dropMessage(transportFrom, verdict.reason, verdict.detail, msg.type);
      return;
    }
    this.emitTransitions(this.detector.heard(msg.from, this.monoMs));
    // A reply to one of our requests proves a round trip on the data channel.
    if (isReplyType(msg.type)) this.emitTransitions(this.detector.replied(msg.from));
    this.learnBoot(msg);
    if (this.phase !== "ready") {
      if (msg.type === "put") this.putCoordinator.handleForward(msg, false);
      return;
    }
    this.dispatch(msg);
  }

  /**
   * Which process of the sender is current: its heartbeat and its put-reply (an answer to a
   * forward we sent) say so outright (so a wrong boot, from a late or garbled request id, lasts
   * one heartbeat interval at most); otherwise from the id of a request it sent.
   */
  private learnBoot(msg: PeerMessage): void {
    if (msg.type === "heartbeat" || msg.type === "put-reply") return this.peerBoots.announced(msg.from, msg.boot);
    const boot = "reqId" in msg && !isReplyType(msg.type) ? bootOfReqId(msg.reqId, msg.from) : null;
    if (boot !== null) this.peerBoots.learn(msg.from, boot);
  }

  /** A peer message that must not touch state: logged and counted. */
  private dropMessage(peer: NodeId, reason: DropReason, detail: string, type?: string): void {
    // A joining node heartbeats its configured members before they know it: expected, not worth a warning.
    const expected = reason === "unknown-sender" && type === "heartbeat";
    this.ctx.log(expected ? "debug" : "warn", "dropping a peer message", { peer, reason, detail, ...(type === undefined ? {} : { type }) });
    this.emit({ type: "peer-message-dropped", reason, peer });
  }

  private dispatch(msg: PeerMessage): void {
    const self = this.config.id;
    switch (msg.type) {
      case "heartbeat":
      case "probe-ack":
        return;
      case "probe":
        this.send(msg.from, { type: "probe-ack", reqId: msg.reqId, from: self });
        return;
      case "get":
        this.replica.localViewBytes(msg.partition, msg.key, (r) => {
          if (!r.ok) return; // a storage failure is no answer; the coordinator times out
          if (r.corrupt === true) this.send(msg.from, { type: "get-reply", reqId: msg.reqId, from: self, set: null, corrupt: true });
          else this.send(msg.from, { type: "get-reply", reqId: msg.reqId, from: self, set: r.bytes });
        });
        return;
      case "get-reply":
        this.getCoordinator.handleReply(msg.reqId, msg.from, msg.set, msg.corrupt === true);
        return;
      case "put":
        // Not joined yet: refused (nothing applied), the coordinator tries another primary.
        this.putCoordinator.handleForward(msg, this.servesAsMember);
        return;
      case "put-reply":
        this.putCoordinator.handleReply(msg.reqId, msg.from, msg.result, msg.boot);
        return;
      case "replicate":
      case "handoff": {
        const set = tryDecodeSet(this.ctx, msg.set, `${msg.type} from ${msg.from}`);
        if (set === null) return;
        const ack = (): void =>
          this.send(msg.from, msg.type === "replicate" ? { type: "replicate-ack", reqId: msg.reqId, from: self } : { type: "handoff-ack", reqId: msg.reqId, from: self });
        // Planted bug "ack-before-durable": acknowledge on receipt, before the write completed.
        const early = this.config.bugs.includes("ack-before-durable");
        if (early) ack();
        const hint = msg.type === "replicate" ? msg.hint : null;
        this.replica.mergeIncoming(msg.partition, msg.key, set, hint, (ok, _changed, failure) => {
          if (ok && !early) ack(); // only after the storage write completed
          // A replica that cannot store it says so, so the minting replica need not wait for it.
          else if (!ok && failure !== undefined && msg.type === "replicate") this.send(msg.from, { type: "replicate-ack", reqId: msg.reqId, from: self, refused: failure });
        });
        return;
      }
      case "replicate-ack":
        if (msg.refused !== undefined) this.mintCoordinator.handleRefusal(msg.reqId, msg.from, msg.refused);
        else this.mintCoordinator.handleAck(msg.reqId, msg.from);
        return;
      case "repair": {
        const set = tryDecodeSet(this.ctx, msg.set, `repair from ${msg.from}`);
        if (set !== null) this.replica.mergeIncoming(msg.partition, msg.key, set, msg.hint, () => {});
        return;
      }
      case "handoff-ack":
        this.handoff.handleAck(msg.reqId, msg.from);
        return;
      case "reap": {
        const set = tryDecodeSet(this.ctx, msg.set, `reap from ${msg.from}`);
        if (set !== null && this.replica.isPrimary(msg.partition)) this.replica.reap(msg.partition, msg.key, set);
        return;
      }
      case "ae-buckets":
        this.antiEntropy.handleBuckets(msg);
        return;
      case "ae-buckets-reply":
        this.antiEntropy.handleBucketsReply(msg);
        return;
      case "ae-sync":
        this.antiEntropy.handleSync(msg);
        return;
      case "ae-sync-reply":
        this.antiEntropy.handleSyncReply(msg);
        return;
      case "ring-gossip":
        this.membership.handleGossip(msg.from, msg.state);
        this.notePeerHandoffView(msg.from, msg.state);
        return;
      case "join":
        this.membership.handleJoin(msg.from, msg.name, msg.partitionCount);
        return;
      case "join-refused":
        this.membership.handleJoinRefused(msg.from, msg.message);
        return;
      case "transfer":
        this.transfers.handleTransfer(msg);
        return;
      case "transfer-ack":
        this.transfers.handleAck(msg);
        return;
      default:
        assertNever(msg);
    }
  }
}

/** The cluster state in the meta record, or null (absent or unreadable: the configured state is used). */
function parseStoredState(bytes: Uint8Array): ClusterState | null {
  try {
    const m: unknown = msgpackDecode(bytes);
    if (typeof m !== "object" || m === null || !("ring" in m)) return null;
    return stateFromWire((m as Record<string, unknown>)["ring"]);
  } catch {
    return null;
  }
}

/**
 * The meta record's incarnation and joined flag, or null (unreadable). A record without the flag
 * (written before it existed) is of a node that booted with this disk before: joined.
 */
function parseMeta(bytes: Uint8Array): { incarnation: number; joined: boolean } | null {
  try {
    const m: unknown = msgpackDecode(bytes);
    if (typeof m !== "object" || m === null) return null;
    const rec = m as Record<string, unknown>;
    const inc = rec["incarnation"];
    if (typeof inc !== "number" || !Number.isInteger(inc) || inc < 0 || inc > 0xffffffff) return null;
    return { incarnation: inc, joined: rec["joined"] !== false };
  } catch {
    return null;
  }
}
