// The client side of PUT and DELETE (Riak's put_fsm forward step). Owns: validating w,
// choosing the minting replica, forwarding the write to it and relaying its outcome to the
// client; and, on the minting replica, accepting forwarded writes exactly once.
// Must not know: how the write is applied or replicated (mint.ts), storage.
//
// - The minting replica is this node if it is a primary of the key, else the first primary
//   not suspected. With no reachable primary (a minority side of a partition), the first
//   reachable fallback mints (this node if it is one). Nobody reachable: "unavailable".
// - No reply by the timeout: we cannot know whether the write was applied, so the client gets
//   a quorum error with maybeApplied = true (never a blind retry on another primary: that
//   could apply the write twice under two dots). An answer that says nothing was applied
//   ("starting", a refusal, a storage failure) lets the next candidate be tried. That holds
//   for this node's own mint too: when it is a primary whose storage failed (or is known to
//   be failing), the write goes to the other reachable primaries before the client hears of
//   it (storage-full: HTTP 507, only when no other primary could take it either).
// - A client write is applied at most once, however late a duplicate of its forward arrives
//   and whatever happened to the minting replica meanwhile (restart, power loss, wipe):
//   * a forward is addressed to one process of the minting replica (`toBoot`, the boot id the
//     coordinator last learned from it, see membership/peer-boots.ts). Only that process may
//     apply it; a later process refuses it with "may have been applied" (it cannot know
//     whether its predecessor applied it, and it never re-applies it). A forward addressed to
//     no boot (the coordinator knew none yet) is never applied: it is refused with "not
//     applied" and the replica's boot, and the coordinator re-sends it once, addressed. So is
//     one refused by a process the coordinator had heard from before sending it (a late
//     message from an earlier process had misled its address): no other process of the node
//     can have received it;
//   * within one process, forwards are deduplicated by request id (a bounded FIFO, whose
//     evicted ids leave a per-coordinator-boot floor: an id at or below it is refused as a
//     possible duplicate, so eviction never lets a duplicate through).
//   A late forward addressed to the current process (its coordinator already gave up and
//   answered "maybe applied") is still applied: staleness is never judged by comparing this
//   node's clock with the sender's, since clocks of different machines may be off by any
//   amount. Nothing of this is durable, so no storage loss can undo it.
import type { NodeContext } from "../context.ts";
import type { PeerMessage, WireWriteResult } from "../messages.ts";
import type { Replica } from "../replica/replica.ts";
import type { ClientErrorCode, ClientOp, ClientResult, NodeId } from "../types.ts";
import type { SiblingSet, VClock } from "../versioning/types.ts";
import { decodeClock, decodeSiblingSet, emptyClock, encodeClock } from "../versioning/index.ts";
import { partitionOf } from "../ring/index.ts";
import type { MintCoordinator, MintRequest } from "./mint.ts";
import { sloppyTargets, validQuorum } from "./quorum.ts";

type WriteOp = Extract<ClientOp, { type: "put" | "delete" }>;

interface Forward {
  readonly reqId: string;
  readonly clientReqId: number;
  readonly request: MintRequest;
  /** Primaries not yet tried, in order. */
  readonly remaining: NodeId[];
  to: NodeId;
  /** The boot of `to` this forward was addressed to (null: none known when it was sent). */
  toBoot: string | null;
  /** Re-sent once, addressed, after an unaddressed (or misaddressed) forward was refused. */
  readdressed: boolean;
  /** PeerBoots' mark when this forward was sent (which boots of `to` were known then). */
  sentMark: number;
  timerId: number;
}

/** How many forwarded request ids a minting replica remembers (FIFO). */
const FORWARD_MEMORY_MAX = 8192;

export class PutCoordinator {
  private readonly pending = new Map<string, Forward>();
  /** Forwarded writes seen by this minting replica: reqId -> outcome (undefined while in progress). */
  private readonly seen = new Map<string, WireWriteResult | undefined>();
  /** Per coordinator boot (`${from}/${boot}`): the highest sequence number evicted from `seen`. */
  private readonly evictedFloor = new Map<string, number>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly replica: Replica,
    private readonly mint: MintCoordinator,
  ) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** handlePutRequest / handleDeleteRequest: a client wrote through this node. */
  start(clientReqId: number, op: WriteOp): void {
    const { config } = this.ctx;
    const w = op.w ?? config.w;
    if (!validQuorum(w, config.n)) {
      this.ctx.reply(clientReqId, {
        ok: false, type: op.type, error: "bad-request", message: `w must be an integer between 1 and n=${config.n}, got ${w}`,
        answered: 0, needed: w, maybeApplied: false,
      });
      return;
    }
    const partition = partitionOf(op.key, config.partitionCount);
    const request: MintRequest = {
      op: op.type, partition, key: op.key,
      value: op.type === "put" ? op.value : null,
      contentType: op.type === "put" ? op.contentType : "",
      context: op.context ?? emptyClock(),
      clientId: op.clientId ?? null,
      w,
    };
    const { primaries } = this.replica.preferences(partition);
    if (primaries.includes(this.ctx.self)) {
      const others = (): NodeId[] => primaries.filter((p) => p !== this.ctx.self && this.ctx.detector.isUp(p));
      if (this.ctx.storageFailing !== null && others().length > 0) return this.forward(clientReqId, request, others());
      this.mint.start(request, (result, decoded) => {
        const alternatives = notApplied(result) ? others() : [];
        if (alternatives.length > 0) return this.forward(clientReqId, request, alternatives);
        this.ctx.reply(clientReqId, toClientResult(op.type, result, decoded));
      });
      return;
    }
    let candidates = primaries.filter((p) => this.ctx.detector.isUp(p));
    if (candidates.length === 0) {
      // No primary reachable (e.g. the minority side of a partition): sloppy quorum lets a
      // fallback mint, storing the write as a hint. Prefer ourselves when we are one.
      const { fallbacks } = this.replica.preferences(partition);
      const sloppy = sloppyTargets(primaries, fallbacks, config.n, (node) => this.ctx.detector.isUp(node)).map((t) => t.node);
      if (sloppy.includes(this.ctx.self)) {
        this.mint.start(request, (result, decoded) => this.ctx.reply(clientReqId, toClientResult(op.type, result, decoded)));
        return;
      }
      candidates = sloppy;
    }
    this.forward(clientReqId, request, candidates);
  }

  /** Sends the write to the first candidate; the others are tried in turn if it applies nothing. */
  private forward(clientReqId: number, request: MintRequest, candidates: NodeId[]): void {
    const first = candidates.shift();
    if (first === undefined) {
      this.ctx.reply(clientReqId, {
        ok: false, type: request.op, error: "unavailable", message: "no primary replica of the key is reachable",
        answered: 0, needed: request.w, maybeApplied: false,
      });
      return;
    }
    const fwd: Forward = { reqId: this.ctx.newReqId(), clientReqId, request, remaining: candidates, to: first, toBoot: null, readdressed: false, sentMark: 0, timerId: -1 };
    this.pending.set(fwd.reqId, fwd);
    this.sendForward(fwd);
  }

  private sendForward(fwd: Forward): void {
    const r = fwd.request;
    fwd.toBoot = this.ctx.peerBoot(fwd.to);
    fwd.sentMark = this.ctx.peerBootsMark();
    this.ctx.send(fwd.to, {
      type: "put", reqId: fwd.reqId, from: this.ctx.self, op: r.op, partition: r.partition, key: r.key,
      value: r.value, contentType: r.contentType,
      context: r.context.size === 0 ? null : encodeClock(r.context),
      w: r.w, clientId: r.clientId, toBoot: fwd.toBoot,
    });
    // The minting replica has its own requestTimeoutMs for replication: wait a little longer
    // so its quorum answer (with its counts) usually arrives before we give up.
    fwd.timerId = this.ctx.setTimer(this.ctx.config.requestTimeoutMs * 1.5, () => this.handleTimeout(fwd.reqId));
  }

  /** handlePutReply: the minting replica's outcome. */
  handleReply(reqId: string, from: NodeId, result: WireWriteResult, boot: string): void {
    const fwd = this.pending.get(reqId);
    if (fwd === undefined || from !== fwd.to) return; // stale, duplicate or misrouted
    this.ctx.cancelTimer(fwd.timerId);
    if (!result.ok && fwd.toBoot !== null && boot !== fwd.toBoot && !fwd.readdressed && this.ctx.peerBootHeardBy(fwd.to, boot, fwd.sentMark) && this.ctx.peerBoot(fwd.to) === boot) {
      // Addressed to an earlier process of the replica, refused by one we had heard from before
      // sending: that process was running before the send and still is, so no other process of
      // the node can have received this forward, and it applies no forward addressed elsewhere.
      // Nothing was applied: send it again, addressed to it (once, under a new request id).
      this.resend(fwd, { ...fwd, reqId: this.ctx.newReqId(), readdressed: true, timerId: -1 });
      return;
    }
    if (notApplied(result)) {
      if (fwd.toBoot === null && !fwd.readdressed && this.ctx.peerBoot(fwd.to) !== null) {
        // An unaddressed forward is never applied: send it again, addressed to the boot the
        // refusal taught us (once, under a new request id).
        this.resend(fwd, { ...fwd, reqId: this.ctx.newReqId(), readdressed: true, timerId: -1 });
        return;
      }
      const next = fwd.remaining.shift();
      if (next !== undefined) {
        // The replica applied nothing (booting, refused, storage failure): safe to try the next
        // candidate under a new request id.
        this.resend(fwd, { ...fwd, reqId: this.ctx.newReqId(), to: next, readdressed: false, timerId: -1 });
        return;
      }
    }
    this.pending.delete(reqId);
    let set: SiblingSet | undefined;
    if (result.ok) {
      try {
        set = decodeSiblingSet(result.set);
      } catch {
        this.ctx.log("warn", "malformed set in put-reply", { from });
        this.ctx.reply(fwd.clientReqId, unknownOutcome(fwd.request, "the minting replica sent a malformed reply"));
        return;
      }
    }
    this.ctx.reply(fwd.clientReqId, toClientResult(fwd.request.op, result, set));
  }

  private resend(old: Forward, retry: Forward): void {
    this.pending.delete(old.reqId);
    this.pending.set(retry.reqId, retry);
    this.sendForward(retry);
  }

  private handleTimeout(reqId: string): void {
    const fwd = this.pending.get(reqId);
    if (fwd === undefined) return;
    this.pending.delete(reqId);
    this.ctx.peerTimedOut(fwd.to);
    this.ctx.reply(fwd.clientReqId, unknownOutcome(fwd.request, `the minting replica ${fwd.to} did not answer in time`));
  }

  /** On the minting replica: a coordinator forwarded a client write. */
  handleForward(msg: Extract<PeerMessage, { type: "put" }>, ready: boolean): void {
    const replyTo = (result: WireWriteResult): void => {
      this.ctx.send(msg.from, { type: "put-reply", reqId: msg.reqId, from: this.ctx.self, boot: this.ctx.bootId, result });
    };
    if (this.seen.has(msg.reqId)) {
      const outcome = this.seen.get(msg.reqId);
      if (outcome !== undefined) replyTo(outcome); // duplicate after the fact: same answer
      return; // duplicate while in progress: the answer will come
    }
    const refusal = this.refuseMisaddressed(msg);
    if (refusal !== null) {
      replyTo(refusal);
      return;
    }
    if (!ready) {
      // Refused for good: the coordinator will try another primary, so a duplicate of this
      // forward arriving after we are ready must get the same answer, never be applied.
      const refused: WireWriteResult = { ok: false, error: "starting", message: "the minting replica is starting", answered: 0, needed: msg.w, maybeApplied: false };
      this.remember(msg.reqId, refused);
      replyTo(refused);
      return;
    }
    if (this.ctx.storageFailing !== null) {
      // Refused at once (and for good, like "starting"): the coordinator tries the next primary.
      const refused: WireWriteResult = {
        ok: false, error: this.ctx.storageFailing === "full" ? "storage-full" : "storage-error", message: "the minting replica's storage is failing", answered: 0, needed: msg.w, maybeApplied: false,
      };
      this.remember(msg.reqId, refused);
      replyTo(refused);
      return;
    }
    const { config } = this.ctx;
    if (msg.partition !== partitionOf(msg.key, config.partitionCount) || !validQuorum(msg.w, config.n) || (msg.op === "put") !== (msg.value !== null)) {
      this.ctx.log("warn", "dropping an inconsistent forwarded write", { reqId: msg.reqId, from: msg.from });
      return;
    }
    let context: VClock = emptyClock();
    if (msg.context !== null) {
      try {
        context = decodeClock(msg.context);
      } catch (e) {
        this.ctx.log("warn", "dropping a forwarded write with a malformed context", { error: e instanceof Error ? e.message : String(e) });
        return;
      }
    }
    this.remember(msg.reqId, undefined);
    this.mint.start(
      { op: msg.op, partition: msg.partition, key: msg.key, value: msg.value, contentType: msg.contentType, context, clientId: msg.clientId, w: msg.w },
      (result) => {
        this.remember(msg.reqId, result);
        replyTo(result);
      },
    );
  }

  /**
   * Why this process must not apply a forward it has not seen: addressed to no boot, to an
   * earlier process of this node, or below the floor of evicted ids (a possible duplicate).
   * Null when it may be applied.
   */
  private refuseMisaddressed(msg: Extract<PeerMessage, { type: "put" }>): WireWriteResult | null {
    const base = { answered: 0, needed: msg.w };
    if (msg.toBoot === null) {
      return { ok: false, error: "unavailable", message: "a forwarded write must name the boot of the replica that applies it", ...base, maybeApplied: false };
    }
    if (msg.toBoot !== this.ctx.bootId) {
      this.ctx.log("info", "refusing a forwarded write addressed to an earlier process of this node", { reqId: msg.reqId, toBoot: msg.toBoot });
      return { ok: false, error: "quorum", message: "the minting replica restarted; the write may or may not have been applied", ...base, maybeApplied: true };
    }
    const id = splitReqId(msg.reqId);
    if (id !== null && id.seq <= (this.evictedFloor.get(id.origin) ?? -1)) {
      this.ctx.log("warn", "refusing a forwarded write older than the forwards this node remembers", { reqId: msg.reqId });
      return { ok: false, error: "quorum", message: "a possible duplicate of an old forwarded write; the write may or may not have been applied", ...base, maybeApplied: true };
    }
    return null;
  }

  private remember(reqId: string, outcome: WireWriteResult | undefined): void {
    this.seen.set(reqId, outcome);
    while (this.seen.size > FORWARD_MEMORY_MAX) {
      const oldest = this.seen.keys().next();
      if (oldest.done === true) break;
      this.seen.delete(oldest.value);
      const id = splitReqId(oldest.value);
      if (id !== null) this.evictedFloor.set(id.origin, Math.max(id.seq, this.evictedFloor.get(id.origin) ?? -1));
    }
  }
}

/** `${node}/${boot}/${seq}` -> origin `${node}/${boot}` and seq; null for another shape. */
function splitReqId(reqId: string): { origin: string; seq: number } | null {
  const slash = reqId.lastIndexOf("/");
  const seq = Number(reqId.slice(slash + 1));
  return slash > 0 && Number.isSafeInteger(seq) && seq >= 0 && /^\d+$/.test(reqId.slice(slash + 1)) ? { origin: reqId.slice(0, slash), seq } : null;
}

function unknownOutcome(req: MintRequest, message: string): ClientResult {
  return { ok: false, type: req.op, error: "quorum", message: `${message}; the write may or may not have been applied`, answered: 0, needed: req.w, maybeApplied: true };
}

/** The client's answer; `decoded` is result.set decoded already (it is decoded here otherwise). */
function toClientResult(type: "put" | "delete", result: WireWriteResult, decoded?: SiblingSet): ClientResult {
  if (!result.ok) return { ok: false, type, error: result.error, message: result.message, answered: result.answered, needed: result.needed, maybeApplied: result.maybeApplied };
  return { ok: true, type, set: decoded ?? decodeSiblingSet(result.set), dot: result.dot, replicas: result.replicas };
}

/** The minting replica applied nothing, for a reason another replica may not share: try the next. */
function notApplied(result: WireWriteResult): boolean {
  return !result.ok && !result.maybeApplied && !isRefusal(result.error);
}

/** Errors that every replica would answer alike (retrying elsewhere cannot help). */
function isRefusal(error: ClientErrorCode): boolean {
  return error === "bad-request" || error === "too-many-siblings" || error === "object-too-large";
}
