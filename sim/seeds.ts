// Running swarm seeds: one seed end to end (draw the world and schedule, run, check, and for
// the determinism checker optionally run again and compare trace hashes), shrinking a failure's fault
// schedule through fast-check, and the command line that replays a seed.
import fc from "fast-check";
import type { BugName } from "../src/core/types.ts";
import type { VersioningMode } from "../src/core/versioning/types.ts";
import { checkDeterminism, type Property, type Violation } from "./checkers/index.ts";
import type { FaultSchedule } from "./faults.ts";
import { runSimulation, type RunResult } from "./run.ts";
import type { SystemUnderTest } from "./sut.ts";
import { describeWorld, drawWorld, worldSchedule, type SwarmWorld } from "./swarm.ts";
import type { TraceOptions } from "./trace.ts";
import { nameSchedule } from "./viz/schedule-names.ts";

export interface SeedOptions {
  readonly bugs?: readonly BugName[];
  readonly mode?: VersioningMode;
  /** Replaces the schedule the seed would draw (replaying a shrunk schedule). */
  readonly schedule?: FaultSchedule;
  readonly trace?: TraceOptions;
  /** Run the seed a second time and compare trace hashes (the determinism checker). */
  readonly determinism?: boolean;
}

export interface SeedOutcome {
  readonly seed: number;
  readonly config: string;
  readonly schedule: FaultSchedule;
  readonly violations: Violation[];
  readonly events: number;
  readonly simulatedMs: number;
  readonly wallMs: number;
  readonly traceHash: string;
  readonly stats: RunResult["stats"];
}

export function runSeed(sut: SystemUnderTest, seed: number, options: SeedOptions = {}): SeedOutcome {
  const started = performance.now();
  const world = drawWorld(seed, { ...(options.bugs ? { bugs: options.bugs } : {}), ...(options.mode ? { mode: options.mode } : {}) });
  const schedule = options.schedule ?? worldSchedule(world);
  const trace: TraceOptions = options.determinism ? { ...options.trace, hash: true } : (options.trace ?? {});
  const result = runSimulation(sut, world.spec, schedule, trace);
  const violations = [...result.violations];
  // events / simulatedMs describe one run (a determinism re-run is not counted twice).
  const events = result.events;
  const simulatedMs = result.simulatedMs;
  if (options.determinism) {
    const again = runSimulation(sut, world.spec, schedule, { hash: true });
    violations.push(...checkDeterminism(seed, result.traceHash, again.traceHash));
  }
  return {
    seed,
    config: describeWorld(world),
    schedule,
    violations,
    events,
    simulatedMs,
    wallMs: performance.now() - started,
    traceHash: result.traceHash,
    stats: result.stats,
  };
}

interface ShrinkResult {
  readonly schedule: FaultSchedule;
  readonly violation: Violation;
  readonly runs: number;
  readonly interrupted: boolean;
}

/**
 * Shrinks a failing schedule with fast-check: the failing schedule is given as an example,
 * the property is "no violation of the same kind", and fast-check's shrinker removes and
 * simplifies episodes while the failure persists. Bounded by steps, not wall time: after
 * maxRuns simulations it stops (keeping the smallest failing schedule found so far), so a
 * shrunk schedule is the same on every machine.
 */
export function shrinkSchedule(sut: SystemUnderTest, world: SwarmWorld, schedule: FaultSchedule, property: Property, maxRuns: number): ShrinkResult | null {
  let runs = 0;
  let last: { schedule: FaultSchedule; violation: Violation } | null = null;
  const result = fc.check(
    fc.property(world.arbitrary, (candidate) => {
      if (runs >= maxRuns) return true; // out of steps: stop shrinking here
      runs++;
      const found = runSimulation(sut, world.spec, candidate).violations.find((v) => v.property === property);
      if (found === undefined) return true;
      last = { schedule: candidate, violation: found };
      return false;
    }),
    { seed: world.seed, numRuns: 1, examples: [[schedule]] },
  );
  const best = last as { schedule: FaultSchedule; violation: Violation } | null;
  if (!result.failed || best === null) return null;
  return { schedule: best.schedule, violation: best.violation, runs, interrupted: runs >= maxRuns };
}

/** The command that replays a seed (and, if given, a shrunk schedule; with members, named: "n3"). */
export function replayCommand(seed: number, bugs: readonly BugName[] = [], schedule?: FaultSchedule, members?: readonly string[]): string {
  const bug = bugs.map((b) => ` --bug ${b}`).join("");
  const sched = schedule ? ` --schedule '${JSON.stringify(members ? nameSchedule(members, schedule) : schedule)}'` : "";
  return `npx mec sim --seed ${seed}${bug}${sched}`;
}
