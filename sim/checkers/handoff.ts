// Checker 11: ownership handoff. Judged only in runs with membership changes (the operator's
// record, sim/membership.ts; the rings are the oracle's own, sim/oracle/ring-history.ts). After
// transfers ended and the cluster healed (the end of the quiet period):
// - every change the operator asked for was acknowledged (a ring carrying it was reported);
// - every primary of a key under the final ring is part of the cluster (not departed) and holds
//   the key's full sibling set as the causal model has it: each acknowledged put nothing
//   superseded, and, when any node holds a live value of the key, a live copy itself (no
//   partition left without its replicas);
// - no node keeps a plain object of a key whose partition moved away from it: a node that was a
//   primary of the key under an earlier ring and is not under the final one handed it off.
import { valueText } from "../history.ts";
import { causalModelOf } from "../oracle/index.ts";
import { writeIdOfValue } from "../workload.ts";
import type { RunRecord, Violation } from "./types.ts";
import { DETAILS_MAX } from "./types.ts";

export function checkHandoff(run: RunRecord): Violation[] {
  const ms = run.membership;
  if (ms === undefined || ms.changes.length === 0) return [];
  const out: Violation[] = [];
  const add = (detail: string): boolean => {
    out.push({ property: "handoff", detail });
    return out.length >= DETAILS_MAX;
  };
  const t0 = run.startMs ?? 0;
  for (const c of ms.changes) if (c.acceptedAtMs === null && add(`the ${c.kind} of ${c.node} asked at +${Math.round(c.askedAtMs - t0)} ms was never acknowledged (no node reported a ring carrying it)`)) return out;
  const model = causalModelOf(run.history);
  const required = new Map<string, string[]>();
  for (const op of run.history) {
    if (op.kind === "put" && op.outcome === "ok" && op.writeId !== null && model.superseded(op.writeId) === "no") required.set(op.key, [...(required.get(op.key) ?? []), op.writeId]);
  }
  const liveSomewhere = new Set<string>();
  for (const objects of run.final.values()) for (const [k, set] of objects) if (set.siblings.some((s) => s.value !== null)) liveSomewhere.add(k);
  const keys = [...new Set([...required.keys(), ...liveSomewhere])].sort();
  const departed = new Set(ms.departed);
  for (const key of keys) {
    for (const node of run.primariesOf(key)) {
      if (departed.has(node)) {
        if (add(`key ${key}: ${node} is a primary under the final ring but left the cluster`)) return out;
        continue;
      }
      const set = run.final.get(node)?.get(key);
      const live = new Set((set?.siblings ?? []).flatMap((s) => (s.value === null ? [] : [writeIdOfValue(valueText(s.value)!)])));
      const missing = (required.get(key) ?? []).filter((id) => !live.has(id));
      if (missing.length > 0) {
        if (add(`key ${key} on ${node} (a primary under the final ring): acknowledged writes ${missing.join(",")}, superseded by nothing, are missing after the handoff`)) return out;
      } else if (live.size === 0 && liveSomewhere.has(key) && set === undefined) {
        if (add(`key ${key}: ${node}, a primary under the final ring, holds no copy while another node holds a live value (a partition left without its replica)`)) return out;
      }
    }
  }
  const earlier = ms.rings.slice(0, -1);
  for (const [node, objects] of [...run.final].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
    for (const key of [...objects.keys()].sort()) {
      const now = run.primariesOf(key);
      if (now.includes(node)) continue;
      const was = earlier.some((r) => (run.primariesUpTo?.(key, r.fromMs) ?? []).includes(node));
      if (was && add(`${node} still holds a plain object of key ${key} after its partition moved away (primaries under the final ring: ${now.join(",")})`)) return out;
    }
  }
  return out;
}
