// Checker 3: every dot is issued once. A (key, actor, counter) minted twice anywhere in the
// run (the dot-minted node events) is a violation, and so are two acknowledged writes of one
// key that report the same dot (the Riak kv679 failure: a node that lost its data and kept
// its actor id re-issues old dots, and replicas then silently drop one of the two values).
// A mint retracted by a machine crash (the dot never left the node's memory: see
// MintedDot.retracted) does not count: minting it again harms no one.
import { dotKey } from "../history.ts";
import { SIM_EPOCH_MS } from "../scheduler.ts";
import type { HistoryOp } from "../history.ts";
import type { MintedDot } from "../cluster.ts";
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

export function checkUniqueDots(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  const minted = new Map<string, MintedDot>();
  for (const m of run.minted) {
    if (m.retracted) continue;
    const k = `${m.key} ${m.actor}:${m.counter}`;
    const first = minted.get(k);
    if (first === undefined) {
      minted.set(k, m);
      continue;
    }
    out.push({
      property: "unique-dots",
      detail: `dot ${m.actor}:${m.counter} of key ${m.key} minted twice: by ${first.node} at +${Math.round(first.atMs - SIM_EPOCH_MS)}ms and by ${m.node} at +${Math.round(m.atMs - SIM_EPOCH_MS)}ms`,
    });
    if (out.length >= DETAILS_MAX) return out;
  }
  const acked = new Map<string, HistoryOp>();
  for (const op of run.history) {
    if (op.kind === "get" || op.outcome !== "ok" || op.dot === null) continue;
    const k = `${op.key} ${dotKey(op.dot)}`;
    const first = acked.get(k);
    if (first === undefined) {
      acked.set(k, op);
      continue;
    }
    out.push({ property: "unique-dots", detail: `acknowledged writes op ${first.id} and op ${op.id} of key ${op.key} both got dot ${dotKey(op.dot)}` });
    if (out.length >= DETAILS_MAX) return out;
  }
  return out;
}
