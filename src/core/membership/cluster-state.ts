// Cluster state: who the members are and who owns which partition, as a gossiped, versioned
// value (Riak's ring). Owns: the state's shape, the changes (join, leave, remove), the
// per-partition handoffs a change starts and their completion marks, the merge of two states
// (so every node converges on one), and which primaries serve a partition meanwhile.
// Must not know: messages, storage, timers. Pure and deterministic.
//
// Theory of operation
// - `owners` is the claim the cluster moves towards (ring.ts: joinRing / leaveRing, so a
//   change moves only the partitions it must). A change bumps `epoch`.
// - A change that alters a partition's primaries (the first n distinct owners walking from it)
//   records a handoff for it: `serving`, the primaries that hold its data now, and `done`,
//   the new primaries (gainers) that received it. Until every gainer is done, requests for
//   the partition go to `serving` (reads find the data where it is; writes land where the
//   transfer source will still send them); then they go to the new primaries (cut-over).
//   Cut-over is a function of the state, so it needs no second change.
// - Merge: the higher epoch wins. Equal epochs with the same change (same base) unite their
//   completion marks; equal epochs with different changes (two members changed the ring
//   concurrently) keep the one whose base hashes lower, a total order every node applies
//   alike. Merge is commutative, associative and idempotent, so gossip converges.
// - Epoch 0 is the state every node derives from its configured member list (a fixed cluster
//   never leaves it); it is never adopted from gossip except by a node it names that has not
//   joined yet.
// - A change is refused while handoffs are pending (one change at a time, as Riak's claimant
//   plans one transition at a time), except remove, which must be able to take out a crashed
//   node at any moment: the removed node drops out of every serving list.
import { assert } from "../assert.ts";
import { fnv1a32 } from "../hash.ts";
import { createRing, joinRing, leaveRing, preferenceList } from "../ring/index.ts";
import type { NodeId } from "../types.ts";

/** How a member stands: valid (serving), leaving (handing its data off), removed (gone). "joining" is derived. */
export type StoredStatus = "valid" | "leaving" | "removed";
export type MemberStatus = "joining" | StoredStatus;

export interface Member {
  readonly id: NodeId;
  readonly name: string;
  readonly status: StoredStatus;
}

export interface PartitionHandoff {
  readonly partition: number;
  /** The primaries that hold the partition's data until cut-over (sorted). */
  readonly serving: readonly NodeId[];
  /** New primaries whose transfer completed (sorted). */
  readonly done: readonly NodeId[];
}

export interface ClusterState {
  readonly epoch: number;
  readonly partitionCount: number;
  /** Sorted by id; removed members stay listed so their messages are known to be stale. */
  readonly members: readonly Member[];
  readonly owners: readonly NodeId[];
  /** Sorted by partition. */
  readonly handoffs: readonly PartitionHandoff[];
}

/** One transfer a state asks for: `from` streams partition `partition` to `to`. */
export interface TransferPlan {
  readonly partition: number;
  readonly from: NodeId;
  readonly to: NodeId;
}

const sorted = (xs: Iterable<NodeId>): NodeId[] => [...new Set(xs)].sort();

/** The state a configured member list describes: everyone valid, epoch 0. */
export function initialState(members: readonly { id: NodeId; name: string }[], partitionCount: number): ClusterState {
  const ms = [...members].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((m) => ({ id: m.id, name: m.name, status: "valid" as const }));
  const ring = createRing(ms.map((m) => m.id), partitionCount);
  return { epoch: 0, partitionCount, members: ms, owners: ring.owners, handoffs: [] };
}

export function memberOf(state: ClusterState, id: NodeId): Member | undefined {
  return state.members.find((m) => m.id === id);
}

/** Members that take part (not removed), sorted. */
export function activeMembers(state: ClusterState): NodeId[] {
  return state.members.filter((m) => m.status !== "removed").map((m) => m.id);
}

/** The primaries of `p` under the target claim. */
export function targetPrimaries(state: ClusterState, p: number, n: number): NodeId[] {
  return preferenceList({ partitionCount: state.partitionCount, owners: state.owners }, p, n).primaries;
}

function handoffOf(state: ClusterState, p: number): PartitionHandoff | undefined {
  return state.handoffs.find((h) => h.partition === p);
}

/** The gainers of a handoff that have not received the partition yet. */
function missing(state: ClusterState, h: PartitionHandoff, n: number): NodeId[] {
  return targetPrimaries(state, h.partition, n).filter((g) => !h.serving.includes(g) && !h.done.includes(g));
}

/** Whether partition p still waits for a transfer (requests go to its serving primaries). */
export function isPending(state: ClusterState, p: number, n: number): boolean {
  const h = handoffOf(state, p);
  return h !== undefined && missing(state, h, n).length > 0;
}

export function pendingPartitions(state: ClusterState, n: number): number[] {
  return state.handoffs.filter((h) => missing(state, h, n).length > 0).map((h) => h.partition);
}

/**
 * The preference list requests for p use: the serving primaries while p's handoff is pending,
 * else the target primaries; the fallbacks are every other active member in ring-walk order.
 */
export function servingPreferences(state: ClusterState, p: number, n: number): { primaries: NodeId[]; fallbacks: NodeId[] } {
  const pl = preferenceList({ partitionCount: state.partitionCount, owners: state.owners }, p, n);
  const h = handoffOf(state, p);
  if (h === undefined || missing(state, h, n).length === 0) return { primaries: pl.primaries, fallbacks: pl.fallbacks };
  const walk = [...pl.primaries, ...pl.fallbacks];
  const primaries = walk.filter((x) => h.serving.includes(x));
  // A serving node that no longer owns anything (it is leaving) is not in the walk: append it.
  for (const s of h.serving) if (!primaries.includes(s)) primaries.push(s);
  return { primaries, fallbacks: walk.filter((x) => !primaries.includes(x)) };
}

/**
 * The transfers the state asks for: for each pending partition, the i-th gainer (sorted) is fed
 * by the i-th loser (a serving node that is no longer a primary), or, when there is no such
 * loser (it was removed), by the first serving node that stays a primary.
 */
export function plannedTransfers(state: ClusterState, n: number): TransferPlan[] {
  const out: TransferPlan[] = [];
  for (const h of state.handoffs) {
    const target = targetPrimaries(state, h.partition, n);
    const gainers = target.filter((g) => !h.serving.includes(g));
    const losers = h.serving.filter((s) => !target.includes(s));
    const stayers = h.serving.filter((s) => target.includes(s));
    gainers.forEach((to, i) => {
      if (h.done.includes(to)) return;
      const from = losers[i] ?? stayers[0];
      if (from !== undefined) out.push({ partition: h.partition, from, to });
    });
  }
  return out;
}

/** The displayed status: a valid member that still waits for a partition is joining; a leaver with nothing left to hand off is removed. */
export function displayedStatus(state: ClusterState, m: Member, n: number): MemberStatus {
  const pending = state.handoffs.filter((h) => missing(state, h, n).length > 0);
  if (m.status === "valid") return pending.some((h) => missing(state, h, n).includes(m.id)) ? "joining" : "valid";
  if (m.status === "leaving") return pending.some((h) => h.serving.includes(m.id)) ? "leaving" : "removed";
  return "removed";
}

// ---- changes ----

export type Change = { readonly type: "join"; readonly id: NodeId; readonly name: string } | { readonly type: "leave"; readonly id: NodeId } | { readonly type: "remove"; readonly id: NodeId };

export type ChangeResult = { readonly ok: true; readonly state: ClusterState } | { readonly ok: false; readonly message: string };

/** Applies a membership change (see the header for when one is refused). */
export function applyChange(state: ClusterState, change: Change, n: number): ChangeResult {
  const member = memberOf(state, change.id);
  const active = activeMembers(state);
  if (change.type !== "remove" && pendingPartitions(state, n).length > 0) return { ok: false, message: "handoffs are still pending; try again when they finish" };
  const ring = { partitionCount: state.partitionCount, owners: state.owners };
  switch (change.type) {
    case "join": {
      if (member !== undefined && member.status !== "removed") return { ok: false, message: `${change.id} is already a member` };
      if (active.length + 1 > state.partitionCount) return { ok: false, message: `${active.length + 1} members need at least as many partitions, the ring has ${state.partitionCount}` };
      const members = [...state.members.filter((m) => m.id !== change.id), { id: change.id, name: change.name, status: "valid" as const }];
      return { ok: true, state: rebuild(state, members, joinRing(ring, change.id).owners, n, null) };
    }
    case "leave":
    case "remove": {
      if (member === undefined || member.status === "removed" || (change.type === "leave" && member.status === "leaving")) return { ok: false, message: `${change.id} is not an active member` };
      const owning = new Set(state.owners);
      if (owning.has(change.id) && owning.size === 1) return { ok: false, message: `${change.id} is the last member and cannot leave` };
      const owners = owning.has(change.id) ? leaveRing(ring, change.id).owners : state.owners;
      const status: StoredStatus = change.type === "leave" ? "leaving" : "removed";
      const members = state.members.map((m) => (m.id === change.id ? { ...m, status } : m));
      return { ok: true, state: rebuild(state, members, owners, n, change.type === "remove" ? change.id : null) };
    }
  }
}

/** The next epoch's state: a handoff for every partition whose serving primaries differ from the new target's. */
function rebuild(state: ClusterState, members: Member[], owners: readonly NodeId[], n: number, removed: NodeId | null): ClusterState {
  const next: ClusterState = { epoch: state.epoch + 1, partitionCount: state.partitionCount, members: [...members].sort((a, b) => (a.id < b.id ? -1 : 1)), owners, handoffs: [] };
  const handoffs: PartitionHandoff[] = [];
  for (let p = 0; p < state.partitionCount; p++) {
    const current = sorted(servingPreferences(state, p, n).primaries.filter((x) => x !== removed && memberOf(next, x)?.status !== "removed"));
    const target = sorted(targetPrimaries(next, p, n));
    if (current.length === target.length && current.every((x, i) => x === target[i])) continue;
    handoffs.push({ partition: p, serving: current, done: [] });
  }
  return { ...next, handoffs };
}

/** Marks `to`'s transfer of partition p complete (no-op when it is not a pending gainer). */
export function markDone(state: ClusterState, p: number, to: NodeId): ClusterState {
  const h = handoffOf(state, p);
  if (h === undefined || h.done.includes(to) || h.serving.includes(to)) return state;
  return { ...state, handoffs: state.handoffs.map((x) => (x === h ? { ...x, done: sorted([...x.done, to]) } : x)) };
}

// ---- merge ----

// States are immutable values, so their text and base hash are computed once per object
// (gossip compares the current state with an incoming one on every heartbeat). Weak maps:
// an entry lives no longer than its state.
const textOf = new WeakMap<ClusterState, string>();
const baseHashOf = new WeakMap<ClusterState, number>();

/** A stable hash of what a change decided (everything but completion marks). */
export function baseHash(state: ClusterState): number {
  let h = baseHashOf.get(state);
  if (h === undefined) {
    h = fnv1a32(JSON.stringify([state.epoch, state.partitionCount, state.members, state.owners, state.handoffs.map((h) => [h.partition, h.serving])]));
    baseHashOf.set(state, h);
  }
  return h;
}

/** The state gossip converges on (see the header). Both must have the same partition count. */
export function mergeStates(a: ClusterState, b: ClusterState): ClusterState {
  assert(a.partitionCount === b.partitionCount, "merging cluster states of different partition counts");
  if (a.epoch !== b.epoch) return a.epoch > b.epoch ? a : b;
  const ha = baseHash(a);
  const hb = baseHash(b);
  if (ha !== hb) return ha < hb ? a : b;
  let out = a;
  for (const h of b.handoffs) for (const to of h.done) out = markDone(out, h.partition, to);
  return out;
}

/** Whether two states are the same value. */
export function sameState(a: ClusterState, b: ClusterState): boolean {
  return a === b || stateText(a) === stateText(b);
}

function stateText(state: ClusterState): string {
  let text = textOf.get(state);
  if (text === undefined) {
    text = JSON.stringify(state);
    textOf.set(state, text);
  }
  return text;
}

// ---- wire form (msgpack-friendly plain data; decoding validates) ----

export function stateToWire(s: ClusterState): unknown {
  return { e: s.epoch, p: s.partitionCount, m: s.members.map((m) => [m.id, m.name, m.status]), o: s.owners, h: s.handoffs.map((h) => [h.partition, h.serving, h.done]) };
}

const ID_MAX = 1024;
const MEMBERS_MAX = 4096;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Decodes and checks a wire state; throws an Error saying what is wrong. */
export function stateFromWire(raw: unknown): ClusterState {
  const bad = (what: string): never => {
    throw new Error(`cluster state: ${what}`);
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) bad("not a map");
  const o = raw as Record<string, unknown>;
  const int = (v: unknown, what: string, max: number): number => (typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= max ? v : bad(`${what} is not an integer in [0, ${max}]`));
  const id = (v: unknown): string => (typeof v === "string" && v.length > 0 && v.length <= ID_MAX && !LONE_SURROGATE.test(v) ? v : bad("bad node id"));
  const epoch = int(o["e"], "epoch", Number.MAX_SAFE_INTEGER);
  const partitionCount = int(o["p"], "partition count", 65536);
  if (!Array.isArray(o["m"]) || o["m"].length === 0 || o["m"].length > MEMBERS_MAX) bad("members is not a non-empty list");
  const members = (o["m"] as unknown[]).map((m): Member => {
    if (!Array.isArray(m) || m.length !== 3) bad("a member is not [id, name, status]");
    const [mid, name, status] = m as unknown[];
    if (status !== "valid" && status !== "leaving" && status !== "removed") bad(`bad status ${String(status)}`);
    return { id: id(mid), name: id(name), status: status as StoredStatus };
  });
  const ids = new Set(members.map((m) => m.id));
  if (ids.size !== members.length) bad("duplicate member");
  if (!Array.isArray(o["o"]) || o["o"].length !== partitionCount) bad("owners do not cover the partitions");
  const owners = (o["o"] as unknown[]).map((x) => {
    const owner = id(x);
    if (members.find((m) => m.id === owner)?.status !== "valid") bad(`owner ${owner} is not a valid member`);
    return owner;
  });
  if (!Array.isArray(o["h"]) || o["h"].length > partitionCount) bad("bad handoffs");
  let last = -1;
  const handoffs = (o["h"] as unknown[]).map((h): PartitionHandoff => {
    if (!Array.isArray(h) || h.length !== 3 || !Array.isArray(h[1]) || !Array.isArray(h[2])) bad("a handoff is not [partition, serving, done]");
    const partition = int((h as unknown[])[0], "handoff partition", partitionCount - 1);
    if (partition <= last) bad("handoffs not sorted by partition");
    last = partition;
    const list = (xs: unknown[]): NodeId[] => {
      const out = xs.map(id);
      if (out.some((x) => !ids.has(x)) || out.length > MEMBERS_MAX) bad("a handoff names a non-member");
      return sorted(out);
    };
    return { partition, serving: list((h as unknown[][])[1]!), done: list((h as unknown[][])[2]!) };
  });
  return { epoch, partitionCount, members: [...members].sort((a, b) => (a.id < b.id ? -1 : 1)), owners, handoffs };
}

// ---- the operator's view (GET /cluster) ----

export interface ClusterView {
  readonly members: readonly { readonly id: NodeId; readonly name: string; readonly status: MemberStatus }[];
  readonly ring: { readonly epoch: number; readonly partitions: number; readonly owners: readonly NodeId[]; readonly pendingPartitions: readonly number[] };
  readonly transfers: { readonly pending: number; readonly active: readonly unknown[] };
}

/** What GET /cluster shows: members with their displayed status, the claim, and the transfers still to run. */
export function describeCluster(state: ClusterState, n: number, active: readonly unknown[]): ClusterView {
  return {
    members: state.members.map((m) => ({ id: m.id, name: m.name, status: displayedStatus(state, m, n) })),
    ring: { epoch: state.epoch, partitions: state.partitionCount, owners: state.owners, pendingPartitions: pendingPartitions(state, n) },
    transfers: { pending: plannedTransfers(state, n).length, active },
  };
}
