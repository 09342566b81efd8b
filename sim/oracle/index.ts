// The oracle: the simulator's own small models, built from the history and the cluster's
// configuration only (never by calling the code under test). causality.ts decides which
// writes supersede which from what clients were shown; preference.ts says where a key lives.
import type { HistoryOp } from "../history.ts";
import { CausalModel } from "./causality.ts";

export { CausalModel, type Coverage, type Superseded } from "./causality.ts";
export { PreferenceModel, preferenceOf, keyPartition, type Preference } from "./preference.ts";

const models = new WeakMap<readonly HistoryOp[], CausalModel>();

/** The causal model of a history (built once per history). */
export function causalModelOf(history: readonly HistoryOp[]): CausalModel {
  let m = models.get(history);
  if (m === undefined) {
    m = new CausalModel(history);
    models.set(history, m);
  }
  return m;
}
export { AE_PAIRS_PER_ROUND, convergenceBoundMs, maxAntiEntropyPairs } from "./bounds.ts";
export { clockNotCovered, dotConflict, holdsNewerThan, isEmptySet, sameContent, sameSet, showSet } from "./sets.ts";
export { claimsAfter, claimsAfterJoin, claimsAfterLeave, type ClaimChange } from "./claims.ts";
export { RingHistoryModel, plannedRings, ringHistory, type RingEpoch } from "./ring-history.ts";
