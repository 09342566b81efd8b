// Hinted handoff (Dynamo §4.6). Owns: periodically sending each hint this node holds to its
// primary once that primary is no longer suspected, and deleting the hint after the primary
// acknowledged a durable merge. Must not know: quorums, clients.
//
// A hint is deleted only if it still holds exactly the bytes that were handed off: a write
// that merged into the hint meanwhile is kept for the next round (compare-and-delete under the
// key's lock in Replica.deleteHintIfUnchanged).
//
// A hint for a node that has left the cluster (its status is removed: it handed off what it
// served and exits) can never be delivered. This node adopts it instead: it merges the hint into
// its own object for the key (durably), then deletes the hint the same compare-and-delete way.
// When this node is not a primary of the partition either, the shed turns that object into
// hints for the current primaries, so the data never leaves this disk undelivered.
import type { NodeContext } from "../context.ts";
import { displayedStatus, memberOf } from "../membership/cluster-state.ts";
import type { NodeId } from "../types.ts";
import { tryDecodeSet, type Replica } from "./replica.ts";

/** At most this many handoffs in flight per node. */
const HANDOFFS_IN_FLIGHT_MAX = 64;

interface InFlight {
  readonly storageKey: string;
  readonly target: NodeId;
  readonly key: string;
  readonly bytes: Uint8Array;
  readonly timerId: number;
}

export class Handoff {
  private readonly inFlight = new Map<string, InFlight>();
  private readonly inFlightKeys = new Set<string>();

  constructor(
    private readonly ctx: NodeContext,
    private readonly replica: Replica,
  ) {}

  /** One handoff round: called every handoffIntervalMs. */
  tick(): void {
    for (const hint of this.replica.hints.all()) {
      if (this.inFlight.size >= HANDOFFS_IN_FLIGHT_MAX) return;
      if (this.inFlightKeys.has(hint.storageKey)) continue;
      if (this.hasLeft(hint.target)) {
        this.adopt(hint);
        continue;
      }
      if (!this.ctx.detector.isUp(hint.target) || hint.target === this.ctx.self) continue;
      this.inFlightKeys.add(hint.storageKey);
      this.replica.readPayload(hint.storageKey, (r) => {
        if (!r.ok || r.payload === null) {
          // Absent, or corrupt (never handed off, and deleted: the primary gets the key from
          // its peers).
          this.inFlightKeys.delete(hint.storageKey);
          if (r.ok && r.corrupt === true) this.replica.discardCorruptHint(hint.storageKey);
          else if (r.ok) this.replica.hints.remove(hint.storageKey);
          return;
        }
        const payload = r.payload;
        const reqId = this.ctx.newReqId();
        const timerId = this.ctx.setTimer(this.ctx.config.requestTimeoutMs, () => {
          this.inFlight.delete(reqId);
          this.inFlightKeys.delete(hint.storageKey);
          this.ctx.peerTimedOut(hint.target);
        });
        this.inFlight.set(reqId, { storageKey: hint.storageKey, target: hint.target, key: hint.key, bytes: payload, timerId });
        this.ctx.send(hint.target, { type: "handoff", reqId, from: this.ctx.self, partition: hint.partition, key: hint.key, set: payload });
      });
    }
  }

  /** Whether the node has left the cluster for good (a leaver with nothing left to hand off, or removed). */
  private hasLeft(node: NodeId): boolean {
    const m = memberOf(this.ctx.cluster, node);
    return m !== undefined && displayedStatus(this.ctx.cluster, m, this.ctx.config.n) === "removed";
  }

  /** Merges a hint for a departed node into this node's own object for the key, then deletes the hint. */
  private adopt(hint: { readonly storageKey: string; readonly partition: number; readonly key: string }): void {
    this.inFlightKeys.add(hint.storageKey);
    this.replica.readPayload(hint.storageKey, (r) => {
      const set = r.ok && r.payload !== null ? tryDecodeSet(this.ctx, r.payload, `hint ${hint.storageKey}`) : null;
      if (!r.ok || r.payload === null || set === null) {
        // Unreadable now: retried next round. Absent or corrupt: handled like any hint (below).
        this.inFlightKeys.delete(hint.storageKey);
        if (r.ok && r.corrupt === true) this.replica.discardCorruptHint(hint.storageKey);
        else if (r.ok && r.payload === null) this.replica.hints.remove(hint.storageKey);
        return;
      }
      const payload = r.payload;
      this.replica.mergeIncoming(hint.partition, hint.key, set, null, (ok) => {
        if (!ok) return void this.inFlightKeys.delete(hint.storageKey);
        this.replica.deleteHintIfUnchanged(hint.storageKey, payload, () => this.inFlightKeys.delete(hint.storageKey));
      });
    });
  }

  /** handleHandoffAck: the primary merged the hint durably. */
  handleAck(reqId: string, from: NodeId): void {
    const f = this.inFlight.get(reqId);
    if (f === undefined || f.target !== from) return; // stale or duplicate
    this.inFlight.delete(reqId);
    this.ctx.cancelTimer(f.timerId);
    this.replica.deleteHintIfUnchanged(f.storageKey, f.bytes, (deleted) => {
      this.inFlightKeys.delete(f.storageKey);
      if (deleted) this.ctx.emit({ type: "handoff", key: f.key, to: f.target });
    });
  }
}
