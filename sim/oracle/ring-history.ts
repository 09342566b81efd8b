// The oracle's ring history: the claim tables a run's cluster must have gone through, built
// from the starting claim table (cluster state, taken as data) and the operator's record of
// membership changes (sim/membership.ts: what was asked, when the cluster acknowledged it),
// with the oracle's own claim model (claims.ts). Checkers read the final ring (where every key
// must live at the end) and, for a request, every ring in effect up to its time (during a
// handoff the old primaries keep serving until cut-over, so either ring's primaries are
// legitimate replicas).
import type { NodeId } from "../../src/core/types.ts";
import { claimsAfter, type ClaimChange } from "./claims.ts";
import { partitionPreference, keyPartition, type Preference } from "./preference.ts";

export interface RingEpoch {
  /** From when this claim table may be in use (-Infinity: the start). */
  readonly fromMs: number;
  readonly owners: readonly NodeId[];
  /** The change that led to it (absent for the starting ring). */
  readonly change?: ClaimChange;
}

/**
 * The rings after each acknowledged change, in acknowledgement order. Each is in use from the
 * first report of it by a node other than the change's subject (the member that took the change
 * routes by it once it is durable there, before anyone else acknowledges it), else from its
 * acknowledgement.
 */
export function ringHistory(start: readonly NodeId[], changes: readonly (ClaimChange & { readonly acceptedAtMs: number | null; readonly carriedAtMs?: number })[]): RingEpoch[] {
  const out: RingEpoch[] = [{ fromMs: -Infinity, owners: start }];
  const accepted = changes.filter((c) => c.acceptedAtMs !== null).sort((a, b) => a.acceptedAtMs! - b.acceptedAtMs!);
  for (const c of accepted) {
    const fromMs = Math.min(c.carriedAtMs ?? c.acceptedAtMs!, c.acceptedAtMs!);
    out.push({ fromMs, owners: claimsAfter(out[out.length - 1]!.owners, { kind: c.kind, node: c.node }), change: { kind: c.kind, node: c.node } });
  }
  return out;
}

/** Every ring a run may go through if each planned change is acknowledged (for bounds fixed before the run). */
export function plannedRings(start: readonly NodeId[], changes: readonly ClaimChange[]): (readonly NodeId[])[] {
  const out: (readonly NodeId[])[] = [start];
  for (const c of changes) out.push(claimsAfter(out[out.length - 1]!, c));
  return out;
}

/** Preference lists over a ring history, memoized per key. */
export class RingHistoryModel {
  private readonly cache = new Map<string, Preference[]>();
  constructor(
    readonly epochs: readonly RingEpoch[],
    private readonly n: number,
  ) {}

  get final(): readonly NodeId[] {
    return this.epochs[this.epochs.length - 1]!.owners;
  }

  private all(key: string): Preference[] {
    let prefs = this.cache.get(key);
    if (prefs === undefined) {
      const p = keyPartition(key, this.final.length);
      prefs = this.epochs.map((e) => partitionPreference(e.owners, this.n, p));
      this.cache.set(key, prefs);
    }
    return prefs;
  }

  /** The key's preference list under the final ring. */
  of(key: string): Preference {
    return this.all(key)[this.epochs.length - 1]!;
  }

  /** Every node that was a primary of the key under a ring in effect at or before atMs. */
  primariesUpTo(key: string, atMs: number): NodeId[] {
    const prefs = this.all(key);
    const out: NodeId[] = [];
    this.epochs.forEach((e, i) => {
      if (e.fromMs <= atMs) for (const x of prefs[i]!.primaries) if (!out.includes(x)) out.push(x);
    });
    return out;
  }
}
