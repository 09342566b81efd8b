// What every checker reads: the run's configuration, the client history, the node events the
// checkers need (minted dots, quorums), the network's log of delivered replies, and the final
// durable objects of every node. A checker returns its violations; none on a correct node.
import type { NodeId } from "../../src/core/types.ts";
import type { SiblingSet, VersioningMode } from "../../src/core/versioning/types.ts";
import type { MintedDot, QuorumRecord, Suspicion } from "../cluster.ts";
import type { HistoryOp } from "../history.ts";
import type { AeExchangeRecord } from "../ae-exchanges.ts";
import type { HintDeleteRecord } from "../hint-deletes.ts";

/** A span of simulated time during which a fault was active (toMs: when it ended or was due to end). */
export interface FaultSpan {
  readonly fromMs: number;
  readonly toMs: number;
  readonly what: string;
}

/** What the availability checker reads: when faults were active, and the config's settle time. */
export interface FaultTimeline {
  /**
   * After a fault, how long until every request whose quorum is reachable must succeed: the
   * failure detectors' suspect timeout, a heartbeat and a request timeout (stale suspicions,
   * peers marked unreachable by a timed-out request, requests in flight when it ended).
   */
  readonly settleMs: number;
  /** Every fault that took effect: episodes, restarts until ready, loss rates, storage faults. */
  readonly spans: readonly FaultSpan[];
  /** Bit flips: when, on which node, which storage key. */
  readonly corruptions: readonly { readonly atMs: number; readonly node: NodeId; readonly key: string }[];
}

/** The checked properties, plus "exception": the node threw (a failed assertion). */
export type Property = "lost-write" | "final-siblings" | "unique-dots" | "quorum" | "convergence" | "determinism" | "stale-read" | "hints-drain" | "anti-entropy" | "availability" | "handoff" | "exception";
export const PROPERTIES: readonly Property[] = ["lost-write", "final-siblings", "unique-dots", "quorum", "convergence", "determinism", "stale-read", "hints-drain", "anti-entropy", "availability", "handoff", "exception"];

export interface Violation {
  readonly property: Property;
  readonly detail: string;
}

export interface RunRecord {
  readonly members: readonly NodeId[];
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly mode: VersioningMode;
  readonly history: readonly HistoryOp[];
  readonly minted: readonly MintedDot[];
  readonly quorums: readonly QuorumRecord[];
  /**
   * The convergence bound the config implies (sim/oracle/bounds.ts), the quiet period the run
   * had after the last write, and whether clients read after the heal (read repair helped).
   */
  readonly convergence?: { readonly boundMs: number; readonly quietMs: number; readonly readsAfterHeal: boolean };
  /** When each node's disk was wiped. */
  readonly wipes?: ReadonlyMap<NodeId, readonly number[]>;
  /** The stored records (storage keys, which end in `:KEY`) whose bits were flipped on each node, and when. */
  readonly flips?: ReadonlyMap<NodeId, readonly { readonly atMs: number; readonly key: string }[]>;
  /** Hints left in each node's storage at the end, and which nodes were up then. */
  readonly hintsAtEnd?: ReadonlyMap<NodeId, readonly { readonly target: NodeId; readonly key: string }[]>;
  readonly upAtEnd?: ReadonlySet<NodeId>;
  /** Every hint a node deleted, with what the hint held and what its target held then (sim/hint-deletes.ts). */
  readonly hintDeletes?: readonly HintDeleteRecord[];
  /** When each node suspected which peer (failure-detector events). */
  readonly suspicions: readonly Suspicion[];
  /** `${coordinator} ${reqId}` -> distinct replicas whose replies the coordinator received. */
  readonly replies: ReadonlyMap<string, ReadonlySet<NodeId>>;
  /** `${coordinator} ${reqId}` -> replicas whose delivered reply refused the write (their storage was failing). */
  readonly refusals?: ReadonlyMap<string, ReadonlySet<NodeId>>;
  /** Completed anti-entropy exchanges with both replicas' stored copies at begin and end (sim/ae-exchanges.ts). */
  readonly exchanges?: readonly AeExchangeRecord[];
  /** Availability probes after the quiet period (their own history; sim/workload.ts startProbes). */
  readonly probes?: readonly HistoryOp[];
  /** Fault spans and the settle time, for the availability checker. */
  readonly faults?: FaultTimeline;
  /** Scheduler time of the boot (for readable offsets in details). */
  readonly startMs?: number;
  /** Durable objects per node at the end of the run. */
  readonly final: ReadonlyMap<NodeId, ReadonlyMap<string, SiblingSet>>;
  /** Membership changes the operator made (sim/membership.ts) and the oracle's ring history from them (absent or empty: a fixed ring). */
  readonly membership?: {
    readonly changes: readonly { readonly kind: "join" | "leave" | "remove"; readonly node: NodeId; readonly askedAtMs: number; readonly acceptedAtMs: number | null }[];
    readonly rings: readonly { readonly fromMs: number; readonly owners: readonly NodeId[] }[];
    /** Members that left or were removed (not in `final`). */
    readonly departed: readonly NodeId[];
  };
  /** The oracle's own preference lists (sim/oracle/preference.ts), not the ring under test: under the final ring. */
  primariesOf(key: string): readonly NodeId[];
  /** Every primary of the key under a ring in effect at or before atMs (absent: primariesOf). */
  primariesUpTo?(key: string, atMs: number): readonly NodeId[];
  fallbacksOf(key: string): readonly NodeId[];
}

export type Checker = (run: RunRecord) => Violation[];

/** Keeps detail lists short: the first few violations of a kind say enough. */
export const DETAILS_MAX = 5;
