// One simulated run, start to verdict: boot the cluster, start the clients, drive the fault
// schedule through the fault phase (safety), heal everything and keep reading (healed phase:
// read repair, handoff), let the cluster sit quiet (anti-entropy, convergence: liveness),
// then snapshot every node's durable objects, let every node coordinate one put and one get
// (availability probes, until answered) and run the checkers.
//
//   0 ......... warmupMs ............ heal ............ heal+healPhaseMs ....... end ...... probes answered
//   boot        clients start,        faults end,       clients stop           snapshot   checkers
//               faults begin          writes stop       quiet period
import type { NodeId } from "../src/core/types.ts";
import type { SiblingSet } from "../src/core/versioning/types.ts";
import { checkAll, staleReadCount, type RunRecord, type Violation } from "./checkers/index.ts";
import { SimCluster, type ClusterSpec } from "./cluster.ts";
import { FaultDriver, type Episode, type FaultSchedule, type StorageFaultPlan } from "./faults.ts";
import type { HistoryOp } from "./history.ts";
import { PreferenceModel, convergenceBoundMs } from "./oracle/index.ts";
import type { SystemUnderTest } from "./sut.ts";
import { Tracer, type TraceOptions } from "./trace.ts";
import { Workload, startProbes, type WorkloadSpec } from "./workload.ts";

export interface RunSpec {
  readonly cluster: ClusterSpec;
  readonly workload: WorkloadSpec;
  readonly warmupMs: number;
  readonly faultPhaseMs: number;
  readonly healPhaseMs: number;
  readonly quietMs: number;
  /** Stretch the quiet period to the convergence bound the config implies (sim/oracle/bounds.ts). */
  readonly quietAtLeastBound?: boolean;
  readonly wipesMax: number;
  /** After the quiet period, every node coordinates a put and a get that must succeed (default true). */
  readonly probes?: boolean;
  /** Write errors, disk-full episodes and corrupted objects (none when absent). */
  readonly storageFaults?: StorageFaultPlan;
  /** Channel fault episodes (data-cut, control-cut, data-busy) the swarm draws from their own stream; times relative to the fault phase. */
  readonly channelFaults?: readonly Episode[];
}

export interface RunStats {
  readonly ops: number;
  readonly ok: number;
  readonly failed: number;
  readonly unknown: number;
  readonly messages: number;
  readonly dropped: number;
  readonly duplicated: number;
  readonly wipes: number;
  /** Gets that missed an acknowledged write where sloppy or non-overlapping quorums allow it. */
  readonly staleReads: number;
  readonly nodeEvents: Readonly<Record<string, number>>;
}

export interface RunResult {
  readonly violations: Violation[];
  readonly events: number;
  readonly simulatedMs: number;
  readonly traceHash: string;
  readonly stats: RunStats;
  readonly history: readonly HistoryOp[];
  readonly cluster: SimCluster;
  readonly record: RunRecord;
}

/** Hook for scenarios: extra timed actions on the cluster (ms since boot). */
type Timeline = (cluster: SimCluster, faults: FaultDriver, startMs: number) => void;

export function runSimulation(sut: SystemUnderTest, spec: RunSpec, schedule: FaultSchedule, trace: TraceOptions = {}, timeline?: Timeline): RunResult {
  const tracer = new Tracer(trace);
  tracer.describe = sut.describe ?? null;
  const cluster = new SimCluster(spec.cluster, sut, tracer);
  trace.attach?.(cluster);
  const sched = cluster.sched;
  const t0 = sched.now;
  if (tracer.on) tracer.emit(t0, "run", null, { spec, schedule }, trace.header);
  cluster.bootAll();
  const faults = new FaultDriver(cluster, { wipesMax: spec.wipesMax });
  const faultStart = t0 + spec.warmupMs;
  const healAt = faultStart + spec.faultPhaseMs;
  const readsUntil = healAt + spec.healPhaseMs;
  const owners = sut.ringOwners(cluster.members, spec.cluster.partitionCount);
  const boundMs = convergenceBoundMs(owners, spec.cluster.n, spec.cluster.timings);
  const quietMs = spec.quietAtLeastBound && Number.isFinite(boundMs) ? Math.max(spec.quietMs, boundMs) : spec.quietMs;
  const end = readsUntil + quietMs;
  sched.at(faultStart, () => {
    faults.schedule(schedule, faultStart);
    if (spec.storageFaults !== undefined) faults.scheduleStorage(spec.storageFaults, faultStart);
    if (spec.channelFaults !== undefined) faults.scheduleEpisodes(spec.channelFaults, faultStart);
  });
  timeline?.(cluster, faults, t0);
  const workload = new Workload(cluster, spec.workload, cluster.rng.fork("workload"));
  sched.at(faultStart, () => workload.start(healAt, readsUntil));
  sched.at(healAt, () => {
    if (tracer.on) tracer.emit(sched.now, "heal-all", null);
    faults.heal();
  });
  // A node that throws (a failed assertion: a programmer error) is a finding, not a crash of
  // the simulator: the run stops there and reports it with its seed.
  let thrown: Violation | null = null;
  try {
    sched.runUntil(end);
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const where = (err.stack ?? "").split("\n").slice(1, 4).map((l) => l.trim()).join(" < ");
    thrown = { property: "exception", detail: `at +${Math.round(sched.now - t0)}ms: ${err.message}${where ? ` (${where})` : ""}` };
    if (tracer.on) tracer.emit(sched.now, "exception", null, { message: err.message });
  }

  const final = cluster.snapshot();
  const hintsAtEnd = sut.readHints ? new Map([...cluster.processes].map(([id, p]) => [id, sut.readHints!(p.storage.entries())])) : undefined;
  const upAtEnd = new Set([...cluster.processes].filter(([, p]) => p.isUp).map(([id]) => id));
  // Availability probes: every node coordinates a put and a get once all is quiet.
  let probes: HistoryOp[] = [];
  const quorums = cluster.quorums.slice();
  const minted = cluster.minted.slice();
  if (thrown === null && spec.probes !== false) {
    probes = startProbes(cluster, spec.workload, cluster.rng.fork("probes"));
    try {
      const all = 2 * cluster.members.length;
      sched.runUntil(end + 2 * spec.workload.clientTimeoutMs + 1, () => probes.length === all && probes.every((op) => op.completedAtMs !== null));
    } catch (e) {
      const err = e instanceof Error ? e : new Error(String(e));
      thrown = { property: "exception", detail: `at +${Math.round(sched.now - t0)}ms (availability probes): ${err.message}` };
    }
  }
  const preference = new PreferenceModel(owners, spec.cluster.n);
  const record: RunRecord = {
    members: cluster.members,
    n: spec.cluster.n,
    r: spec.cluster.r,
    w: spec.cluster.w,
    mode: spec.cluster.mode,
    history: workload.history,
    minted,
    quorums,
    suspicions: cluster.suspicions,
    wipes: new Map([...cluster.processes].map(([id, p]) => [id, p.storage.wipedAtMs])),
    flips: new Map([...cluster.processes].map(([id, p]) => [id, p.storage.corruptions])),
    ...(hintsAtEnd ? { hintsAtEnd } : {}),
    upAtEnd,
    probes,
    convergence: { boundMs, quietMs, readsAfterHeal: spec.workload.afterHeal !== "write" },
    replies: cluster.network.replies,
    exchanges: cluster.aeExchanges.completed,
    faults: {
      settleMs: spec.cluster.timings.suspectAfterMs + spec.cluster.timings.heartbeatIntervalMs + spec.cluster.timings.requestTimeoutMs,
      spans: cluster.faultTimeline(),
      corruptions: [...cluster.processes].flatMap(([id, p]) => p.storage.corruptions.map((c) => ({ ...c, node: id }))),
    },
    startMs: t0,
    final: final as ReadonlyMap<NodeId, ReadonlyMap<string, SiblingSet>>,
    primariesOf: (key) => preference.of(key).primaries,
    fallbacksOf: (key) => preference.of(key).fallbacks,
  };
  const violations = thrown !== null ? [thrown] : checkAll(record);
  let ok = 0;
  let failed = 0;
  let unknown = 0;
  for (const op of workload.history) {
    if (op.outcome === "ok") ok++;
    else if (op.outcome === "failed") failed++;
    else if (op.outcome === "unknown") unknown++;
  }
  if (tracer.on) for (const v of violations) tracer.emit(sched.now, "violation", null, { ...v });
  return {
    violations,
    events: sched.eventsRun,
    simulatedMs: sched.now - t0,
    traceHash: tracer.digest(),
    stats: {
      ops: workload.history.length,
      ok,
      failed,
      unknown,
      messages: cluster.network.sent,
      dropped: cluster.network.dropped,
      duplicated: cluster.network.duplicated,
      wipes: faults.wipesDone,
      staleReads: thrown !== null ? 0 : staleReadCount(record),
      nodeEvents: Object.fromEntries([...cluster.eventCounts].sort()),
    },
    history: workload.history,
    cluster,
    record,
  };
}
