// Checker 9: anti-entropy at the exchange level. After an exchange between two replicas of a
// partition completed (sim/ae-exchanges.ts snapshots both stored copies at its begin and at its
// completion), for every key whose stored copies differed at the begin:
//   - inclusion (dvv mode): each side's final clock covers the other side's clock at the begin
//     (it knows every write the other held: as a sibling, or as superseded). Sound under any
//     concurrent traffic, since merges only ever add knowledge;
//   - equality: if neither final copy holds anything that neither begin copy held (no sibling
//     dot, no clock counter beyond both), nothing but this exchange's own data met the key, so
//     both sides hold equal sets (absent = tombstone-only, as for convergence).
// Not judged: exchanges during which either side may have lost stored knowledge (a crash or
// restart, a wipe or a lost unsynced suffix, a bit flip, a failed storage write); keys reaped
// on either side during the exchange (deleted, or cut to a clock-only set that drops a
// tombstone the other side still holds), unreadable on either side, or holding one dot
// with two values (a dot issued twice, refused by merges on purpose); and exchanges where more
// keys differed than the protocol's per-exchange cap (the rest waits for the next round).
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";
import type { AeExchangeRecord, AeKeyStates } from "../ae-exchanges.ts";
import { clockNotCovered, dotConflict, holdsNewerThan, isEmptySet, sameContent, showSet } from "../oracle/sets.ts";
import type { SiblingSet } from "../../src/core/versioning/types.ts";

/** Keys one exchange repairs at most (the protocol's stated cap; the rest waits a round). */
export const AE_KEYS_PER_EXCHANGE = 256;

type Judged = { readonly key: string; readonly a0: SiblingSet | null; readonly b0: SiblingSet | null; readonly a1: SiblingSet | null; readonly b1: SiblingSet | null };

function judgeable(k: AeKeyStates): Judged | null {
  if (k.deleted || k.a0 === "corrupt" || k.b0 === "corrupt" || k.a1 === "corrupt" || k.b1 === "corrupt") return null;
  if (dotConflict(k.a0, k.b0)) return null;
  return { key: k.key, a0: k.a0, b0: k.b0, a1: k.a1, b1: k.b1 };
}

function problem(k: Judged, dvv: boolean, a: string, b: string): string | null {
  if (dvv) {
    for (const [into, from, who, whom] of [[k.a1, k.b0, a, b], [k.b1, k.a0, b, a]] as const) {
      if (into === null && isEmptySet(from)) continue;
      const missed = clockNotCovered(into, from);
      if (missed.length > 0) return `${who} ends without ${missed.join(", ")} that ${whom} held at the begin`;
    }
  }
  const touched = holdsNewerThan(k.a1, k.a0, k.b0) || holdsNewerThan(k.b1, k.a0, k.b0);
  if (!touched && !sameContent(k.a1, k.b1)) return "the two copies still differ and nothing else wrote the key meanwhile";
  return null;
}

function describe(ex: AeExchangeRecord, k: Judged, why: string, t0: number): string {
  const a = ex.initiator;
  const b = ex.responder;
  return (
    `exchange ${ex.reqId} (${a} -> ${b}, partition ${ex.partition}, +${Math.round(ex.beginMs - t0)}..+${Math.round(ex.endMs - t0)} ms) completed but key ${k.key} is not repaired: ${why}` +
    ` (begin ${a}=${showSet(k.a0)} ${b}=${showSet(k.b0)}; end ${a}=${showSet(k.a1)} ${b}=${showSet(k.b1)})`
  );
}

export function checkAntiEntropy(run: RunRecord): Violation[] {
  const out: Violation[] = [];
  const dvv = run.mode === "dvv";
  const t0 = run.startMs ?? 0;
  for (const ex of run.exchanges ?? []) {
    if (ex.lossy !== null || ex.differing > AE_KEYS_PER_EXCHANGE) continue;
    for (const raw of ex.keys) {
      const k = judgeable(raw);
      if (k === null) continue;
      const why = problem(k, dvv, ex.initiator, ex.responder);
      if (why === null) continue;
      out.push({ property: "anti-entropy", detail: describe(ex, k, why, t0) });
      if (out.length >= DETAILS_MAX) return out;
    }
  }
  return out;
}
