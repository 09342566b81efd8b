// The oracle's own model of partition claims under membership changes: given the claim table a
// cluster started with (cluster state, taken as data as in preference.ts) and the membership
// changes the run's operator made (a join, a leave, a remove), the claim table the cluster must
// end up with. Re-derived here from the ring's documented rules (src/core/ring/ring.ts header),
// without calling it; test/sim/claims.test.ts property-tests it against src/core/ring.
//
// The rules, as the oracle states them:
// - join: the newcomer takes floor(P / (m + 1)) partitions, one at a time from whichever owner
//   has the most left (ties: the first name in sorted order); each taken partition is the
//   best eligible spot within half a stride of an evenly spaced target (offset fmix32(fnv1a(
//   name)) mod P, stride P / take), scored by: no newcomer spot next to it, none two away
//   (when the stride is at least 3), how many repeats of its owner it breaks up (one place away
//   weighs 2, two places 1), nearness, then a per-(name, partition) hash; when nothing eligible
//   is near, or only spots next to the newcomer's, the search widens until one that is not.
// - leave / remove: only the leaver's partitions move, each (in partition order) to a member
//   with the fewest, preferring one with no partition one (cost 2) or two (cost 1) places away,
//   then the lower per-(name, partition) hash.
import type { NodeId } from "../../src/core/types.ts";
import { fmix32, fnv1a } from "./preference.ts";

const utf8 = new TextEncoder();
const fnv1aText = (text: string): number => fnv1a(utf8.encode(text));

const spotHash = (node: NodeId, p: number): number => fmix32(fnv1aText(node) ^ Math.imul(p + 1, 0x9e3779b9));
const at = (p: number, size: number): number => ((p % size) + size) % size;

function tally(owners: readonly NodeId[]): Map<NodeId, number> {
  const m = new Map<NodeId, number>();
  for (const o of owners) m.set(o, (m.get(o) ?? 0) + 1);
  return m;
}

/** How many partitions each owner gives up to a newcomer taking `take`: always from whoever has the most left. */
function donorQuotas(owners: readonly NodeId[], take: number): Map<NodeId, number> {
  const left = tally(owners);
  const names = [...left.keys()].sort();
  const quota = new Map<NodeId, number>();
  for (let i = 0; i < take; i++) {
    const donor = names.reduce((best, x) => (left.get(x)! > left.get(best)! ? x : best));
    left.set(donor, left.get(donor)! - 1);
    quota.set(donor, (quota.get(donor) ?? 0) + 1);
  }
  return quota;
}

/** Lexicographic comparison of two score vectors (higher is better). */
function better(a: readonly number[], b: readonly number[]): boolean {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! > b[i]!;
  return false;
}

/** The claim table after `node` joins. */
export function claimsAfterJoin(owners: readonly NodeId[], node: NodeId): NodeId[] {
  const P = owners.length;
  const out = [...owners];
  const members = new Set(out).size;
  if (out.includes(node) || members + 1 > P) throw new Error(`claims: ${node} cannot join`);
  const take = Math.floor(P / (members + 1));
  const quota = donorQuotas(out, take);
  const stride = P / Math.max(take, 1);
  const radius = Math.max(1, Math.floor(stride / 2));
  const reach = stride >= 3 ? 2 : 1;
  const ours = new Set<number>();
  const oursAt = (p: number, d: number): boolean => d < P && (ours.has(at(p - d, P)) || ours.has(at(p + d, P)));
  const breaksUp = (p: number): number => {
    let gain = 0;
    if (P > 1) gain += (out[at(p - 1, P)] === out[p] ? 2 : 0) + (out[at(p + 1, P)] === out[p] ? 2 : 0);
    if (reach >= 2 && P > 2) gain += (out[at(p - 2, P)] === out[p] ? 1 : 0) + (out[at(p + 2, P)] === out[p] ? 1 : 0);
    return gain;
  };
  const start = fmix32(fnv1aText(node)) % P;
  for (let k = 0; k < take; k++) {
    const target = at(start + Math.floor(k * stride), P);
    let pick = -1;
    let pickScore: number[] = [];
    const look = (p: number, distance: number): void => {
      if (ours.has(p) || (quota.get(out[p]!) ?? 0) === 0) return;
      const score = [oursAt(p, 1) ? 0 : 1, reach >= 2 && oursAt(p, 2) ? 0 : 1, breaksUp(p), -distance, spotHash(node, p)];
      if (pick < 0 || better(score, pickScore)) [pick, pickScore] = [p, score];
    };
    for (let d = 0; d <= radius && d < P; d++) {
      look(at(target + d, P), d);
      if (d > 0) look(at(target - d, P), d);
    }
    for (let d = radius + 1; (pick < 0 || pickScore[0] === 0) && d < P; d++) {
      look(at(target + d, P), d);
      look(at(target - d, P), d);
    }
    if (pick < 0) throw new Error("claims: no partition to take");
    quota.set(out[pick]!, quota.get(out[pick]!)! - 1);
    out[pick] = node;
    ours.add(pick);
  }
  return out;
}

/** The claim table after `node` leaves (or is removed). */
export function claimsAfterLeave(owners: readonly NodeId[], node: NodeId): NodeId[] {
  const P = owners.length;
  const out = [...owners];
  const counts = tally(out);
  if (!counts.has(node) || counts.size === 1) throw new Error(`claims: ${node} cannot leave`);
  counts.delete(node);
  const names = [...counts.keys()].sort();
  const nearCost = (p: number, x: NodeId): number => {
    let cost = 0;
    if (P > 1) cost += (out[at(p - 1, P)] === x ? 2 : 0) + (out[at(p + 1, P)] === x ? 2 : 0);
    if (P > 2) cost += (out[at(p - 2, P)] === x ? 1 : 0) + (out[at(p + 2, P)] === x ? 1 : 0);
    return cost;
  };
  for (let p = 0; p < P; p++) {
    if (out[p] !== node) continue;
    const fewest = Math.min(...names.map((x) => counts.get(x)!));
    const candidates = names.filter((x) => counts.get(x) === fewest);
    const heir = candidates.reduce((best, x) => {
      const [cx, cb] = [nearCost(p, x), nearCost(p, best)];
      return cx < cb || (cx === cb && spotHash(x, p) < spotHash(best, p)) ? x : best;
    });
    out[p] = heir;
    counts.set(heir, fewest + 1);
  }
  return out;
}

/** A membership change the run's operator made (the oracle's record of it, not the node's). */
export interface ClaimChange {
  readonly kind: "join" | "leave" | "remove";
  readonly node: NodeId;
}

export function claimsAfter(owners: readonly NodeId[], change: ClaimChange): NodeId[] {
  return change.kind === "join" ? claimsAfterJoin(owners, change.node) : claimsAfterLeave(owners, change.node);
}
