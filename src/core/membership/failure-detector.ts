// Failure suspicion from silence and from request timeouts, per peer. Owns: which peers this
// node currently suspects, and why. Must not know: messages, timers, the ring. Pure
// bookkeeping: the node feeds it facts with their (monotonic) time and turns the transitions
// it returns into suspect / unsuspect events.
//
// Theory of operation. A peer can fail in two ways that matter here, and each has its own
// evidence:
// - silent: nothing at all heard from it for suspectAfterMs. Heartbeats are sent every
//   interval on their own (control) channel, whatever other traffic flows, so a peer whose
//   data channel is merely busy keeps being heard and is not mistaken for a dead one. Any
//   message clears silence.
// - unreachable for requests: a request on the data channel timed out. Routing must then avoid
//   the peer even though its heartbeats keep arriving (a dead data channel with a live control
//   channel), so heartbeats do NOT clear this; only a reply to one of our requests does (a
//   reply proves a round trip on the channel requests use). While a peer is in this state the
//   node probes it on the data channel every heartbeat interval.
// A peer is up when it is neither. Suspicion is local and advisory: it picks targets, never
// correctness (a wrong suspicion costs a sloppy write until the next reply clears it).
import type { NodeId } from "../types.ts";

export type Transition = { readonly type: "suspect" | "unsuspect"; readonly peer: NodeId };

export class FailureDetector {
  private readonly lastHeardMs = new Map<NodeId, number>();
  /** Peers silent for longer than suspectAfterMs. */
  private readonly silent = new Set<NodeId>();
  /** Peers whose last request timed out and that have not answered a request since. */
  private readonly unreachable = new Set<NodeId>();
  private started = false;

  constructor(
    readonly self: NodeId,
    private peers: readonly NodeId[],
    private readonly suspectAfterMs: number,
  ) {}

  /** The membership changed: new peers are presumed alive from nowMs, departed ones forgotten. */
  setPeers(peers: readonly NodeId[], nowMs: number): void {
    for (const p of peers) if (!this.lastHeardMs.has(p) && this.started) this.lastHeardMs.set(p, nowMs);
    for (const p of this.peers) {
      if (peers.includes(p)) continue;
      this.lastHeardMs.delete(p);
      this.silent.delete(p);
      this.unreachable.delete(p);
    }
    this.peers = [...peers];
  }

  /** Starts the clocks: every peer is presumed alive at boot. */
  start(nowMs: number): void {
    this.started = true;
    for (const p of this.peers) this.lastHeardMs.set(p, nowMs);
  }

  /** Any message from `peer` (a heartbeat included) proves its process alive. */
  heard(peer: NodeId, nowMs: number): Transition[] {
    if (!this.isPeer(peer)) return [];
    this.lastHeardMs.set(peer, nowMs);
    return this.change(peer, () => this.silent.delete(peer));
  }

  /** A reply to one of our requests came from `peer`: requests to it get through. */
  replied(peer: NodeId): Transition[] {
    if (!this.isPeer(peer)) return [];
    return this.change(peer, () => this.unreachable.delete(peer));
  }

  /** A request to `peer` timed out without its reply. */
  timedOut(peer: NodeId): Transition[] {
    if (!this.isPeer(peer)) return [];
    return this.change(peer, () => this.unreachable.add(peer));
  }

  /** Periodic check: peers silent for too long become suspected. */
  tick(nowMs: number): Transition[] {
    const out: Transition[] = [];
    for (const p of this.peers) {
      const last = this.lastHeardMs.get(p) ?? nowMs;
      if (nowMs - last > this.suspectAfterMs) out.push(...this.change(p, () => this.silent.add(p)));
    }
    return out;
  }

  /** The peers suspected now, in member order (read-only view). */
  suspectedPeers(): NodeId[] {
    return this.peers.filter((p) => this.isSuspected(p));
  }

  isSuspected(peer: NodeId): boolean {
    return peer !== this.self && (this.silent.has(peer) || this.unreachable.has(peer));
  }

  isUp(peer: NodeId): boolean {
    return !this.isSuspected(peer);
  }

  /** Peers to probe on the data channel: heard from (not silent), but their requests time out. */
  toProbe(): NodeId[] {
    return this.peers.filter((p) => this.unreachable.has(p) && !this.silent.has(p));
  }

  private isPeer(peer: NodeId): boolean {
    return peer !== this.self && this.lastHeardMs.has(peer);
  }

  /** Applies an update and reports whether it changed the peer's up/suspected state. */
  private change(peer: NodeId, update: () => unknown): Transition[] {
    const before = this.isSuspected(peer);
    update();
    const after = this.isSuspected(peer);
    if (before === after) return [];
    return [{ type: after ? "suspect" : "unsuspect", peer }];
  }
}
