// The write state machine on the minting replica (Riak put_fsm with a coordinating vnode).
// Owns: applying a client write locally (which mints the dot), replicating the result and
// counting durable acknowledgements up to W. Must not know: the client connection (put.ts
// forwards writes here and relays the outcome), storage keys.
//
// Order matters (the reason this is its own machine):
// 0. the minting replica is a primary, or, when no primary is reachable, a fallback (which
//    stores the write as a hint: see replica.ts for how it still never re-issues a dot);
// 1. the local read-modify-write mints the dot and completes its storage write, and only then
//    counts as the first ack: a dot must be durable here before anyone else holds it, or a
//    crash would let this actor mint the same dot again;
// 2. the whole new set goes to the other N-1 targets (sloppy: fallbacks carry a hint);
// 3. after W distinct durable acks the write succeeds. Fewer by the timeout: a quorum error
//    that says the write may have been applied (it is durable here, and maybe elsewhere).
//    A target that refuses (its storage is failing) is replaced by the next reachable
//    fallback, which carries a hint for it; once every target acked or refused, the outcome
//    is known without waiting for the timeout.
import type { NodeContext } from "../context.ts";
import type { WireWriteResult } from "../messages.ts";
import type { MintResult, Replica, WriteSpec } from "../replica/replica.ts";
import type { ClientErrorCode, NodeId } from "../types.ts";
import type { SiblingSet } from "../versioning/types.ts";
import { ReplyTally, sloppyTargets } from "./quorum.ts";

export interface MintRequest extends WriteSpec {
  readonly op: "put" | "delete";
  readonly w: number;
}

interface Replication {
  readonly reqId: string;
  readonly op: "put" | "delete";
  readonly key: string;
  readonly w: number;
  readonly tally: ReplyTally<true>;
  readonly result: { readonly set: Uint8Array; readonly dot: { readonly actor: string; readonly counter: number } };
  /** What decoding result.set gives (handed to a local caller, which need not decode it again). */
  readonly decoded: SiblingSet;
  readonly done: (result: WireWriteResult, decoded?: SiblingSet) => void;
  readonly partition: number;
  /** The hint each target carries (null for a primary). */
  readonly hints: Map<NodeId, NodeId | null>;
  /** Targets that refused the write (storage failing), with why. */
  readonly refused: Map<NodeId, ClientErrorCode>;
  answered: boolean;
  timerId: number;
}

export class MintCoordinator {
  private readonly pending = new Map<string, Replication>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly replica: Replica,
  ) {}

  get inFlight(): number {
    return this.pending.size;
  }

  /** Applies the write here, replicates it and calls done once with the outcome. */
  /** On success done also gets what decoding the result's set bytes gives. */
  start(req: MintRequest, done: (result: WireWriteResult, decoded?: SiblingSet) => void): void {
    const { primaries, fallbacks } = this.replica.preferences(req.partition);
    const onMinted = (minted: MintResult): void => {
      if (!minted.ok) {
        if (minted.error === "too-many-siblings" || minted.error === "object-too-large") {
          done({ ok: false, error: minted.error, message: minted.message, answered: 0, needed: req.w, maybeApplied: false });
          return;
        }
        done({
          ok: false, error: minted.error,
          message: `the minting replica could not apply the write: ${minted.message}`, answered: 0, needed: req.w, maybeApplied: false,
        });
        return;
      }
      // Targets are computed after the local write, with the suspicions of that moment.
      const targets = sloppyTargets(primaries, fallbacks, this.ctx.config.n, (node) => this.ctx.detector.isUp(node));
      const nodes = targets.map((t) => t.node);
      if (!nodes.includes(this.ctx.self)) nodes.unshift(this.ctx.self); // we hold it durably in any case
      const reqId = this.ctx.newReqId();
      const rep: Replication = {
        reqId, op: req.op, key: req.key, w: req.w,
        tally: new ReplyTally<true>(nodes, req.w, this.ctx.hasBug("duplicate-acks")),
        result: { set: minted.bytes, dot: minted.dot },
        decoded: minted.decoded,
        done, partition: req.partition, hints: new Map(targets.map((t) => [t.node, t.hint])), refused: new Map(),
        answered: false, timerId: -1,
      };
      this.pending.set(reqId, rep);
      rep.tally.record(this.ctx.self, true); // our own write is durable: the first ack
      for (const t of targets) {
        if (t.node === this.ctx.self) continue;
        this.ctx.send(t.node, { type: "replicate", reqId, from: this.ctx.self, partition: req.partition, key: req.key, set: minted.bytes, hint: t.hint });
      }
      rep.timerId = this.ctx.setTimer(this.ctx.config.requestTimeoutMs, () => this.handleTimeout(reqId));
      this.check(rep);
    };
    if (primaries.includes(this.ctx.self)) {
      this.replica.mint(req, onMinted);
      return;
    }
    // A fallback mints only when no primary is reachable (put.ts decides); its copy is a hint
    // for the primary it stands in for.
    const targets = sloppyTargets(primaries, fallbacks, this.ctx.config.n, (node) => this.ctx.detector.isUp(node));
    const hint = targets.find((t) => t.node === this.ctx.self)?.hint ?? primaries.find((p) => !this.ctx.detector.isUp(p)) ?? primaries[0];
    if (hint === undefined) {
      onMinted({ ok: false, message: "the key has no primary", error: "unavailable" });
      return;
    }
    this.replica.mintAsFallback(req, hint, onMinted);
  }

  /** handleReplicateAck: a replica's write is durable (or a duplicate / stale ack). */
  handleAck(reqId: string, from: NodeId): void {
    const rep = this.pending.get(reqId);
    if (rep === undefined) return; // stale
    if (rep.tally.record(from, true) === "stranger") return;
    this.check(rep);
  }

  /** A target could not store the write: stand a fallback in for it, and stop waiting for it. */
  handleRefusal(reqId: string, from: NodeId, why: ClientErrorCode): void {
    const rep = this.pending.get(reqId);
    if (rep === undefined || !rep.tally.targets.includes(from) || rep.tally.has(from) || rep.refused.has(from)) return;
    rep.refused.set(from, why);
    const { fallbacks } = this.replica.preferences(rep.partition);
    const substitute = fallbacks.find((f) => f !== this.ctx.self && !rep.tally.targets.includes(f) && this.ctx.detector.isUp(f));
    if (substitute !== undefined) {
      const hint = rep.hints.get(from) ?? from; // stand in for whom `from` stood in for, or for `from`
      rep.hints.set(substitute, hint);
      rep.tally.addTarget(substitute);
      this.ctx.send(substitute, { type: "replicate", reqId, from: this.ctx.self, partition: rep.partition, key: rep.key, set: rep.result.set, hint });
    }
    this.check(rep);
  }

  private check(rep: Replication): void {
    if (!rep.answered && rep.tally.reached) {
      rep.answered = true;
      const replicas = rep.tally.repliers();
      this.ctx.emit({ type: "quorum", op: rep.op, reqId: rep.reqId, key: rep.key, needed: rep.w, replicas });
      rep.done({ ok: true, set: rep.result.set, dot: rep.result.dot, replicas }, rep.decoded);
    }
    if (rep.tally.answered + rep.refused.size >= new Set(rep.tally.targets).size) {
      // Every target acknowledged or refused but fewer than W acked: fail now, not at the timeout.
      if (!rep.answered) this.fail(rep);
      this.close(rep);
    }
  }

  private fail(rep: Replication): void {
    rep.answered = true;
    rep.done({
      ok: false, error: "quorum",
      message: `only ${rep.tally.answered} of the required ${rep.w} replicas acknowledged in time${refusals(rep)}; the write may or may not have been applied`,
      answered: rep.tally.answered, needed: rep.w, maybeApplied: true,
    });
  }

  private handleTimeout(reqId: string): void {
    const rep = this.pending.get(reqId);
    if (rep === undefined) return;
    rep.timerId = -1;
    for (const node of rep.tally.targets) if (!rep.tally.has(node) && !rep.refused.has(node)) this.ctx.peerTimedOut(node);
    if (!rep.answered) this.fail(rep);
    this.close(rep);
  }

  private close(rep: Replication): void {
    this.pending.delete(rep.reqId);
    if (rep.timerId >= 0) this.ctx.cancelTimer(rep.timerId);
  }
}

function refusals(rep: Replication): string {
  if (rep.refused.size === 0) return "";
  return ` (refused: ${[...rep.refused].map(([node, why]) => `${node} ${why}`).join(", ")})`;
}
