// Checker 10: availability in fault-free windows (a liveness finding). A request must succeed
// when its quorum is reachable: no fault was active from `settleMs` before it was invoked until
// it completed (no episode, no node down, restarting or paused, no message loss rate, no disk
// fault), so every node was up, reachable and ready, and the failure detectors had time to
// settle (settleMs = suspect timeout + heartbeat + request timeout, from the config). Conservative
// on purpose: a request that overlaps any fault anywhere in the cluster is not judged, nor a
// request on a key whose stored copy was bit-flipped before it completed (a node refuses to mint
// over an unreadable record until it is repaired), nor a refusal the request itself earned
// (over the sibling or object limits, or a bad request), nor a request sent to a node the
// operator had told to leave (it hands off, refuses new requests once it has left, then exits).
import type { HistoryOp } from "../history.ts";
import type { FaultTimeline, RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

/** Refusals that are the request's own doing, not the cluster's unavailability. */
const EARNED = new Set(["too-many-siblings", "object-too-large", "bad-request"]);

/** The fault active at some time in [fromMs, toMs], if any. */
function faultIn(t: FaultTimeline, fromMs: number, toMs: number): string | null {
  for (const s of t.spans) if (s.fromMs <= toMs && s.toMs >= fromMs) return s.what;
  return null;
}

function flipped(t: FaultTimeline, op: HistoryOp, untilMs: number): boolean {
  return t.corruptions.some((c) => c.atMs <= untilMs && c.key.endsWith(`:${op.key}`));
}

function toldToLeave(run: RunRecord, node: string, byMs: number): boolean {
  return (run.membership?.changes ?? []).some((c) => c.kind === "leave" && c.node === node && c.askedAtMs <= byMs);
}

/** The ops the checker judges: completed, in a fault-free window (exported for the run's stats). */
export function availabilityJudged(run: RunRecord): HistoryOp[] {
  const t = run.faults;
  if (t === undefined) return [];
  return [...run.history, ...(run.probes ?? [])].filter((op) => {
    if (op.completedAtMs === null || op.outcome === "pending") return false;
    if (op.error !== null && EARNED.has(op.error)) return false;
    if (faultIn(t, op.invokedAtMs - t.settleMs, op.completedAtMs) !== null) return false;
    if (toldToLeave(run, op.node, op.completedAtMs)) return false;
    return !flipped(t, op, op.completedAtMs);
  });
}

export function checkAvailability(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  const t0 = run.startMs ?? 0;
  for (const op of availabilityJudged(run)) {
    if (op.outcome === "ok") continue;
    const at = (ms: number): string => `+${Math.round(ms - t0)} ms`;
    out.push({
      property: "availability",
      detail: `${op.kind} of ${op.key} at ${op.node} (op ${op.id}, ${at(op.invokedAtMs)}..${at(op.completedAtMs!)}) ended ${op.outcome} (${op.error ?? "no error"}) although no fault was active since ${at(op.invokedAtMs - run.faults!.settleMs)} (settle ${run.faults!.settleMs} ms): its quorum was reachable`,
    });
    if (out.length >= DETAILS_MAX) return out;
  }
  return out;
}
