// The checkers, in the order sim/README.md numbers them. Checker 6 (same seed, same trace) is not
// a function of one run: sim/seeds.ts runs a seed twice and gives both hashes to determinism.ts.
import { checkConvergence } from "./convergence.ts";
import { checkDeterminism } from "./determinism.ts";
import { checkFinalSiblings } from "./final-siblings.ts";
import { checkLostWrites } from "./lost-writes.ts";
import { checkQuorums } from "./quorum.ts";
import { checkUniqueDots } from "./unique-dots.ts";
import { checkReads, staleReadCount } from "./reads.ts";
import { checkHintsDrained } from "./hints.ts";
import { checkAntiEntropy } from "./anti-entropy.ts";
import { availabilityJudged, checkAvailability } from "./availability.ts";
import { checkHandoff } from "./handoff.ts";
import type { Checker, RunRecord, Violation } from "./types.ts";

const CHECKERS: readonly Checker[] = [checkLostWrites, checkFinalSiblings, checkUniqueDots, checkQuorums, checkConvergence, checkReads, checkHintsDrained, checkAntiEntropy, checkAvailability, checkHandoff];

export function checkAll(run: RunRecord): Violation[] {
  return CHECKERS.flatMap((check) => check(run));
}

export { availabilityJudged, checkAntiEntropy, checkAvailability, checkHandoff, checkConvergence, checkDeterminism, checkFinalSiblings, checkHintsDrained, checkLostWrites, checkQuorums, checkReads, checkUniqueDots, staleReadCount };
export type { Checker, FaultSpan, FaultTimeline, Property, RunRecord, Violation } from "./types.ts";
export { PROPERTIES } from "./types.ts";
