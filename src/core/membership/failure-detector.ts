// Failure suspicion from silence (heartbeats, any message) and from request timeouts.
// Owns: which peers this node currently suspects. Must not know: messages, timers, the ring.
// Pure bookkeeping: the node feeds it facts with their time and turns the transitions it
// returns into suspect / unsuspect events.
//
// Theory of operation: every message from a peer is proof of life. A peer silent for
// suspectAfterMs is suspected; so is a peer that let a request time out (evidence arrives
// faster than silence, and a wrong suspicion only costs a sloppy write until its next
// heartbeat clears it). Suspicion is local and advisory: it picks targets, never correctness.
import type { NodeId } from "../types.ts";

export type Transition = { readonly type: "suspect" | "unsuspect"; readonly peer: NodeId };

export class FailureDetector {
  private readonly lastHeardMs = new Map<NodeId, number>();
  private readonly suspected = new Set<NodeId>();

  constructor(
    readonly self: NodeId,
    readonly peers: readonly NodeId[],
    private readonly suspectAfterMs: number,
  ) {}

  /** Starts the clocks: every peer is presumed alive at boot. */
  start(nowMs: number): void {
    for (const p of this.peers) this.lastHeardMs.set(p, nowMs);
  }

  /** Any message from `peer` proves it alive. */
  heard(peer: NodeId, nowMs: number): Transition[] {
    if (peer === this.self || !this.lastHeardMs.has(peer)) return [];
    this.lastHeardMs.set(peer, nowMs);
    if (this.suspected.delete(peer)) return [{ type: "unsuspect", peer }];
    return [];
  }

  /** A request to `peer` timed out without its reply. */
  timedOut(peer: NodeId): Transition[] {
    if (peer === this.self || !this.lastHeardMs.has(peer) || this.suspected.has(peer)) return [];
    this.suspected.add(peer);
    return [{ type: "suspect", peer }];
  }

  /** Periodic check: peers silent for too long become suspected. */
  tick(nowMs: number): Transition[] {
    const out: Transition[] = [];
    for (const p of this.peers) {
      const last = this.lastHeardMs.get(p) ?? nowMs;
      if (!this.suspected.has(p) && nowMs - last > this.suspectAfterMs) {
        this.suspected.add(p);
        out.push({ type: "suspect", peer: p });
      }
    }
    return out;
  }

  /** The peers suspected now, in member order of first suspicion (read-only view). */
  suspectedPeers(): NodeId[] {
    return [...this.suspected];
  }

  isSuspected(peer: NodeId): boolean {
    return peer !== this.self && this.suspected.has(peer);
  }

  isUp(peer: NodeId): boolean {
    return !this.isSuspected(peer);
  }
}
