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
import { RingHistoryModel, convergenceBoundMs, plannedRings, ringHistory, type ClaimChange } from "./oracle/index.ts";
import { MembershipDriver, type MembershipEpisode } from "./membership.ts";
import type { SystemUnderTest } from "./sut.ts";
import { Rng, fnv32 } from "./rng.ts";
import { Tracer, type TraceOptions } from "./trace.ts";
import { Workload, startProbes, startSweep, type WorkloadSpec } from "./workload.ts";

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
  /** Membership episodes (join, leave, remove; sim/membership.ts), times relative to the fault phase. */
  readonly membership?: readonly MembershipEpisode[];
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

/** The run's phases on the simulated clock, the drivers that act in them, and the convergence bound. */
interface Phases {
  readonly faults: FaultDriver;
  readonly workload: Workload;
  readonly end: number;
  readonly owners: ReturnType<SystemUnderTest["ringOwners"]>;
  readonly membership: MembershipDriver;
  readonly boundMs: number;
  readonly quietMs: number;
}

/** What the cluster held when the run (before the probes) ended. */
interface EndState {
  readonly final: ReturnType<SimCluster["snapshot"]>;
  readonly hintsAtEnd: RunRecord["hintsAtEnd"];
  readonly upAtEnd: Set<NodeId>;
  readonly quorums: RunRecord["quorums"];
  readonly minted: RunRecord["minted"];
}

export function runSimulation(sut: SystemUnderTest, spec: RunSpec, schedule: FaultSchedule, trace: TraceOptions = {}, timeline?: Timeline): RunResult {
  const tracer = new Tracer(trace);
  tracer.describe = sut.describe ?? null;
  const cluster = new SimCluster(spec.cluster, sut, tracer);
  trace.attach?.(cluster);
  const sched = cluster.sched;
  const t0 = sched.now;
  if (tracer.on) tracer.emit(t0, "run", null, { spec, schedule }, trace.header);
  cluster.bootAll();
  const phases = schedulePhases(sut, cluster, spec, schedule, tracer, t0, timeline);
  let thrown = runUntilEnd(cluster, phases.end, t0, tracer);
  let atEnd: EndState;
  ({ atEnd, thrown } = endStateOrFinding(sut, cluster, thrown, t0));
  // Availability probes: every node coordinates a put and a get once all is quiet.
  let probes: HistoryOp[] = [];
  if (thrown === null && spec.probes !== false) ({ probes, thrown } = runProbes(cluster, spec, phases.end, t0));
  const record = runRecord(spec, cluster, phases, atEnd, probes, t0);
  const violations = thrown !== null ? [thrown] : checkAll(record);
  if (tracer.on) for (const v of violations) tracer.emit(sched.now, "violation", null, { ...v });
  return {
    violations,
    events: sched.eventsRun,
    simulatedMs: sched.now - t0,
    traceHash: tracer.digest(),
    stats: runStats(cluster, phases, record, thrown !== null),
    history: phases.workload.history,
    cluster,
    record,
  };
}

/** Schedules the fault phase, the scenario's timeline, the workload and the heal. */
function schedulePhases(sut: SystemUnderTest, cluster: SimCluster, spec: RunSpec, schedule: FaultSchedule, tracer: Tracer, t0: number, timeline?: Timeline): Phases {
  const sched = cluster.sched;
  const faults = new FaultDriver(cluster, { wipesMax: spec.wipesMax });
  const faultStart = t0 + spec.warmupMs;
  const healAt = faultStart + spec.faultPhaseMs;
  const readsUntil = healAt + spec.healPhaseMs;
  const owners = sut.ringOwners(cluster.members, spec.cluster.partitionCount);
  const membership = new MembershipDriver(cluster, readsUntil);
  const rings = plannedRings(owners, plannedChanges(cluster, spec.membership ?? []));
  const boundMs = Math.max(...rings.map((o) => convergenceBoundMs(o, spec.cluster.n, spec.cluster.timings)));
  const quietMs = spec.quietAtLeastBound && Number.isFinite(boundMs) ? Math.max(spec.quietMs, boundMs) : spec.quietMs;
  sched.at(faultStart, () => {
    faults.schedule(schedule, faultStart);
    if (spec.storageFaults !== undefined) faults.scheduleStorage(spec.storageFaults, faultStart);
    if (spec.channelFaults !== undefined) faults.scheduleEpisodes(spec.channelFaults, faultStart);
    for (const ep of spec.membership ?? []) membership.schedule(ep, faultStart);
  });
  timeline?.(cluster, faults, t0);
  const workload = new Workload(cluster, spec.workload, cluster.rng.fork("workload"));
  sched.at(faultStart, () => workload.start(healAt, readsUntil));
  const sweepAfterMs = spec.workload.sweepAfterMs;
  if (sweepAfterMs !== undefined) {
    const keys = [...spec.workload.keys, ...(spec.workload.reaperKeys ?? [])];
    const sweeper = spec.workload.clients + (spec.workload.reaperKeys ?? []).length;
    // Its own stream (not a fork of the cluster's, which would shift every later fork).
    sched.at(readsUntil + sweepAfterMs, () => startSweep(workload, keys, sweeper, new Rng(spec.cluster.seed, fnv32("sweep"))));
  }
  sched.at(healAt, () => {
    if (tracer.on) tracer.emit(sched.now, "heal-all", null);
    faults.heal();
  });
  return { faults, workload, end: readsUntil + quietMs, owners, membership, boundMs, quietMs };
}

/** The changes the episodes ask for, as the oracle names them before the run (the first spare joins; indexes into the starting members). */
function plannedChanges(cluster: SimCluster, episodes: readonly MembershipEpisode[]): ClaimChange[] {
  const spares = [...cluster.processes.keys()].filter((id) => !cluster.members.includes(id));
  return episodes.map((ep): ClaimChange => (ep.kind === "join" ? { kind: "join", node: spares.shift() ?? "" } : { kind: ep.kind, node: cluster.members[ep.node % cluster.members.length]! })).filter((c) => c.node !== "");
}

/**
 * Runs the simulation to `end`. A node that throws (a failed assertion: a programmer error) is
 * a finding, not a crash of the simulator: the run stops there and it is returned.
 */
function runUntilEnd(cluster: SimCluster, end: number, t0: number, tracer: Tracer): Violation | null {
  const sched = cluster.sched;
  try {
    sched.runUntil(end);
    return null;
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    const where = (err.stack ?? "").split("\n").slice(1, 4).map((l) => l.trim()).join(" < ");
    if (tracer.on) tracer.emit(sched.now, "exception", null, { message: err.message });
    return { property: "exception", detail: `at +${Math.round(sched.now - t0)}ms: ${err.message}${where ? ` (${where})` : ""}` };
  }
}

/**
 * The end state; a stored object that the binding cannot decode (a node wrote a set its own
 * codec rejects) is a finding of the seed, like a node that throws, not a crash of the swarm.
 */
function endStateOrFinding(sut: SystemUnderTest, cluster: SimCluster, thrown: Violation | null, t0: number): { atEnd: EndState; thrown: Violation | null } {
  try {
    return { atEnd: endState(sut, cluster), thrown };
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    const empty: EndState = { final: new Map(), hintsAtEnd: undefined, upAtEnd: new Set(), quorums: [], minted: [] };
    return { atEnd: empty, thrown: thrown ?? { property: "exception", detail: `at +${Math.round(cluster.sched.now - t0)}ms (end snapshot): a stored object does not decode: ${message}` } };
  }
}

function endState(sut: SystemUnderTest, cluster: SimCluster): EndState {
  return {
    final: cluster.snapshot(),
    hintsAtEnd: sut.readHints ? new Map([...cluster.processes].filter(([id]) => cluster.inCluster(id)).map(([id, p]) => [id, sut.readHints!(p.storage.entries())])) : undefined,
    upAtEnd: new Set([...cluster.processes].filter(([, p]) => p.isUp).map(([id]) => id)),
    quorums: cluster.quorums.slice(),
    minted: cluster.minted.slice(),
  };
}

/** Every node coordinates a put and a get; runs until all have completed (or the client timeout). */
function runProbes(cluster: SimCluster, spec: RunSpec, end: number, t0: number): { probes: HistoryOp[]; thrown: Violation | null } {
  const sched = cluster.sched;
  const probes = startProbes(cluster, spec.workload, cluster.rng.fork("probes"));
  try {
    const all = 2 * cluster.activeMembers().length;
    sched.runUntil(end + 2 * spec.workload.clientTimeoutMs + 1, () => probes.length === all && probes.every((op) => op.completedAtMs !== null));
    return { probes, thrown: null };
  } catch (e) {
    const err = e instanceof Error ? e : new Error(String(e));
    return { probes, thrown: { property: "exception", detail: `at +${Math.round(sched.now - t0)}ms (availability probes): ${err.message}` } };
  }
}

/** The history and the cluster's end state, as the checkers read them. */
function runRecord(spec: RunSpec, cluster: SimCluster, phases: Phases, atEnd: EndState, probes: HistoryOp[], t0: number): RunRecord {
  const changes = phases.membership.changes;
  const preference = new RingHistoryModel(ringHistory(phases.owners, changes), spec.cluster.n);
  const { timings } = spec.cluster;
  return {
    members: cluster.activeMembers(),
    n: spec.cluster.n,
    r: spec.cluster.r,
    w: spec.cluster.w,
    mode: spec.cluster.mode,
    history: phases.workload.history,
    minted: atEnd.minted,
    quorums: atEnd.quorums,
    suspicions: cluster.suspicions,
    wipes: new Map([...cluster.processes].map(([id, p]) => [id, p.storage.wipedAtMs])),
    flips: new Map([...cluster.processes].map(([id, p]) => [id, p.storage.corruptions])),
    ...(atEnd.hintsAtEnd ? { hintsAtEnd: atEnd.hintsAtEnd } : {}),
    upAtEnd: atEnd.upAtEnd,
    hintDeletes: cluster.hintDeletes.deletes,
    probes,
    convergence: { boundMs: phases.boundMs, quietMs: phases.quietMs, readsAfterHeal: spec.workload.afterHeal !== "write" || spec.workload.sweepAfterMs !== undefined },
    replies: cluster.network.replies,
    refusals: cluster.network.refusals,
    exchanges: cluster.aeExchanges.completed,
    faults: {
      settleMs: timings.suspectAfterMs + timings.heartbeatIntervalMs + timings.requestTimeoutMs,
      spans: cluster.faultTimeline(),
      corruptions: [...cluster.processes].flatMap(([id, p]) => p.storage.corruptions.map((c) => ({ ...c, node: id }))),
    },
    startMs: t0,
    final: atEnd.final as ReadonlyMap<NodeId, ReadonlyMap<string, SiblingSet>>,
    primariesOf: (key) => preference.of(key).primaries,
    primariesUpTo: (key, atMs) => preference.primariesUpTo(key, atMs),
    membership: { changes: changes.map((c) => ({ ...c })), rings: preference.epochs, departed: [...cluster.departed] },
    fallbacksOf: (key) => preference.of(key).fallbacks,
  };
}

function runStats(cluster: SimCluster, phases: Phases, record: RunRecord, threw: boolean): RunStats {
  const { history } = phases.workload;
  let ok = 0;
  let failed = 0;
  let unknown = 0;
  for (const op of history) {
    if (op.outcome === "ok") ok++;
    else if (op.outcome === "failed") failed++;
    else if (op.outcome === "unknown") unknown++;
  }
  return {
    ops: history.length,
    ok,
    failed,
    unknown,
    messages: cluster.network.sent,
    dropped: cluster.network.dropped,
    duplicated: cluster.network.duplicated,
    wipes: phases.faults.wipesDone,
    staleReads: threw ? 0 : staleReadCount(record),
    nodeEvents: Object.fromEntries([...cluster.eventCounts].sort()),
  };
}
