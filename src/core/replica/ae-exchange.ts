// The anti-entropy exchange between two primaries of a partition (Dynamo §4.7). Owns: the
// four-step protocol, both as initiator and as responder. Must not know: quorums, clients; the
// trees and the comparisons are anti-entropy.ts's, the merges Replica's.
//
//   initiator                          responder
//   ae-buckets (64 bucket hashes)  ->
//                                  <-  ae-buckets-reply (differing buckets, its key digests there)
//   ae-sync (its objects of differing keys, the keys it wants) ->   merges them
//                                  <-  ae-sync-reply (the wanted objects)
//   merges them
//
// The initiator first scrubs the partition (Replica.scrub: verifies every stored record), so
// a record corrupted on disk without being read is found and repaired by this very exchange.
// Each side merges what it receives (dvvset sync) and emits an anti-entropy event with the
// number of keys its own storage changed for, naming the exchange (reqId, role); the initiator
// also emits ae-begin when it sends its bucket hashes (the simulator checks each exchange).
// One exchange in flight per node at a time; a lost message just ends the round at the timeout.
//
// Pacing: a round (every antiEntropyIntervalMs) exchanges up to AE_PAIRS_PER_ROUND
// (partition, peer) pairs back to back, each starting when the previous one completed. So a
// node walks all its P_node pairs in ceil(P_node / AE_PAIRS_PER_ROUND) rounds: the
// simulator's convergence bound is stated from that.
import type { NodeContext } from "../context.ts";
import type { PeerMessage } from "../messages.ts";
import type { NodeId } from "../types.ts";
import { differingBuckets, differingKeys } from "./anti-entropy.ts";
import { objectKey } from "./keys.ts";
import type { Replica } from "./replica.ts";
import { tryDecodeSet } from "./replica.ts";

/** Keys exchanged per round at most (the rest waits for the next round). */
const KEYS_PER_EXCHANGE_MAX = 256;

/** (partition, peer) pairs exchanged back to back per round. */
export const AE_PAIRS_PER_ROUND = 8;

interface Exchange {
  readonly reqId: string;
  readonly peer: NodeId;
  readonly partition: number;
  readonly timerId: number;
  /** Objects sent in ae-sync (the responder merges them). */
  sent: number;
}

export class AntiEntropyExchange {
  private current: Exchange | null = null;
  /** Exchanges this round may still start. */
  private budget = 0;

  constructor(
    private readonly ctx: NodeContext,
    private readonly replica: Replica,
  ) {}

  /** Every (partition, peer) pair this node exchanges on, in a PRNG-shuffled order, walked in turn. */
  private schedule: readonly (readonly [number, NodeId])[] | null = null;
  private cursor = 0;

  /**
   * The next pair whose peer is not suspected. A shuffled cycle (not an independent random pick
   * per round) visits every pair once per cycle, so a replica that missed a write is repaired
   * within (pairs x antiEntropyIntervalMs) of the heal, instead of a coupon collector's ln(pairs) times more.
   */
  private nextPair(): readonly [number, NodeId] | undefined {
    if (this.schedule === null) {
      const pairs: [number, NodeId][] = [];
      for (const p of this.replica.primaryPartitions()) {
        for (const peer of this.replica.preferences(p).primaries) if (peer !== this.ctx.self) pairs.push([p, peer]);
      }
      for (let i = pairs.length - 1; i > 0; i--) {
        const j = this.ctx.rng.nextInt(i + 1);
        const tmp = pairs[i] as [number, NodeId];
        pairs[i] = pairs[j] as [number, NodeId];
        pairs[j] = tmp;
      }
      this.schedule = pairs;
    }
    for (let tries = 0; tries < this.schedule.length; tries++) {
      const pair = this.schedule[this.cursor % this.schedule.length];
      this.cursor = (this.cursor + 1) % this.schedule.length;
      if (pair !== undefined && this.ctx.detector.isUp(pair[1])) return pair;
    }
    return undefined;
  }

  /** The cluster state changed: the pairs are drawn again from the new primaries (a node must stop exchanging partitions it lost and start on those it gained). */
  ringChanged(): void {
    this.schedule = null;
    this.cursor = 0;
  }

  /** One round: called every antiEntropyIntervalMs. */
  tick(): void {
    if (this.current !== null) return;
    this.budget = AE_PAIRS_PER_ROUND;
    this.startNext();
  }

  private startNext(): void {
    if (this.current !== null || this.budget <= 0) return;
    this.budget--;
    const pair = this.nextPair();
    if (pair === undefined) return;
    const [partition, peer] = pair;
    const reqId = this.ctx.newReqId();
    const timerId = this.ctx.setTimer(this.ctx.config.requestTimeoutMs, () => {
      if (this.current?.reqId === reqId) this.current = null; // timed out: the round ends here
    });
    this.current = { reqId, peer, partition, timerId, sent: 0 };
    // Scrub first: bit rot nobody read drops its digest, so this exchange repairs it.
    this.replica.scrub(partition, () => {
      if (this.current?.reqId !== reqId) return;
      this.ctx.emit({ type: "ae-begin", reqId, partition, peer });
      this.ctx.send(peer, { type: "ae-buckets", reqId, from: this.ctx.self, partition, buckets: this.replica.trees.bucketHashes(partition) });
    });
  }

  /** The exchange completed: the round goes on with the next pair. */
  private end(): void {
    if (this.current !== null) this.ctx.cancelTimer(this.current.timerId);
    this.current = null;
    this.startNext();
  }

  /** Responder, step 2. */
  handleBuckets(msg: Extract<PeerMessage, { type: "ae-buckets" }>): void {
    if (msg.partition >= this.ctx.config.partitionCount || !this.replica.isPrimary(msg.partition)) return;
    const diff = differingBuckets(this.replica.trees.bucketHashes(msg.partition), msg.buckets);
    const keys = this.replica.trees.keysInBuckets(msg.partition, diff);
    this.ctx.send(msg.from, { type: "ae-buckets-reply", reqId: msg.reqId, from: this.ctx.self, partition: msg.partition, diff, keys });
  }

  /** Initiator, step 3. */
  handleBucketsReply(msg: Extract<PeerMessage, { type: "ae-buckets-reply" }>): void {
    const ex = this.current;
    if (ex === null || ex.reqId !== msg.reqId || ex.peer !== msg.from || ex.partition !== msg.partition) return;
    const mine = this.replica.trees.keysInBuckets(ex.partition, msg.diff);
    const { send, want } = differingKeys(mine, msg.keys, KEYS_PER_EXCHANGE_MAX);
    if (send.length === 0 && want.length === 0) {
      this.ctx.emit({ type: "anti-entropy", partition: ex.partition, peer: ex.peer, keysRepaired: 0, reqId: ex.reqId, role: "initiator", sent: 0 });
      this.end();
      return;
    }
    this.readObjects(ex.partition, send, (objects) => {
      if (this.current?.reqId !== ex.reqId) return;
      ex.sent = objects.length;
      this.ctx.send(ex.peer, { type: "ae-sync", reqId: ex.reqId, from: this.ctx.self, partition: ex.partition, objects, want });
      if (want.length === 0) {
        this.ctx.emit({ type: "anti-entropy", partition: ex.partition, peer: ex.peer, keysRepaired: 0, reqId: ex.reqId, role: "initiator", sent: objects.length });
        this.end();
      }
    });
  }

  /** Responder, step 4: merge what came, send what was wanted. */
  handleSync(msg: Extract<PeerMessage, { type: "ae-sync" }>): void {
    if (msg.partition >= this.ctx.config.partitionCount || !this.replica.isPrimary(msg.partition)) return;
    this.mergeObjects(msg.partition, msg.objects, (repaired) => {
      if (msg.objects.length > 0) this.ctx.emit({ type: "anti-entropy", partition: msg.partition, peer: msg.from, keysRepaired: repaired, reqId: msg.reqId, role: "responder" });
    });
    if (msg.want.length === 0) return;
    this.readObjects(msg.partition, msg.want.slice(0, KEYS_PER_EXCHANGE_MAX), (objects) => {
      this.ctx.send(msg.from, { type: "ae-sync-reply", reqId: msg.reqId, from: this.ctx.self, partition: msg.partition, objects });
    });
  }

  /** Initiator, end of the round. */
  handleSyncReply(msg: Extract<PeerMessage, { type: "ae-sync-reply" }>): void {
    const ex = this.current;
    if (ex === null || ex.reqId !== msg.reqId || ex.peer !== msg.from || ex.partition !== msg.partition) return;
    this.end();
    this.mergeObjects(ex.partition, msg.objects, (repaired) => {
      this.ctx.emit({ type: "anti-entropy", partition: ex.partition, peer: ex.peer, keysRepaired: repaired, reqId: ex.reqId, role: "initiator", sent: ex.sent });
    });
  }

  private readObjects(partition: number, keys: readonly string[], done: (objects: [string, Uint8Array][]) => void): void {
    const found: (readonly [string, Uint8Array] | null)[] = keys.map(() => null);
    let pending = keys.length;
    if (pending === 0) return done([]);
    keys.forEach((key, i) => {
      // A corrupt object is not sent (readPayload drops its digest, so the peer's copy comes back).
      this.replica.readPayload(objectKey(partition, key), (r) => {
        if (r.ok && r.payload !== null) found[i] = [key, r.payload];
        if (--pending === 0) done(found.filter((x): x is [string, Uint8Array] => x !== null));
      });
    });
  }

  private mergeObjects(partition: number, objects: readonly (readonly [string, Uint8Array])[], done: (repaired: number) => void): void {
    let pending = objects.length;
    let repaired = 0;
    if (pending === 0) return done(0);
    const oneDone = (): void => {
      if (--pending === 0) done(repaired);
    };
    for (const [key, bytes] of objects) {
      const set = tryDecodeSet(this.ctx, bytes, `anti-entropy object ${key}`);
      if (set === null) {
        oneDone();
        continue;
      }
      this.replica.mergeIncoming(partition, key, set, null, (ok, changed) => {
        if (ok && changed) repaired++;
        oneDone();
      });
    }
  }
}
