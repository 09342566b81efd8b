// Ownership handoff (Riak's vnode handoff). Owns: streaming a partition's objects to a new
// primary when the cluster state asks this node to (plannedTransfers), and merging what
// arrives as a receiver. Must not know: how the plan was decided (membership/cluster-state.ts),
// quorums, clients.
//
// Theory of operation
// - Sender: a fold over the partition's stored objects (one scan), sent in batches of up to
//   TRANSFER_BATCH objects and TRANSFER_BATCH_BYTES, one batch in flight per transfer, the next after the ack (so the
//   receiver's storage paces it), at most TRANSFERS_ACTIVE_MAX transfers at once. Keys written
//   here while the transfer runs (Replica.onStored) are sent again before the final batch,
//   so a write acknowledged by this node during the transfer reaches the new primary before
//   cut-over. The final batch carries last = true; its ack completes the transfer.
// - Receiver: merges each object with sync semantics (Replica.mergeIncoming without a hint:
//   never mints, never overwrites a concurrent sibling) and acknowledges after the writes
//   are durable. Only the sender marks a transfer done (it alone knows no write is left).
// - After cut-over a write may still reach a node that no longer serves the partition (a
//   coordinator that has not heard the new state yet): that node forwards what it stored to
//   the partition's primaries as a repair.
// - Nothing about a transfer is stored: a batch that times out is resent, and a restart (of
//   either side) or a change of plan starts it over from the fold. Merges are idempotent, so
//   a re-run costs only bandwidth; a transfer is re-run until the receiver acknowledges the end.
import type { NodeContext } from "../context.ts";
import type { PeerMessage } from "../messages.ts";
import type { TransferPlan } from "../membership/cluster-state.ts";
import type { NodeId } from "../types.ts";
import { partitionPrefix, parseObjectKey } from "./keys.ts";
import { tryDecodeSet, type Replica } from "./replica.ts";

/** Objects per transfer message, at most. */
export const TRANSFER_BATCH = 64;
/** A batch stops growing past this many bytes of objects (always at least one object), well under the transport's message cap. */
const TRANSFER_BATCH_BYTES = 1024 * 1024;
/** Transfers this node sends at once. */
const TRANSFERS_ACTIVE_MAX = 2;

interface Active {
  readonly plan: TransferPlan;
  /** Objects not sent yet, from the fold. */
  queue: [string, Uint8Array][];
  /** Keys stored here since the fold; sent again before the last batch. */
  readonly dirty: Set<string>;
  inFlight: { reqId: string; batch: [string, Uint8Array][]; last: boolean; timerId: number } | null;
  sent: number;
  scanning: boolean;
}

export interface TransferView {
  readonly partition: number;
  readonly from: NodeId;
  readonly to: NodeId;
  readonly sent: number;
  readonly remaining: number;
}

export class Transfers {
  private readonly active = new Map<string, Active>();
  /** Totals since boot (metrics). */
  objectsSent = 0;
  objectsReceived = 0;
  completed = 0;

  constructor(
    private readonly ctx: NodeContext,
    private readonly replica: Replica,
    private readonly plans: () => readonly TransferPlan[],
    private readonly done: (plan: TransferPlan) => void,
  ) {
    replica.onStored = (partition, key) => {
      for (const a of this.active.values()) if (a.plan.partition === partition) a.dirty.add(key);
      if (ctx.cluster.epoch > 0 && !replica.isPending(partition) && !replica.isPrimary(partition)) this.forward(partition, key);
    };
  }

  /** A write stored here after the partition moved away: the primaries get it as a repair. */
  private forward(partition: number, key: string): void {
    this.replica.localViewBytes(partition, key, (r) => {
      if (!r.ok || r.bytes === null || r.corrupt === true) return;
      for (const to of this.replica.preferences(partition).primaries) {
        if (to !== this.ctx.self) this.ctx.send(to, { type: "repair", reqId: this.ctx.newReqId(), from: this.ctx.self, partition, key, set: r.bytes, hint: null });
      }
    });
  }

  /** Transfers this node runs now. */
  views(): TransferView[] {
    return [...this.active.values()].map((a) => ({ partition: a.plan.partition, from: a.plan.from, to: a.plan.to, sent: a.sent, remaining: a.queue.length + a.dirty.size }));
  }

  /** Called each handoff interval and after a state change: drops transfers no longer planned, starts planned ones. */
  tick(): void {
    const mine = this.plans().filter((p) => p.from === this.ctx.self);
    const wanted = new Set(mine.map(planKey));
    for (const [k, a] of this.active) {
      if (wanted.has(k)) continue;
      if (a.inFlight !== null) this.ctx.cancelTimer(a.inFlight.timerId);
      this.active.delete(k);
    }
    for (const plan of mine) {
      if (this.active.size >= TRANSFERS_ACTIVE_MAX) return;
      if (this.active.has(planKey(plan)) || !this.ctx.detector.isUp(plan.to)) continue;
      this.begin(plan);
    }
  }

  private begin(plan: TransferPlan): void {
    const a: Active = { plan, queue: [], dirty: new Set(), inFlight: null, sent: 0, scanning: true };
    this.active.set(planKey(plan), a);
    this.ctx.log("info", "ownership transfer started", { partition: plan.partition, to: plan.to });
    this.ctx.emit({ type: "transfer-started", partition: plan.partition, to: plan.to });
    this.ctx.storage({ type: "scan", prefix: partitionPrefix(plan.partition) }, (r) => {
      if (this.active.get(planKey(plan)) !== a) return;
      a.scanning = false;
      if (!r.ok) {
        this.active.delete(planKey(plan)); // retried on the next tick
        return;
      }
      for (const [storageKey, bytes] of r.entries ?? []) {
        const parsed = parseObjectKey(storageKey);
        const verified = parsed === null ? null : this.replica.verify(storageKey, bytes);
        if (parsed !== null && verified !== null) a.queue.push([parsed.key, verified.payload]);
      }
      a.dirty.clear(); // the scan saw everything stored before it completed
      this.sendNext(a);
    });
  }

  private sendNext(a: Active): void {
    if (a.inFlight !== null || a.scanning) return;
    if (a.queue.length === 0 && a.dirty.size > 0) {
      const keys = [...a.dirty];
      a.dirty.clear();
      this.readKeys(a, keys);
      return;
    }
    let count = 0;
    let bytes = 0;
    while (count < Math.min(TRANSFER_BATCH, a.queue.length) && (count === 0 || bytes + a.queue[count]![1].length <= TRANSFER_BATCH_BYTES)) bytes += a.queue[count++]![1].length;
    const batch = a.queue.splice(0, count);
    const last = a.queue.length === 0 && a.dirty.size === 0;
    const reqId = this.ctx.newReqId();
    const timerId = this.ctx.setTimer(this.ctx.config.requestTimeoutMs, () => {
      if (a.inFlight?.reqId !== reqId) return;
      a.queue.unshift(...batch); // resend on the next tick's restart of the pump
      a.inFlight = null;
      this.ctx.peerTimedOut(a.plan.to);
      if (this.active.get(planKey(a.plan)) === a) this.sendNext(a);
    });
    a.inFlight = { reqId, batch, last, timerId };
    this.ctx.send(a.plan.to, { type: "transfer", reqId, from: this.ctx.self, partition: a.plan.partition, objects: batch, last });
  }

  /** Reads the current bytes of keys written during the transfer, queues them, and goes on. */
  private readKeys(a: Active, keys: readonly string[]): void {
    a.scanning = true;
    let pending = keys.length;
    for (const key of keys) {
      this.replica.localViewBytes(a.plan.partition, key, (r) => {
        if (r.ok && r.bytes !== null && r.corrupt !== true) a.queue.push([key, r.bytes]);
        if (--pending > 0) return;
        a.scanning = false;
        if (this.active.get(planKey(a.plan)) === a) this.sendNext(a);
      });
    }
  }

  handleAck(msg: Extract<PeerMessage, { type: "transfer-ack" }>): void {
    for (const a of this.active.values()) {
      if (a.inFlight?.reqId !== msg.reqId || a.plan.to !== msg.from) continue;
      const { batch, last, timerId } = a.inFlight;
      this.ctx.cancelTimer(timerId);
      a.inFlight = null;
      a.sent += batch.length;
      this.objectsSent += batch.length;
      if (last && a.dirty.size === 0) {
        this.active.delete(planKey(a.plan));
        this.completed++;
        this.ctx.log("info", "ownership transfer done", { partition: a.plan.partition, to: a.plan.to, objects: a.sent });
        this.ctx.emit({ type: "transfer-done", partition: a.plan.partition, to: a.plan.to, objects: a.sent });
        this.done(a.plan);
        this.tick();
      } else {
        this.sendNext(a);
      }
      return;
    }
  }

  /** Receiver: merge the batch, acknowledge once every write is durable. */
  handleTransfer(msg: Extract<PeerMessage, { type: "transfer" }>): void {
    let pending = msg.objects.length;
    let ok = true;
    const finish = (): void => {
      if (!ok) return; // a failed write: no ack, the sender resends
      this.objectsReceived += msg.objects.length;
      this.ctx.send(msg.from, { type: "transfer-ack", reqId: msg.reqId, from: this.ctx.self });
    };
    if (pending === 0) return finish();
    for (const [key, bytes] of msg.objects) {
      const set = tryDecodeSet(this.ctx, bytes, `transfer from ${msg.from}`);
      if (set === null) {
        // A malformed object cannot be stored: skip it (the sender's copy is checked; anti-entropy covers the rest).
        if (--pending === 0) finish();
        continue;
      }
      this.replica.mergeIncoming(msg.partition, key, set, null, (written, _changed, failure) => {
        if (!written && failure !== undefined) ok = false; // a refused dot conflict is not retried
        if (--pending === 0) finish();
      });
    }
  }
}

function planKey(p: TransferPlan): string {
  return `${p.partition} ${p.from} ${p.to}`;
}
