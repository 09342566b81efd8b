// Membership: this node's view of the cluster state and the protocol that keeps it converged.
// Owns: the current ClusterState, joining through a configured member, applying membership
// changes (join requests, leave, remove), completion marks, and gossiping the state. Must not
// know: storage layout (the node persists the state it is handed), transfers, quorums.
//
// Theory of operation
// - A node starts from its stored state, else from its configured member list (epoch 0).
// - With `join` set it asks every configured peer to add it, each heartbeat, until it holds a
//   state that names it (from a member's gossip: an epoch-0 state of a member that lists it, or
//   any later one), and goes on asking while that state still has partitions to transfer to it
//   (status joining): a member that accepted the join and then lost it (its disk) re-applies
//   it, so a joiner is never stranded on a change the cluster never saw. A member adds an
//   unknown joiner when it has joined itself and no handoff is pending; a member whose
//   partition count differs answers join-refused, and the joiner stops.
// - Joined is durable (the node keeps it in its meta record): only a node that lost its meta
//   record (new or wiped) and was told to join starts unjoined; until a member's state names it,
//   the node coordinates nothing (its configured list is no ring to count quorums on).
// - A change this node makes (a join it accepts, leave, remove) is persisted first (host.persist,
//   a synced write) and adopted, gossiped and acted on only once durable, so a crash can never
//   take back a change others already saw; while one is being persisted, another is refused.
// - Gossip: while the epoch is above 0, the state goes to every known peer each heartbeat and
//   at once after a change; a peer whose gossip loses the merge gets ours back. A fixed cluster
//   (epoch 0 forever) sends no gossip at all, so it behaves exactly as before membership.
// - Durable before shown: a change this node makes, and a newer state gossip brings, is
//   persisted before it is adopted; a state that failed to persist is never routed by or
//   reported (an operator checking through this node would otherwise count a change that a
//   crash then takes back).
import { assert } from "../assert.ts";
import { applyChange, activeMembers, displayedStatus, initialState, markDone, memberOf, mergeStates, sameState } from "./cluster-state.ts";
import type { Change, ChangeResult, ClusterState } from "./cluster-state.ts";
import type { PeerMessage } from "../messages.ts";
import type { NodeId } from "../types.ts";

/**
 * After a node reports that it left, its process lingers this many heartbeats before it exits:
 * gossip carries its last completion marks to every peer meanwhile, and replica work peers sent
 * it before they cut over still completes (production and the simulator alike).
 */
export const LEFT_LINGER_HEARTBEATS = 3;

export interface MembershipHost {
  readonly self: NodeId;
  readonly name: string;
  readonly n: number;
  readonly partitionCount: number;
  /** The configured member ids (this node included). */
  readonly configured: readonly NodeId[];
  /** Whether to ask the configured peers to add this node. */
  readonly join: boolean;
  send(to: NodeId, msg: PeerMessage): void;
  log(level: "debug" | "info" | "warn" | "error", msg: string, fields?: Readonly<Record<string, unknown>>): void;
  /** The state changed (already current): persist it, recompute what depends on it. */
  changed(previous: ClusterState, next: ClusterState): void;
  /** Make `next` (a change this node makes) durable, then call done (false: not persisted). */
  persist(next: ClusterState, done: (ok: boolean) => void): void;
  /** This node became joined without a state change (a member's epoch-0 state names it): persist that. */
  joinedNow(): void;
  /** A member refused to add this node for good. */
  refused(message: string): void;
}

export class Membership {
  private current: ClusterState;
  private joinedFlag: boolean;
  /** A change of this node's being persisted (see the header), or null. */
  private persisting: ClusterState | null = null;
  private known: NodeId[] = [];
  private knownWithSelf: NodeId[] = [];
  /** Names peers gave in their join requests (a configured member's name is not in the config). */
  private readonly names = new Map<NodeId, string>();

  constructor(private readonly host: MembershipHost) {
    this.current = initialState(
      host.configured.map((id) => ({ id, name: id === host.self ? host.name : id })),
      host.partitionCount,
    );
    // Nobody to ask: a node configured alone is the cluster.
    this.joinedFlag = !host.join || host.configured.every((id) => id === host.self);
    this.recomputeKnown();
  }

  get state(): ClusterState {
    return this.current;
  }

  get joined(): boolean {
    return this.joinedFlag;
  }

  /** Peers this node talks to and accepts messages from: configured ones and the state's non-removed members. */
  get peers(): readonly NodeId[] {
    return this.known;
  }

  /** The peers and this node (validation's member list). */
  get members(): readonly NodeId[] {
    return this.knownWithSelf;
  }

  /** The meta record says this node had joined (its disk survived): no need to ask again. */
  markJoined(): void {
    this.joinedFlag = true;
  }

  /** Whether this node still asks its configured peers to add it (not joined, or joined but still waiting for its partitions). */
  get joining(): boolean {
    if (!this.joinedFlag) return true;
    const me = memberOf(this.current, this.host.self);
    return this.host.join && me !== undefined && displayedStatus(this.current, me, this.host.n) === "joining";
  }

  /** A state read back from storage at boot (it names this node, or it would not have been stored). */
  restore(stored: ClusterState): void {
    if (stored.partitionCount !== this.host.partitionCount) {
      this.host.log("error", "the stored cluster state has another partition count; ignored", { stored: stored.partitionCount, configured: this.host.partitionCount });
      return;
    }
    this.current = stored;
    this.joinedFlag = memberOf(stored, this.host.self) !== undefined;
    this.recomputeKnown();
  }

  /** Each heartbeat: join requests while not joined, gossip while the epoch is above 0. */
  tick(): void {
    const { self, name, partitionCount } = this.host;
    if (this.joining) for (const p of this.host.configured) if (p !== self) this.host.send(p, { type: "join", from: self, name, partitionCount });
    if (this.current.epoch > 0) this.gossipAll();
  }

  handleGossip(from: NodeId, incoming: ClusterState): void {
    const self = this.host.self;
    if (incoming.epoch === 0) {
      // Only an unjoined node named by a member's configured state takes it.
      const me = memberOf(incoming, self);
      if (!this.joinedFlag && me !== undefined && me.status !== "removed") {
        this.joinedFlag = true;
        // The same configured cluster (only names of others may differ): nothing to change.
        const ids = (s: ClusterState): string => JSON.stringify([s.owners, s.members.map((m) => m.id)]);
        if (ids(this.current) !== ids(incoming)) this.replace(incoming);
        else this.host.joinedNow();
      }
      return;
    }
    const merged = mergeStates(this.current, incoming);
    if (!sameState(merged, incoming)) this.host.send(from, { type: "ring-gossip", from: self, state: merged }); // the sender is behind
    if (!sameState(merged, this.current)) return this.adoptDurably(merged);
    if (!this.joinedFlag && memberOf(merged, self) !== undefined) {
      this.joinedFlag = true;
      this.host.joinedNow();
    }
  }

  /**
   * A newer state from gossip: persisted first, then adopted (routed by, reported, gossiped on),
   * so a state this node shows was never only in its memory. One write at a time; a failed or
   * skipped one is retried by the next gossip (every heartbeat while the epoch is above 0).
   */
  private adoptDurably(next: ClusterState): void {
    if (this.persisting !== null) return;
    this.persisting = next;
    this.host.persist(next, (ok) => {
      assert(this.persisting === next, "a gossiped state was persisted out of order");
      this.persisting = null;
      if (!ok) return;
      const merged = mergeStates(this.current, next);
      if (sameState(merged, this.current)) return;
      if (!this.joinedFlag && memberOf(merged, this.host.self) !== undefined) this.joinedFlag = true;
      this.replace(merged);
      this.gossipAll();
    });
  }

  handleJoin(from: NodeId, name: string, partitionCount: number): void {
    const self = this.host.self;
    if (this.names.size < 4096) this.names.set(from, name);
    if (partitionCount !== this.host.partitionCount) {
      const message = `cannot join: ${from} is configured with partitions = ${partitionCount}, the cluster (${self}) has partitions = ${this.host.partitionCount}`;
      this.host.log("error", "refusing a join: partition counts differ", { peer: from, theirs: partitionCount, ours: this.host.partitionCount });
      this.host.send(from, { type: "join-refused", from: self, partitionCount: this.host.partitionCount, message });
      return;
    }
    const member = memberOf(this.current, from);
    if (member !== undefined && member.status !== "removed") {
      this.host.send(from, { type: "ring-gossip", from: self, state: this.current });
      return;
    }
    if (!this.joinedFlag) return; // not authoritative yet; the joiner asks again
    // Accepted: the joiner gets the new state by gossip once it is durable (change()).
    const result = this.change({ type: "join", id: from, name });
    if (!result.ok) this.host.log("debug", "join deferred", { peer: from, reason: result.message });
  }

  handleJoinRefused(from: NodeId, message: string): void {
    if (this.joinedFlag) return;
    this.host.log("error", "a member refused to add this node", { peer: from, message });
    this.host.refused(message);
  }

  /**
   * Applies a change (join requests, leave, remove): persisted first, then adopted and gossiped
   * (see the header). ok means accepted; a persist failure drops it (the operator or joiner asks again).
   */
  change(change: Change): ChangeResult {
    if (this.persisting !== null) return { ok: false, message: "another cluster state is being persisted; try again" };
    const result = applyChange(this.named(this.current), change, this.host.n);
    if (!result.ok) return result;
    const next = result.state;
    this.persisting = next;
    this.host.persist(next, (ok) => {
      assert(this.persisting === next, "a membership change completed out of order");
      this.persisting = null;
      if (!ok) return this.host.log("error", "persisting a membership change failed; not applied", { change: change.type, node: change.id });
      // Gossip may have brought a newer state meanwhile: converge as if ours came first.
      const merged = mergeStates(this.current, next);
      this.host.log("info", "cluster state changed", { change: change.type, node: change.id, epoch: next.epoch, adopted: merged === next });
      if (sameState(merged, this.current)) return;
      this.replace(merged);
      this.gossipAll();
    });
    return result;
  }

  /** The state with the names learned from join requests for members still shown by id. */
  named(state: ClusterState): ClusterState {
    if (!state.members.some((m) => m.name === m.id && this.names.has(m.id))) return state;
    return { ...state, members: state.members.map((m) => (m.name === m.id && this.names.has(m.id) ? { ...m, name: this.names.get(m.id)! } : m)) };
  }

  /** A transfer of partition p to `to` completed. */
  markDone(p: number, to: NodeId): void {
    const next = markDone(this.current, p, to);
    if (next === this.current) return;
    this.replace(next);
    this.gossipAll();
  }

  private replace(next: ClusterState): void {
    const previous = this.current;
    this.current = next;
    this.recomputeKnown();
    this.host.changed(previous, next);
  }

  private recomputeKnown(): void {
    // Configured peers first, in configured order (a fixed cluster's heartbeats go out as before).
    const configured = this.host.configured.filter((p) => p !== this.host.self);
    const extra = activeMembers(this.current).filter((p) => p !== this.host.self && !configured.includes(p));
    this.known = [...configured, ...extra];
    this.knownWithSelf = [this.host.self, ...this.known];
  }

  private gossipAll(): void {
    for (const p of this.known) this.host.send(p, { type: "ring-gossip", from: this.host.self, state: this.current });
  }
}
