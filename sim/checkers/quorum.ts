// Checker 4: quorum membership. Each `quorum` node event (a coordinator answering after a
// quorum) must count distinct replicas, as many as that request asked for (its own r or w,
// else the cluster's), each of them a primary of the key (the oracle's own preference list)
// or a fallback standing in for a primary the coordinator (the counting node, or the node
// the client asked) suspected during the request (no
// more fallbacks than suspected primaries), and each must really have sent a reply with that
// request id (which carries the coordinator's boot nonce) to the coordinator (the network's
// log); the coordinator's own local replica counts without a message.
import type { HistoryOp } from "../history.ts";
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

/** How far back a quorum's request is looked for first (then everything, only if none is found there). */
const LOOKBACK_MS = 30_000;

/**
 * The client ops this quorum may answer: same key and kind, in flight at q.atMs (a put's
 * quorum is counted by the minting replica, which need not be the node the client asked).
 * `ops` is in invocation order.
 */
function requestsOf(ops: readonly HistoryOp[], q: RunRecord["quorums"][number]): HistoryOp[] {
  const inFlight = (op: HistoryOp): boolean => op.invokedAtMs <= q.atMs && (op.outcome !== "ok" || (op.completedAtMs ?? Infinity) >= q.atMs);
  let hi = ops.length;
  let lo = 0;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ops[mid]!.invokedAtMs <= q.atMs) lo = mid + 1;
    else hi = mid;
  }
  const out: HistoryOp[] = [];
  for (let i = lo - 1; i >= 0 && ops[i]!.invokedAtMs >= q.atMs - LOOKBACK_MS; i--) if (inFlight(ops[i]!)) out.push(ops[i]!);
  return out.length > 0 ? out : ops.filter(inFlight);
}

export function checkQuorums(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  const add = (detail: string): boolean => {
    out.push({ property: "quorum", detail });
    return out.length >= DETAILS_MAX;
  };
  const byCoordinator = new Map<string, HistoryOp[]>();
  for (const op of run.history) {
    const k = `${op.key} ${op.kind}`;
    byCoordinator.set(k, [...(byCoordinator.get(k) ?? []), op]);
  }
  for (const q of run.quorums) {
    const what = `${q.op} of key ${q.key} (request ${q.reqId}) coordinated by ${q.node}`;
    const distinct = new Set(q.replicas);
    if (distinct.size !== q.replicas.length) {
      if (add(`${what} counted a replica twice: [${q.replicas.join(",")}]`)) return out;
      continue;
    }
    const requests = requestsOf(byCoordinator.get(`${q.key} ${q.op}`) ?? [], q);
    const asked = requests.map((op) => (q.op === "get" ? (op.r ?? run.r) : (op.w ?? run.w)));
    const mine = requests.filter((_, i) => asked[i] === q.needed);
    if (mine.length === 0) {
      if (add(`${what} needed ${q.needed} replies but the request asked for ${q.op === "get" ? "r" : "w"}=${[...new Set(asked)].join(" or ") || "?"} (no such client request in flight)`)) return out;
      continue;
    }
    if (distinct.size < q.needed) {
      if (add(`${what} answered after ${distinct.size} distinct replicas [${q.replicas.join(",")}], needed ${q.needed}`)) return out;
      continue;
    }
    // Under a changing ring, a primary of any ring in effect by then (old owners serve until cut-over).
    const primaries = run.primariesUpTo?.(q.key, q.atMs) ?? run.primariesOf(q.key);
    const fallbacks = q.replicas.filter((r) => !primaries.includes(r));
    if (fallbacks.length > 0) {
      // The counting node, or the node the client asked (it picks a fallback to mint when it
      // suspects every primary), may have done the suspecting.
      const from = Math.min(...mine.map((op) => op.invokedAtMs));
      const deciders = new Set([q.node, ...mine.map((op) => op.node)]);
      // A primary also stands aside when it refused this very request (its storage was failing)
      // and the minting replica asked a fallback in its place: shown by a refusal delivered to
      // the coordinator, or by a reply that was not counted. A duplicate of the request may
      // still succeed there later and count too; the fallback was asked for the refusal.
      const answered = run.replies.get(`${q.node} ${q.reqId}`);
      const refused = run.refusals?.get(`${q.node} ${q.reqId}`);
      const suspected = primaries.filter(
        (p) =>
          run.suspicions.some((s) => deciders.has(s.node) && s.peer === p && s.fromMs <= q.atMs && (s.toMs === null || s.toMs >= from)) ||
          (p !== q.node && (refused?.has(p) ?? false)) ||
          (p !== q.node && !q.replicas.includes(p) && (answered?.has(p) ?? false)),
      );
      if (fallbacks.length > suspected.length) {
        if (add(`${what} counted fallbacks [${fallbacks.join(",")}] but suspected only [${suspected.join(",")}] of the primaries [${primaries.join(",")}] (and none refused)`)) return out;
        continue;
      }
    }
    const heard = run.replies.get(`${q.node} ${q.reqId}`);
    const unheard = q.replicas.filter((r) => r !== q.node && !(heard?.has(r) ?? false));
    if (unheard.length > 0) {
      if (add(`${what} counted [${unheard.join(",")}] but received no reply from ${unheard.length > 1 ? "them" : "it"} for that request`)) return out;
    }
  }
  return out;
}
