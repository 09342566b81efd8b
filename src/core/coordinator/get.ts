// The GET state machine of a coordinator (Dynamo §4.5, Riak get_fsm). Owns: in-flight GETs,
// from the client op to the answer, read repair and the reap decision. Must not know: how a
// replica stores things (it asks the Replica for its local view), storage keys, transports.
//
// States of one GET: waiting (< R replies) -> answered (>= R, client has its result) ->
// finished (all targets replied or the timeout fired). The counting is quorum.ts's; this file
// only moves between states.
// - Targets: the first N reachable nodes of primaries ++ fallbacks (sloppy). The coordinator
//   itself, if a target, reads locally and counts as a reply.
// - Answer after R distinct replies (not-found counts) with their merge.
// - Finish: read repair sends the final merge to every replier whose copy differs (not-found
//   included, and every target that answered "corrupt": its record failed verification, so
//   it does not count toward R but is repaired like a missing copy); if all N primaries answered with the same tombstone-only set, a reap is sent
//   to them after reapDelayMs (each compares before reaping).
// - Fewer than R replies at the timeout: an error result, never a hang.
import type { NodeContext } from "../context.ts";
import type { Replica } from "../replica/replica.ts";
import { tryDecodeSet } from "../replica/replica.ts";
import type { ClientOp, NodeId } from "../types.ts";
import type { SiblingSet } from "../versioning/types.ts";
import { conflictingDots, encodeSiblingSet, liveSiblings } from "../versioning/index.ts";
import { partitionOf } from "../ring/index.ts";
import { ReplyTally, mergeReplies, readRepairTargets, reapableSet, sloppyTargets, validQuorum } from "./quorum.ts";
import type { Target } from "./quorum.ts";

interface GetRequest {
  readonly reqId: string;
  readonly clientReqId: number;
  readonly key: string;
  readonly partition: number;
  readonly r: number;
  readonly targets: readonly Target[];
  readonly primaries: readonly NodeId[];
  readonly tally: ReplyTally<SiblingSet | null>;
  /** Targets whose copy is corrupt: not counted, repaired at the end. */
  readonly corrupt: Set<NodeId>;
  answered: boolean;
  timerId: number;
}

export class GetCoordinator {
  private readonly pending = new Map<string, GetRequest>();
  /** Keys with a reap scheduled by this coordinator (one at a time per key). */
  private readonly reapsPending = new Set<string>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly replica: Replica,
  ) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** handleGetRequest: a client asked for a key. */
  start(clientReqId: number, op: Extract<ClientOp, { type: "get" }>): void {
    const { config } = this.ctx;
    const r = op.r ?? config.r;
    if (!validQuorum(r, config.n)) {
      this.ctx.reply(clientReqId, {
        ok: false, type: "get", error: "bad-request", message: `r must be an integer between 1 and n=${config.n}, got ${r}`,
        answered: 0, needed: r, maybeApplied: false,
      });
      return;
    }
    const partition = partitionOf(op.key, config.partitionCount);
    const { primaries, fallbacks } = this.replica.preferences(partition);
    const targets = sloppyTargets(primaries, fallbacks, config.n, (node) => this.ctx.detector.isUp(node));
    if (targets.length === 0) {
      this.ctx.reply(clientReqId, { ok: false, type: "get", error: "unavailable", message: "no replica is reachable", answered: 0, needed: r, maybeApplied: false });
      return;
    }
    const reqId = this.ctx.newReqId();
    const req: GetRequest = {
      reqId, clientReqId, key: op.key, partition, r, targets, primaries,
      tally: new ReplyTally<SiblingSet | null>(targets.map((t) => t.node), r, this.ctx.hasBug("duplicate-acks")),
      corrupt: new Set(),
      answered: false,
      timerId: -1,
    };
    this.pending.set(reqId, req);
    req.timerId = this.ctx.setTimer(config.requestTimeoutMs, () => this.handleTimeout(reqId));
    for (const t of targets) {
      if (t.node === this.ctx.self) {
        this.replica.localView(partition, op.key, (res) => {
          if (res.ok && res.corrupt === true) this.recordCorrupt(reqId, this.ctx.self);
          else if (res.ok) this.record(reqId, this.ctx.self, res.set);
        });
      } else {
        this.ctx.send(t.node, { type: "get", reqId, from: this.ctx.self, partition, key: op.key });
      }
    }
  }

  /** handleGetReply: a replica answered (possibly late, duplicated or for an unknown request). */
  handleReply(reqId: string, from: NodeId, setBytes: Uint8Array | null, corrupt = false): void {
    if (!this.pending.has(reqId)) return; // stale: the request finished or predates a restart
    if (corrupt) return this.recordCorrupt(reqId, from);
    let set: SiblingSet | null = null;
    if (setBytes !== null) {
      set = tryDecodeSet(this.ctx, setBytes, `get-reply from ${from}`);
      if (set === null) return; // malformed: does not count
    }
    this.record(reqId, from, set);
  }

  private record(reqId: string, from: NodeId, set: SiblingSet | null): void {
    const req = this.pending.get(reqId);
    if (req === undefined) return;
    if (req.corrupt.has(from) || req.tally.record(from, set) === "stranger") return;
    if (!req.answered && req.tally.reached) this.answer(req);
    this.checkComplete(req);
  }

  /** A target's copy is corrupt: it answered, but its reply does not count toward R. */
  private recordCorrupt(reqId: string, from: NodeId): void {
    const req = this.pending.get(reqId);
    if (req === undefined || !req.tally.targets.includes(from) || req.tally.has(from)) return;
    req.corrupt.add(from);
    this.checkComplete(req);
  }

  private checkComplete(req: GetRequest): void {
    if (req.tally.answered + req.corrupt.size >= new Set(req.tally.targets).size) {
      // Every target answered but fewer than R (fewer targets than R were reachable): fail now.
      if (!req.answered) this.fail(req);
      this.finish(req);
    }
  }

  private fail(req: GetRequest): void {
    req.answered = true;
    this.ctx.reply(req.clientReqId, {
      ok: false, type: "get", error: "quorum",
      message: `only ${req.tally.answered} of the required ${req.r} replicas answered in time`,
      answered: req.tally.answered, needed: req.r, maybeApplied: false,
    });
  }

  /** Enough replies: answer the client with their merge. */
  private answer(req: GetRequest): void {
    req.answered = true;
    const sets = req.tally.entries().map(([, s]) => s);
    this.reportConflicts(req.key, sets);
    const merged = mergeReplies(this.ctx.mode, sets);
    const replicas = req.tally.repliers();
    this.ctx.emit({ type: "quorum", op: "get", reqId: req.reqId, key: req.key, needed: req.r, replicas });
    const live = merged === null ? 0 : liveSiblings(merged).length;
    if (live > 1) this.ctx.emit({ type: "siblings", key: req.key, count: live });
    // A reaped key (a clock with no siblings) reads as absent.
    const set = merged !== null && merged.siblings.length > 0 ? merged : null;
    this.ctx.reply(req.clientReqId, { ok: true, type: "get", set, replicas });
  }

  /**
   * Replies holding one dot with different values (a dot issued twice: corruption) merge into
   * one of the two values; never silently: logged and counted (replicas refuse to store such a
   * merge, see Replica.mergeIncoming).
   */
  private reportConflicts(key: string, sets: readonly (SiblingSet | null)[]): void {
    if (this.ctx.mode === "client-vclock") return; // that mode's dots are not unique, by design
    const present = sets.filter((s): s is SiblingSet => s !== null);
    for (let i = 1; i < present.length; i++) {
      for (const dot of conflictingDots(present[0]!, present[i]!)) {
        this.ctx.log("error", "replicas hold different values under the same dot (a dot was issued twice)", { key, actor: dot.actor, counter: dot.counter });
        this.ctx.emit({ type: "dot-conflict", key, actor: dot.actor, counter: dot.counter });
      }
    }
  }

  private handleTimeout(reqId: string): void {
    const req = this.pending.get(reqId);
    if (req === undefined) return;
    req.timerId = -1;
    for (const t of req.targets) if (!req.tally.has(t.node) && !req.corrupt.has(t.node)) this.ctx.peerTimedOut(t.node);
    if (!req.answered) this.fail(req);
    this.finish(req);
  }

  /** All targets replied or the timeout fired: read repair, then maybe schedule a reap. */
  private finish(req: GetRequest): void {
    this.pending.delete(req.reqId);
    if (req.timerId >= 0) this.ctx.cancelTimer(req.timerId);
    const entries = req.tally.entries();
    const merged = mergeReplies(this.ctx.mode, entries.map(([, s]) => s));
    if (merged === null) return;
    const bytes = encodeSiblingSet(merged);
    for (const node of [...readRepairTargets(entries, merged), ...req.corrupt]) {
      const hint = req.targets.find((t) => t.node === node)?.hint ?? null;
      this.ctx.emit({ type: "read-repair", key: req.key, to: node });
      if (node === this.ctx.self) this.replica.mergeIncoming(req.partition, req.key, merged, hint, () => {});
      else this.ctx.send(node, { type: "repair", reqId: this.ctx.newReqId(), from: this.ctx.self, partition: req.partition, key: req.key, set: bytes, hint });
    }
    const { reapDelayMs } = this.ctx.config;
    if (reapDelayMs === null) return;
    const tomb = reapableSet(new Map(entries), req.primaries);
    const reapKey = `${req.partition}:${req.key}`;
    // No reaps while the partition's ownership moves: the new primaries may not hold the tombstone yet.
    if (tomb === null || this.reapsPending.has(reapKey) || this.replica.isPending(req.partition)) return;
    this.reapsPending.add(reapKey);
    const tombBytes = encodeSiblingSet(tomb);
    this.ctx.setTimer(reapDelayMs, () => {
      this.reapsPending.delete(reapKey);
      for (const p of req.primaries) {
        if (p === this.ctx.self) this.replica.reap(req.partition, req.key, tomb);
        else this.ctx.send(p, { type: "reap", reqId: this.ctx.newReqId(), from: this.ctx.self, partition: req.partition, key: req.key, set: tombBytes });
      }
    });
  }
}
