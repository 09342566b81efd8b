// The convergence bound, stated from the configuration. Anti-entropy is the only thing that
// repairs a key nobody reads: each node walks its (partition, peer) pairs (every partition it
// is a primary of, times its N-1 fellow primaries) AE_PAIRS_PER_ROUND per round, one round
// every antiEntropyIntervalMs (the node's documented pacing, src/core/replica/ae-exchange.ts).
// After the last write, every pair has been exchanged within
//
//   bound = (ceil(maxPairs / AE_PAIRS_PER_ROUND) + 1) * antiEntropyIntervalMs
//           + suspectAfterMs + heartbeatIntervalMs    (a restarted node is seen up again)
//           + handoffIntervalMs                        (hints reach their owners)
//           + requestTimeoutMs                         (an exchange cut short by a restart)
//
// where maxPairs is the largest pair count of any node under the oracle's own preference
// lists. An exchange merges both replicas' sets, so after every pair has been exchanged once
// with no new writes, all primaries of every key hold the same set.
import type { NodeId } from "../../src/core/types.ts";
import { partitionPreference } from "./preference.ts";

/** The node's pacing constant (see the header). */
export const AE_PAIRS_PER_ROUND = 8;

interface BoundTimings {
  readonly antiEntropyIntervalMs: number;
  readonly suspectAfterMs: number;
  readonly heartbeatIntervalMs: number;
  readonly handoffIntervalMs: number;
  readonly requestTimeoutMs: number;
}

export function maxAntiEntropyPairs(owners: readonly NodeId[], n: number): number {
  const pairs = new Map<NodeId, number>();
  for (let p = 0; p < owners.length; p++) {
    const primaries = partitionPreference(owners, n, p).primaries;
    for (const node of primaries) pairs.set(node, (pairs.get(node) ?? 0) + primaries.length - 1);
  }
  return Math.max(0, ...pairs.values());
}

/** Infinity when anti-entropy is off (nothing repairs a key nobody reads). */
export function convergenceBoundMs(owners: readonly NodeId[], n: number, t: BoundTimings): number {
  if (t.antiEntropyIntervalMs <= 0) return Infinity;
  const rounds = Math.ceil(maxAntiEntropyPairs(owners, n) / AE_PAIRS_PER_ROUND) + 1;
  return rounds * t.antiEntropyIntervalMs + t.suspectAfterMs + t.heartbeatIntervalMs + t.handoffIntervalMs + t.requestTimeoutMs;
}
