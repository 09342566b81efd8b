// The client history: every operation the simulated clients invoked, with what they sent
// (key, value, context) and how it ended. Outcomes: ok; failed (definitely not applied: the
// node said so, or the request never reached a node); unknown (maybe applied: quorum not
// met, the coordinator crashed, or the client gave up waiting). Checkers read it.
import type { NodeId } from "../src/core/types.ts";
import type { Dot, SiblingSet, VClock } from "../src/core/versioning/types.ts";

export type Outcome = "pending" | "ok" | "failed" | "unknown";

export interface HistoryOp {
  readonly id: number;
  readonly client: number;
  /** The coordinating node the client asked. */
  readonly node: NodeId;
  readonly kind: "get" | "put" | "delete";
  readonly key: string;
  /** The written value (unique per write) for puts; null for gets and deletes. */
  readonly value: string | null;
  /** The context sent with a write; null for blind writes and gets. */
  readonly context: VClock | null;
  readonly invokedAtMs: number;
  completedAtMs: number | null;
  outcome: Outcome;
  /** The minted dot of a successful write. */
  dot: Dot | null;
  /** What a successful get returned (null: not found). */
  readSet: SiblingSet | null;
  error: string | null;
}

/** Whether a clock covers a dot (the dot's event happened before the clock). */
export function covers(clock: VClock | null, dot: Dot): boolean {
  if (clock === null) return false;
  const entry = clock.get(dot.actor);
  return entry !== undefined && entry.counter >= dot.counter;
}

export function dotKey(dot: Dot): string {
  return `${dot.actor}:${dot.counter}`;
}

const decoder = new TextDecoder();
/** Value bytes as the workload wrote them (utf-8 strings). */
export function valueText(value: Uint8Array | null): string | null {
  return value === null ? null : decoder.decode(value);
}
