// Membership episodes: a spare machine joins the running cluster knowing only one member, a
// member leaves (hands its partitions off, then its process exits), or a member crashes for
// good and an operator removes it through another member. The driver plays one episode on the
// real node code (the same admin input and join protocol as production) and keeps the
// operator's record the oracle builds its ring history from: which change was asked for, and
// when a member other than the one that took it (and other than the node joined) reported a
// ring that carries it (the command's acknowledgement, as an operator checks it through another
// member; the claims themselves the oracle derives on its own, sim/oracle/claims.ts). Neither
// the accepting node's report nor the joiner's is enough: a change only those two know of is
// lost when the acceptor loses it (a crash, a wipe) before any other member heard of it, and
// the cluster then never goes through it (the operator repeats the command).
import type { NodeId } from "../src/core/types.ts";
import type { SimCluster } from "./cluster.ts";

export type MembershipKind = "join" | "leave" | "remove";

export interface MembershipEpisode {
  readonly kind: MembershipKind;
  /** When, from the start of the fault phase. */
  readonly atMs: number;
  /** leave / remove: the member (index into the starting members); join: unused (the first spare joins). */
  readonly node: number;
  /** join: the one member the joiner knows; remove: the member the operator sends the command to (indexes, another member). */
  readonly via: number;
}

/** What the operator did and when the cluster acknowledged it (null: never). */
export interface MembershipChangeRecord {
  readonly kind: MembershipKind;
  readonly node: NodeId;
  readonly askedAtMs: number;
  acceptedAtMs: number | null;
  /** When a node other than the subject first reported a ring carrying it (the taker's own durable adoption included): from then on nodes may route by it. */
  carriedAtMs?: number;
}

/** How long a crashed member stays down before the operator removes it (past any suspicion timeout). */
export const REMOVE_AFTER_MS = 1500;
/** The operator repeats a command not yet acknowledged this often (the node may be down, busy or refuse). */
const RETRY_MS = 1000;

export class MembershipDriver {
  readonly changes: MembershipChangeRecord[] = [];
  /** Per change not yet acknowledged, the nodes whose reports do not count: the subject and every node the command went to. */
  private readonly takers = new Map<MembershipChangeRecord, Set<NodeId>>();
  /** The members the run started with (episode indexes point into them). */
  private readonly starting: readonly NodeId[];

  constructor(
    private readonly cluster: SimCluster,
    /** The operator gives up after this time (absolute): the end of the healed phase. */
    private readonly untilMs: number,
  ) {
    this.starting = [...cluster.members];
    cluster.onRingChanged = (node, ev) => {
      for (const c of this.changes) {
        if (c.acceptedAtMs !== null) continue;
        const m = ev.members.find((x) => x.id === c.node);
        const carried = c.kind === "join" ? m !== undefined && m.status !== "removed" : m !== undefined && m.status !== "valid" && m.status !== "joining";
        if (!carried || node === c.node) continue;
        c.carriedAtMs ??= cluster.sched.now;
        if (this.takers.get(c)?.has(node) === true) continue;
        c.acceptedAtMs = cluster.sched.now;
      }
    };
  }

  /** Schedules an episode relative to startMs. */
  schedule(ep: MembershipEpisode, startMs: number): void {
    this.cluster.sched.at(startMs + ep.atMs, () => this.start(ep));
  }

  private member(index: number): NodeId {
    const m = this.starting;
    return m[index % m.length]!;
  }

  /** Another starting member than `node`, picked by index. */
  private other(node: NodeId, index: number): NodeId {
    const rest = this.starting.filter((m) => m !== node && !this.cluster.departed.has(m));
    return rest[index % rest.length]!;
  }

  start(ep: MembershipEpisode): void {
    const c = this.cluster;
    const now = c.sched.now;
    if (ep.kind === "join") {
      const spare = [...c.processes.keys()].find((id) => !c.members.includes(id) && !c.joining.has(id));
      if (spare === undefined) return;
      const via = this.member(ep.via);
      const rec: MembershipChangeRecord = { kind: "join", node: spare, askedAtMs: now, acceptedAtMs: null };
      this.changes.push(rec);
      this.takers.set(rec, new Set([via]));
      c.bootJoiner(spare, via); // the joiner asks via itself, each heartbeat, until it is in
      return;
    }
    const node = this.member(ep.node);
    const rec: MembershipChangeRecord = { kind: ep.kind, node, askedAtMs: now, acceptedAtMs: null };
    this.changes.push(rec);
    if (ep.kind === "leave") return this.command(rec, () => node, { type: "leave" });
    // remove: the machine dies for good (its disk with it), then an operator removes it.
    c.noteFault(`${node} crashed for good (removed)`, Infinity);
    c.depart(node, "crash");
    const via = this.other(node, ep.via);
    c.sched.after(REMOVE_AFTER_MS, () => this.command(rec, () => (c.departed.has(via) ? this.other(node, ep.via) : via), { type: "remove", node }));
  }

  /** Sends an admin command to a node until a ring carrying the change is reported (or time is up). */
  private command(rec: MembershipChangeRecord, target: () => NodeId, op: { type: "leave" } | { type: "remove"; node: NodeId }): void {
    const c = this.cluster;
    if (rec.acceptedAtMs !== null || c.sched.now > this.untilMs) return;
    const to = target();
    const takers = this.takers.get(rec) ?? new Set<NodeId>();
    this.takers.set(rec, takers.add(to));
    if (!c.departed.has(to)) c.process(to).admin(op);
    c.sched.after(RETRY_MS, () => this.command(rec, target, op));
  }
}
