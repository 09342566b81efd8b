// Pure quorum accounting (Riak's get_core/put_core): who to ask, when enough distinct replicas
// answered, what to answer, who needs read repair, when a tombstone may be reaped.
// Owns: the counting rules. Must not know: messages, timers, storage, node state.
//
// Rules (Dynamo §4.5-4.6):
// - A request has a fixed target list. A reply counts once per distinct target; a reply from a
//   node that is not a target, or a second reply from the same target (duplicate delivery), is
//   ignored. (The planted bug "duplicate-acks" counts duplicates again.)
// - Sloppy quorum: the targets are the first n reachable nodes of primaries ++ fallbacks; each
//   fallback used stands in for (carries a hint for) a primary that was skipped, in order.
import type { SiblingSet, VersioningMode } from "../versioning/types.ts";
import type { NodeId } from "../types.ts";
import { assert } from "../assert.ts";
import { isTombstoneOnly, mergeReplicas, setsEqual } from "../versioning/index.ts";

export interface Target {
  readonly node: NodeId;
  /** The primary this (fallback) target stands in for; null for a primary. */
  readonly hint: NodeId | null;
}

/**
 * The first n nodes of primaries ++ fallbacks that `isUp` accepts. A fallback is paired with
 * the first skipped primary not yet paired, so its copy is a hint handed off to that primary.
 */
export function sloppyTargets(
  primaries: readonly NodeId[],
  fallbacks: readonly NodeId[],
  n: number,
  isUp: (node: NodeId) => boolean,
): Target[] {
  const targets: Target[] = [];
  const skipped: NodeId[] = [];
  for (const p of primaries) {
    if (targets.length >= n) break;
    if (isUp(p)) targets.push({ node: p, hint: null });
    else skipped.push(p);
  }
  for (const f of fallbacks) {
    if (targets.length >= n) break;
    if (primaries.includes(f) || !isUp(f)) continue;
    targets.push({ node: f, hint: skipped.shift() ?? null });
  }
  return targets;
}

type RecordOutcome = "counted" | "duplicate" | "stranger";

/** Replies of one request, counted once per distinct target. */
export class ReplyTally<T> {
  private readonly replies = new Map<NodeId, T>();
  private counted = 0;
  private readonly targetList: NodeId[];

  constructor(
    targets: readonly NodeId[],
    readonly needed: number,
    /** Planted bug "duplicate-acks": a duplicate reply counts again toward the quorum. */
    private readonly countDuplicates = false,
  ) {
    assert(Number.isInteger(needed) && needed >= 1, `quorum needs a positive integer, got ${needed}`);
    this.targetList = [...targets];
  }

  get targets(): readonly NodeId[] {
    return this.targetList;
  }

  /** A substitute target (a fallback standing in for a target that refused). */
  addTarget(node: NodeId): void {
    if (!this.targetList.includes(node)) this.targetList.push(node);
  }

  /** Records a reply; the first reply of each target wins, later ones are reported as duplicates. */
  record(from: NodeId, value: T): RecordOutcome {
    if (!this.targets.includes(from)) return "stranger"; // a stale or misrouted reply
    if (this.replies.has(from)) {
      if (this.countDuplicates) this.counted++; // the planted bug
      return "duplicate";
    }
    this.replies.set(from, value);
    this.counted++;
    return "counted";
  }

  /** Enough replies to answer the client. */
  get reached(): boolean {
    return this.counted >= this.needed;
  }

  /** Every target answered: nothing more to wait for. */
  get complete(): boolean {
    return this.replies.size >= new Set(this.targets).size;
  }

  get answered(): number {
    return this.replies.size;
  }

  has(node: NodeId): boolean {
    return this.replies.has(node);
  }

  /** Distinct repliers in arrival order. */
  repliers(): NodeId[] {
    return [...this.replies.keys()];
  }

  entries(): [NodeId, T][] {
    return [...this.replies.entries()];
  }
}

/** Validates a per-request r or w against n: an integer in [1, n]. */
export function validQuorum(value: number, n: number): boolean {
  return Number.isInteger(value) && value >= 1 && value <= n;
}

/** Merge of the replies of a GET; null when no replica had the key (not-found replies are null). */
export function mergeReplies(mode: VersioningMode, sets: readonly (SiblingSet | null)[]): SiblingSet | null {
  let acc: SiblingSet | null = null;
  for (const s of sets) {
    if (s === null) continue;
    acc = acc === null ? s : mergeReplicas(mode, acc, s);
  }
  return acc;
}

/** Read repair: every replier whose copy differs from the final merge (not-found included). */
export function readRepairTargets(replies: readonly (readonly [NodeId, SiblingSet | null])[], merged: SiblingSet | null): NodeId[] {
  if (merged === null) return [];
  return replies.filter(([, s]) => s === null || !setsEqual(s, merged)).map(([node]) => node);
}

/**
 * A tombstone may be reaped when every primary answered with the same tombstone-only set.
 * Returns that set, or null when reaping is not (yet) safe.
 */
export function reapableSet(replies: ReadonlyMap<NodeId, SiblingSet | null>, primaries: readonly NodeId[]): SiblingSet | null {
  if (primaries.length === 0) return null;
  let first: SiblingSet | null = null;
  for (const p of primaries) {
    if (!replies.has(p)) return null; // a primary did not answer: it may hold a live value
    const s = replies.get(p) ?? null;
    if (s === null || !isTombstoneOnly(s)) return null;
    if (first === null) first = s;
    else if (!setsEqual(first, s)) return null;
  }
  return first;
}
