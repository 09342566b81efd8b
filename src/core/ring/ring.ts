// The ring: consistent hashing with a fixed number of partitions (Dynamo §4.2, Riak's ring).
// Owns: which node claims which partition, where a key lands, and the preference list (the
// N distinct nodes that replicate a partition, then the fallbacks used by sloppy quorum).
// Must not know: the network, storage, time, or who is up (the failure detector decides
// which nodes of the preference list to actually use). Pure and deterministic.
//
// Theory of operation
// - The key space is cut into `partitionCount` partitions (fixed for the life of a cluster).
//   A key's partition is a stable hash of its UTF-8 bytes (`partitionOf`); it never depends
//   on the membership, so a membership change only moves partitions between nodes.
// - `owners[p]` is the node that claims partition p. Claims are balanced: every node owns
//   floor(P/m) or ceil(P/m) partitions (m = member count). Every member owns at least one
//   partition, so `partitionCount >= member count` is required.
// - `joinRing` gives the new node floor(P/(m+1)) partitions, taken one at a time from the
//   nodes that currently own the most: that is the fewest moves that can restore balance.
//   The stolen partitions are spread evenly around the ring (aimed at P/q strides from an
//   offset derived from the node name), avoiding spots next to the new node's other
//   partitions and preferring spots that break up repeats of one owner, so consecutive
//   partitions tend to belong to distinct nodes and preference lists spread the load.
// - `leaveRing` hands only the leaver's partitions to the nodes that own the fewest,
//   preferring a node that does not already own a nearby partition.
// - `createRing(members)` is, by definition, the ring that starts with the first member (in
//   sorted order) owning every partition and then has each next sorted member join. So it
//   depends on the member set alone, and equals `joinRing` applied in sorted-name order.
//   Joins in any other order give a different (still balanced) ring: a cluster that changes
//   membership must therefore agree on the ring itself (gossip it), not just on the members.
// - `preferenceList` walks partitions p, p+1, ... (wrapping) and collects distinct owners:
//   the first n are the primaries, the rest (every other member, once) the fallbacks.
import { fnv1a32, mix32 } from "../hash.ts";
import type { NodeId } from "../types.ts";

export const DEFAULT_PARTITION_COUNT = 64;
export const MAX_PARTITION_COUNT = 65536;

export interface Ring {
  readonly partitionCount: number;
  /** owners[p] is the node that claims partition p. */
  readonly owners: readonly NodeId[];
}

export interface PreferenceList {
  /** The first n distinct owners walking from the partition (all members if fewer than n). */
  primaries: NodeId[];
  /** Every other member once, in walk order: sloppy quorum's stand-ins. */
  fallbacks: NodeId[];
}

// ---- validation (thrown Errors: these are caller mistakes, with messages that say what) ----

function checkPartitionCount(partitionCount: number): void {
  if (!Number.isInteger(partitionCount) || partitionCount < 1 || partitionCount > MAX_PARTITION_COUNT) {
    throw new Error(`ring: partitionCount must be an integer from 1 to ${MAX_PARTITION_COUNT}, got ${String(partitionCount)}`);
  }
}

function checkNodeId(node: NodeId): void {
  if (typeof node !== "string" || node.length === 0) throw new Error(`ring: a node id must be a non-empty string, got ${JSON.stringify(node)}`);
}

function checkRing(ring: Ring): void {
  checkPartitionCount(ring.partitionCount);
  if (ring.owners.length !== ring.partitionCount) {
    throw new Error(`ring: owners has ${ring.owners.length} entries but partitionCount is ${ring.partitionCount}`);
  }
}

// ---- small helpers ----

/** Sorted distinct owners; compares strings by UTF-16 code units (the default sort), which is stable everywhere. */
export function ringMembers(ring: Ring): NodeId[] {
  return [...new Set(ring.owners)].sort();
}

function countByOwner(owners: readonly NodeId[]): Map<NodeId, number> {
  const counts = new Map<NodeId, number>();
  for (const o of owners) counts.set(o, (counts.get(o) ?? 0) + 1);
  return counts;
}

/** Index arithmetic on the circle of partitions. */
function wrap(p: number, partitionCount: number): number {
  return ((p % partitionCount) + partitionCount) % partitionCount;
}

/** A stable per-(node, partition) tie-breaker, so ties don't always favour low indexes or early names. */
function tieBreak(node: NodeId, p: number): number {
  return mix32(fnv1a32(node) ^ Math.imul(p + 1, 0x9e3779b9));
}

// ---- key placement ----

/**
 * partitionOf maps a key to its partition: the murmur3-finalized FNV-1a hash of the key's
 * UTF-8 bytes, scaled onto [0, partitionCount). Stable across versions and platforms (pinned
 * by tests): changing it would move every key of an existing cluster.
 */
export function partitionOf(key: string, partitionCount: number): number {
  checkPartitionCount(partitionCount);
  const h = mix32(fnv1a32(key));
  // h * partitionCount < 2^48, exact in a double; scaling (not modulo) keeps every partition equally likely.
  return Math.floor((h * partitionCount) / 0x100000000);
}

// ---- claims ----

/**
 * createRing claims `partitionCount` partitions over the members: the first sorted member
 * owns all, then each next sorted member joins (see `joinRing`). The result depends only on
 * the member set, not on the order of `members`.
 */
export function createRing(members: readonly NodeId[], partitionCount: number = DEFAULT_PARTITION_COUNT): Ring {
  checkPartitionCount(partitionCount);
  if (members.length === 0) throw new Error("ring: members must not be empty");
  for (const m of members) checkNodeId(m);
  const sorted = [...members].sort();
  for (let i = 1; i < sorted.length; i++) {
    if (sorted[i] === sorted[i - 1]) throw new Error(`ring: duplicate member ${JSON.stringify(sorted[i])}`);
  }
  if (sorted.length > partitionCount) {
    throw new Error(`ring: ${sorted.length} members need at least as many partitions (every member owns one), got partitionCount ${partitionCount}`);
  }
  let ring: Ring = { partitionCount, owners: new Array<NodeId>(partitionCount).fill(sorted[0]!) };
  for (const node of sorted.slice(1)) ring = joinRing(ring, node);
  return ring;
}

/**
 * joinRing gives `node` floor(P/(m+1)) partitions, each taken from a node that owns the most
 * at that moment (so balance within one is kept and no more partitions move than needed).
 * Which partitions: aimed at evenly spaced targets, choosing near each target a partition
 * that is not next to another of the new node's partitions and, preferably, one that breaks
 * up a run of equal owners.
 */
export function joinRing(ring: Ring, node: NodeId): Ring {
  checkRing(ring);
  checkNodeId(node);
  const P = ring.partitionCount;
  const owners = [...ring.owners];
  const counts = countByOwner(owners);
  if (counts.has(node)) throw new Error(`ring: ${JSON.stringify(node)} is already a member`);
  if (counts.size + 1 > P) {
    throw new Error(`ring: cannot join ${JSON.stringify(node)}: ${counts.size + 1} members need at least ${counts.size + 1} partitions, the ring has ${P}`);
  }
  const take = Math.floor(P / (counts.size + 1));

  // Quotas: how many partitions each current owner gives up. Taking one at a time from the
  // owner with the most (ties broken by name) ends with every count within one of the others.
  const quota = new Map<NodeId, number>();
  const remaining = new Map(counts);
  const names = [...counts.keys()].sort();
  for (let i = 0; i < take; i++) {
    let donor = names[0]!;
    for (const n of names) if (remaining.get(n)! > remaining.get(donor)!) donor = n;
    remaining.set(donor, remaining.get(donor)! - 1);
    quota.set(donor, (quota.get(donor) ?? 0) + 1);
  }

  // Targets are `stride` apart. Closer than that, the new node's partitions would crowd
  // together, so the scoring looks `reach` places around a candidate: 2 when the stride
  // allows (so any 3 consecutive partitions tend to have distinct owners, good for n = 3),
  // else 1 (looking further would only pull candidates off their targets).
  const stride = P / Math.max(take, 1);
  const radius = Math.max(1, Math.floor(stride / 2));
  const reach = stride >= 3 ? 2 : 1;
  const mine = new Uint8Array(P); // 1 where the new node already claimed the partition
  /** Whether one of the new node's partitions is exactly d places from p. */
  const mineAt = (p: number, d: number): boolean => d < P && (mine[wrap(p - d, P)] === 1 || mine[wrap(p + d, P)] === 1);
  /** How much taking p breaks up repeats of its owner nearby (1 place away counts 2, 2 places 1). */
  const repeatsBroken = (p: number): number => {
    let gain = 0;
    for (const [d, weight] of [[1, 2], [2, 1]] as const) {
      if (d > reach || d >= P) continue;
      if (owners[wrap(p - d, P)] === owners[p]) gain += weight;
      if (owners[wrap(p + d, P)] === owners[p]) gain += weight;
    }
    return gain;
  };
  const eligible = (p: number): boolean => mine[p] === 0 && (quota.get(owners[p]!) ?? 0) > 0;

  const offset = mix32(fnv1a32(node)) % P;
  for (let k = 0; k < take; k++) {
    const target = wrap(offset + Math.floor(k * stride), P);
    // Best eligible partition within `radius` of the target; scored lexicographically:
    // no partition of ours 1 place away > none 2 places away (when reach is 2) > breaks up
    // more repeats of one owner > closer to the target > stable tie-break.
    let best = -1;
    let bestScore: number[] = [];
    const consider = (p: number, distance: number): void => {
      if (!eligible(p)) return;
      const score = [mineAt(p, 1) ? 0 : 1, reach >= 2 && mineAt(p, 2) ? 0 : 1, repeatsBroken(p), -distance, tieBreak(node, p)];
      if (best < 0) { best = p; bestScore = score; return; }
      for (let i = 0; i < score.length; i++) {
        if (score[i]! > bestScore[i]!) { best = p; bestScore = score; return; }
        if (score[i]! < bestScore[i]!) return;
      }
    };
    for (let d = 0; d <= radius && d < P; d++) {
      consider(wrap(target + d, P), d);
      if (d > 0) consider(wrap(target - d, P), d);
    }
    // Nothing eligible nearby (the donors with quota own no partition in the window), or only
    // spots next to one of ours: walk outward until an eligible spot that is not next to one
    // of ours turns up (or the whole ring was seen). Some eligible partition exists because
    // the quotas sum to `take`.
    for (let d = radius + 1; (best < 0 || bestScore[0] === 0) && d < P; d++) {
      consider(wrap(target + d, P), d);
      consider(wrap(target - d, P), d);
    }
    if (best < 0) throw new Error("ring: internal error: no partition left to claim"); // unreachable by the quota sum
    quota.set(owners[best]!, quota.get(owners[best]!)! - 1);
    owners[best] = node;
    mine[best] = 1;
  }
  return { partitionCount: P, owners };
}

/**
 * leaveRing hands the leaver's partitions (and only those) to the remaining nodes, each to a
 * node that owns the fewest at that moment (keeping balance within one), preferring one that
 * owns no partition within two places, so preference lists stay spread.
 */
export function leaveRing(ring: Ring, node: NodeId): Ring {
  checkRing(ring);
  const P = ring.partitionCount;
  const owners = [...ring.owners];
  const counts = countByOwner(owners);
  if (!counts.has(node)) throw new Error(`ring: ${JSON.stringify(node)} is not a member`);
  if (counts.size === 1) throw new Error(`ring: ${JSON.stringify(node)} is the last member and cannot leave`);
  counts.delete(node);
  const names = [...counts.keys()].sort();
  for (let p = 0; p < P; p++) {
    if (owners[p] !== node) continue;
    const fewest = Math.min(...names.map((n) => counts.get(n)!));
    // Penalty: a neighbour at distance 1 costs 2, at distance 2 costs 1 (windows of n=3 stay distinct).
    const penalty = (n: NodeId): number => {
      let cost = 0;
      for (const [d, w] of [[1, 2], [2, 1]] as const) {
        if (d >= P) continue;
        if (owners[wrap(p - d, P)] === n) cost += w;
        if (owners[wrap(p + d, P)] === n) cost += w;
      }
      return cost;
    };
    let heir: NodeId | undefined;
    let heirScore: [number, number] = [Infinity, Infinity];
    for (const n of names) {
      if (counts.get(n) !== fewest) continue;
      const score: [number, number] = [penalty(n), tieBreak(n, p)];
      if (score[0] < heirScore[0] || (score[0] === heirScore[0] && score[1] < heirScore[1])) {
        heir = n;
        heirScore = score;
      }
    }
    owners[p] = heir!;
    counts.set(heir!, fewest + 1);
  }
  return { partitionCount: P, owners };
}

// ---- preference lists ----

/**
 * preferenceList for partition p: walk p, p+1, ... (wrapping) collecting distinct owners.
 * The first n are the primaries (all members when there are fewer than n); the others, in
 * walk order, are the fallbacks that stand in for unreachable primaries (sloppy quorum).
 */
export function preferenceList(ring: Ring, partition: number, n: number): PreferenceList {
  checkRing(ring);
  const P = ring.partitionCount;
  if (!Number.isInteger(partition) || partition < 0 || partition >= P) {
    throw new Error(`ring: partition must be an integer from 0 to ${P - 1}, got ${String(partition)}`);
  }
  if (!Number.isInteger(n) || n < 1) throw new Error(`ring: n must be a positive integer, got ${String(n)}`);
  const seen = new Set<NodeId>();
  const walk: NodeId[] = [];
  for (let i = 0; i < P; i++) {
    const owner = ring.owners[(partition + i) % P]!;
    if (!seen.has(owner)) {
      seen.add(owner);
      walk.push(owner);
    }
  }
  return { primaries: walk.slice(0, n), fallbacks: walk.slice(n) };
}
