// Checker 4: a successful quorum means R (gets) or W (puts, deletes) distinct replicas
// answered that very request. Each `quorum` node event is checked against the network's log
// of replies with that request id actually delivered to the coordinator; the coordinator's
// own local replica counts without a message. Duplicated or stale replies must never count.
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

export function checkQuorums(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  const add = (detail: string): boolean => {
    out.push({ property: "quorum", detail });
    return out.length >= DETAILS_MAX;
  };
  for (const q of run.quorums) {
    const what = `${q.op} of key ${q.key} (request ${q.reqId}) coordinated by ${q.node}`;
    const distinct = new Set(q.replicas);
    const expected = q.op === "get" ? run.r : run.w;
    if (distinct.size !== q.replicas.length) {
      if (add(`${what} counted a replica twice: [${q.replicas.join(",")}]`)) return out;
      continue;
    }
    if (q.needed !== expected) {
      if (add(`${what} needed ${q.needed} replies but ${q.op === "get" ? "R" : "W"}=${expected}`)) return out;
      continue;
    }
    if (distinct.size < q.needed) {
      if (add(`${what} answered after ${distinct.size} distinct replicas [${q.replicas.join(",")}], needed ${q.needed}`)) return out;
      continue;
    }
    const heard = run.replies.get(`${q.node} ${q.reqId}`);
    const unheard = q.replicas.filter((r) => r !== q.node && !(heard?.has(r) ?? false));
    if (unheard.length > 0) {
      if (add(`${what} counted [${unheard.join(",")}] but received no reply from ${unheard.length > 1 ? "them" : "it"} for that request`)) return out;
    }
  }
  return out;
}
