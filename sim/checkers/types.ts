// What every checker reads: the run's configuration, the client history, the node events the
// checkers need (minted dots, quorums), the network's log of delivered replies, and the final
// durable objects of every node. A checker returns its violations; none on a correct node.
import type { NodeId } from "../../src/core/types.ts";
import type { SiblingSet, VersioningMode } from "../../src/core/versioning/types.ts";
import type { MintedDot, QuorumRecord, Suspicion } from "../cluster.ts";
import type { HistoryOp } from "../history.ts";

/** The six checked properties, plus "exception": the node threw (a failed assertion). */
export type Property = "lost-write" | "final-siblings" | "unique-dots" | "quorum" | "convergence" | "determinism" | "stale-read" | "hints-drain" | "exception";
export const PROPERTIES: readonly Property[] = ["lost-write", "final-siblings", "unique-dots", "quorum", "convergence", "determinism", "stale-read", "hints-drain", "exception"];

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
  /** Hints left in each node's storage at the end, and which nodes were up then. */
  readonly hintsAtEnd?: ReadonlyMap<NodeId, readonly { readonly target: NodeId; readonly key: string }[]>;
  readonly upAtEnd?: ReadonlySet<NodeId>;
  /** When each node suspected which peer (failure-detector events). */
  readonly suspicions: readonly Suspicion[];
  /** `${coordinator} ${reqId}` -> distinct replicas whose replies the coordinator received. */
  readonly replies: ReadonlyMap<string, ReadonlySet<NodeId>>;
  /** Durable objects per node at the end of the run. */
  readonly final: ReadonlyMap<NodeId, ReadonlyMap<string, SiblingSet>>;
  /** The oracle's own preference lists (sim/oracle/preference.ts), not the ring under test. */
  primariesOf(key: string): readonly NodeId[];
  fallbacksOf(key: string): readonly NodeId[];
}

export type Checker = (run: RunRecord) => Violation[];

/** Keeps detail lists short: the first few violations of a kind say enough. */
export const DETAILS_MAX = 5;
