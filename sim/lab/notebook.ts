// The one module the notebooks load (through notebooks/load.cjs): everything a lesson uses,
// re-exported from where it lives, plus two display helpers. Notebooks run on tslab (its own
// TypeScript 5.0, CommonJS), which cannot compile this repository's `.ts` import paths, so
// they load it with tsx's require; nothing here may use import.meta or top-level await.
export { decodeVclock, encodeVclock, clockToJsonText, clockFromJson, compare, mergeAll, formatVclockError } from "../../src/core/versioning/index.ts";
export { fitByName, FIT_NAMES, sample, mean } from "./fits.ts";
export { runWarsModel, evaluateTrial, drawLegs } from "./wars.ts";
export { runPbsOnNode } from "./pbs.ts";
export { measureOnNode, measureModel, publicSummary, ms } from "./summary.ts";
export { consistencyCurve, kStalenessConsistent, percentile, sortedCopy, staleAt, tVisibility } from "./stats.ts";
export { linePlot, type Series } from "./svg.ts";
export { parseScenario, runScenario } from "../scenario.ts";
export { runSeed, shrinkSchedule, replayCommand } from "../seeds.ts";
export { drawWorld, worldSchedule, describeWorld } from "../swarm.ts";
export { runSimulation } from "../run.ts";
export { mecdb } from "../mecdb.ts";
export { BUG_NAMES } from "../../src/core/types.ts";
export { createRing, joinRing, leaveRing, preferenceList, partitionOf } from "../../src/core/ring/index.ts";
export { initialState, applyChange, plannedTransfers, markDone, mergeStates, pendingPartitions, servingPreferences, targetPrimaries, displayedStatus } from "../../src/core/membership/cluster-state.ts";
export { buildModel, parseTraceLines } from "../viz/model.ts";
export { traceToSvg } from "../viz/svg.ts";
export { summariseTransfers, transferSummaryText } from "../viz/transfers.ts";

function escapeHtml(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

/** An HTML table (notebook output that reads well on a repository page). */
export function htmlTable(headers: readonly string[], rows: readonly (readonly (string | number)[])[]): string {
  const cell = (tag: string, v: string | number): string => `<${tag} style="text-align:right;padding:2px 8px">${escapeHtml(String(v))}</${tag}>`;
  return `<table><thead><tr>${headers.map((h) => cell("th", h)).join("")}</tr></thead><tbody>${rows
    .map((r) => `<tr>${r.map((v) => cell("td", v)).join("")}</tr>`)
    .join("")}</tbody></table>`;
}

import type { BugName } from "../../src/core/types.ts";
import type { VersioningMode } from "../../src/core/versioning/types.ts";
import type { SimCluster } from "../cluster.ts";
import { mecdb as sut } from "../mecdb.ts";
import { runSimulation as run, type RunResult } from "../run.ts";
import { applyAction, parseScenario as parse } from "../scenario.ts";

interface ScenarioOverrides {
  readonly seed?: number;
  readonly mode?: VersioningMode;
  readonly bugs?: readonly BugName[];
  readonly antiEntropyIntervalMs?: number;
  /** Extra timed probes (ms since boot), e.g. to watch replicas converge. */
  readonly probe?: (cluster: SimCluster, bootMs: number) => void;
}

/**
 * Runs a scenario given as TOML text (the format of scenarios/*.toml) and returns the whole
 * run: history, final objects per node, node event counts and the checkers' violations.
 */
export function runScenarioText(text: string, o: ScenarioOverrides = {}): RunResult {
  const sc = parse(text, "notebook");
  const c = sc.spec.cluster;
  const cluster = {
    ...c,
    seed: o.seed ?? sc.seed,
    mode: o.mode ?? c.mode,
    bugs: o.bugs ?? c.bugs,
    timings: { ...c.timings, ...(o.antiEntropyIntervalMs !== undefined ? { antiEntropyIntervalMs: o.antiEntropyIntervalMs } : {}) },
  };
  return run(sut, { ...sc.spec, cluster }, { ...sc.rates, episodes: [] }, {}, (cl, _faults, t0) => {
    if (sc.coordinators !== null) cl.clientTargets = sc.coordinators;
    const start = t0 + sc.spec.warmupMs;
    for (const a of sc.actions) cl.sched.at(start + a.atMs, () => applyAction(cl, a));
    o.probe?.(cl, t0);
  });
}
