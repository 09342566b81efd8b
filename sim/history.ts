// The client history: every operation the simulated clients invoked, with what they sent
// (key, value, context) and how it ended. Outcomes: ok; failed (definitely not applied: the
// node said so, or the request never reached a node); unknown (maybe applied: quorum not
// met, the coordinator crashed, or the client gave up waiting). Checkers read it.
import type { NodeId } from "../src/core/types.ts";
import type { Dot, SiblingSet, VClock } from "../src/core/versioning/types.ts";

type Outcome = "pending" | "ok" | "failed" | "unknown";

export interface HistoryOp {
  readonly id: number;
  readonly client: number;
  /** The coordinating node the client asked. */
  readonly node: NodeId;
  readonly kind: "get" | "put" | "delete";
  readonly key: string;
  /** The written value (unique per write) for puts; null for gets and deletes. */
  readonly value: string | null;
  /**
   * The write's unique id: its value for a put ("k1=c2.7"), "k1-c2.8" for a delete (a
   * tombstone carries no value, so a delete's id lives only here); null for gets.
   */
  readonly writeId: string | null;
  /** The op whose answer the sent context came from (a read or a write); null: blind or a get. */
  readonly contextFrom: number | null;
  /** Per-request quorum the client asked for (undefined: the node's default). */
  readonly r?: number;
  readonly w?: number;
  /** The context sent with a write; null for blind writes and gets. */
  readonly context: VClock | null;
  /** A put that asked for the stored set back (?returnbody=true): its answer shows every sibling, with the set's clock. */
  readonly returnBody?: boolean;
  readonly invokedAtMs: number;
  completedAtMs: number | null;
  outcome: Outcome;
  /** The minted dot of a successful write. */
  dot: Dot | null;
  /** What a successful get returned (null: not found). */
  readSet: SiblingSet | null;
  /**
   * What the client was shown by a successful answer: the write ids of the live siblings
   * (the values a read or a 300 write answer carried; a 200 write answer shows its own).
   */
  shown: string[] | null;
  /** Dots of the tombstones the answer's clock covers (identities only; see sim/oracle). */
  shownTombstones: Dot[] | null;
  /** The context the answer handed back (what the client may write with next). */
  answerContext: VClock | null;
  /** Replicas the coordinator counted (successful answers). */
  replicas: readonly NodeId[] | null;
  error: string | null;
}

export function dotKey(dot: Dot): string {
  return `${dot.actor}:${dot.counter}`;
}

const decoder = new TextDecoder();
/** Value bytes as the workload wrote them (utf-8 strings). */
export function valueText(value: Uint8Array | null): string | null {
  return value === null ? null : decoder.decode(value);
}
