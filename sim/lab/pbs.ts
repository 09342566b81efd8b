// The quorum lab on the real node: PBS (Bailis et al., VLDB 2012) measured by running
// MecDB's node code (src/core through NodeHost) in the simulator, with every WARS leg drawn
// from a fit and put onto the node's real events. Each trial writes a fresh key, waits for the
// client's acknowledgement (the commit), reads the key t0 ms later, and records from the real
// events: when the write reached each replica (its `replicate` arrived; storage takes 0 ms, so
// it is applied then; the native minting node: its own storage write), when the read's request
// reached each replica, and which replicas the coordinator's answer merged. From those
// the trial's staleness threshold T* follows (a read started t ms after the commit is stale
// exactly when t < T*); the real read at t0 must agree with it (`mismatches` counts trials
// where it did not: it is 0 unless the mapping below is broken).
//
// Leg -> event mapping (storage operations take 0 ms: each fit's W already includes the apply):
//   W_i  delay of the `replicate` message from the minting replica to replica i
//   A_i  delay of its `replicate-ack`
//   R_i  delay of the coordinator's `get` to replica i
//   S_i  delay of replica i's `get-reply`
//   `repair` messages are held 10^6 ms (PBS models no read repair); all others take 0 ms.
//   WAN: +75 ms on each of these legs when replica i is not in the request's datacenter.
//
// Two paths:
//   native  N nodes, n=N, r=R, w=W: the client writes to a random node, which (a primary)
//           mints the dot, applies it locally and replicates to the other N-1; reads go to a
//           random node, which reads its own copy locally. So the coordinator's replica has
//           W = A = 0 (write) and R = S = 0 (read): MecDB's real write path.
//   wars    the configuration in which the node's path coincides with WARS: N+2 nodes, n=N+1,
//           w=W+1, r=R. For each key one node is not a primary: the client's proxy (the
//           coordinator, as in WARS). The first primary mints (forward and reply 0 ms, storage
//           0 ms, its own ack counts at once, so "W+1 acks" = "W acks of the N others"); it
//           stands for WARS's write coordinator, not a replica: its `get` is held 10^6 ms, so
//           a read uses the first R of the N real replicas. Write and read then go to all N
//           replicas at once with independent legs: exactly the WARS model.
import type { NodeId } from "../../src/core/types.ts";
import { decodeMessage } from "../../src/core/messages.ts";
import { parseObjectKey } from "../../src/core/replica/keys.ts";
import type { StorageOp } from "../../src/core/types.ts";
import { SimCluster, type ClusterSpec } from "../cluster.ts";
import { mecdb } from "../mecdb.ts";
import { Rng, fnv32 } from "../rng.ts";
import { Tracer } from "../trace.ts";
import { sample, type Fit, type Leg } from "./fits.ts";
import type { TrialOutcome } from "./wars.ts";

export type LabPath = "wars" | "native";

interface PbsOptions {
  readonly fit: Fit;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly trials: number;
  readonly seed: number;
  readonly path: LabPath;
  /** Called every progressEvery completed trials. */
  readonly onProgress?: (done: number, total: number) => void;
  readonly progressEvery?: number;
}

export interface PbsRun {
  readonly outcomes: TrialOutcome[];
  /** Real reads that returned an old value (at their own t0). */
  readonly staleReads: number;
  /** Trials whose real read disagreed with the threshold computed from the events (must be 0). */
  readonly mismatches: number;
  /** Writes or reads that failed (none expected: nothing fails in the lab). */
  readonly failed: number;
  readonly events: number;
}

/** Delays that keep a message out of every trial's window. */
const HELD_MS = 1_000_000;
/** A trial starts every TRIAL_SPACING_MS; trials overlap freely (distinct keys, no shared queue). */
const TRIAL_SPACING_MS = 10;
/** The real read of trial i starts T0_GRID_MS[i % length] ms after the commit. */
const T0_GRID_MS = [0, 0.5, 2, 10, 50];

interface Trial {
  readonly key: string;
  readonly value: string;
  readonly writeCoord: NodeId;
  readonly readCoord: NodeId;
  /** The minting replica on the wars path (held out of reads), else null. */
  readonly minter: NodeId | null;
  /** Datacenter of each replica; the write's and the read's datacenter (WAN). */
  readonly dcOf: ReadonlyMap<NodeId, number>;
  readonly writeDc: number;
  readonly readDc: number;
  readonly t0Ms: number;
  /** First storage write of the key per node (the mint, on the minting node). */
  readonly applied: Map<NodeId, number>;
  /** When the write's `replicate` reached each replica (applied there at once: storage is 0 ms). */
  readonly replicateArrival: Map<NodeId, number>;
  readonly getArrival: Map<NodeId, number>;
  writeStartMs: number;
  commitMs: number;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** What the lab's delay hooks share: the trials by key and by request id, and the simulated clock. */
interface LabBook {
  readonly byKey: Map<string, Trial>;
  readonly byReq: Map<string, Trial>;
  readonly now: () => number;
}

/** A finished read, scored once the run is over. */
interface DoneRead {
  readonly trial: Trial;
  readonly readStartMs: number;
  readonly readLatencyMs: number;
  readonly seen: boolean;
  readonly used: readonly NodeId[];
}

export function runPbsOnNode(opts: PbsOptions): PbsRun {
  const wars = opts.path === "wars";
  const rng = new Rng(opts.seed, fnv32("pbs-lab"));
  const legRng = rng.fork("legs");
  const planRng = rng.fork("plan");
  let clusterRef: SimCluster | null = null;
  const book: LabBook = { byKey: new Map(), byReq: new Map(), now: () => clusterRef!.sched.now };
  const spec = labSpec(opts, messageDelayFor(book, opts.fit, legRng), storageDelayFor(book));
  const cluster = new SimCluster(spec, mecdb, new Tracer({}));
  clusterRef = cluster;
  cluster.bootAll();
  const { done, failed } = runTrials(cluster, spec, opts, book, planRng);
  return { ...scoreReads(done, wars), failed, events: cluster.sched.eventsRun };
}

/** Delays each trial's messages by its WARS legs (recording arrivals); holds repairs; others 0 ms. */
function messageDelayFor(book: LabBook, fit: Fit, legRng: Rng): (from: NodeId, to: NodeId, bytes: Uint8Array) => number {
  const { byKey, byReq, now } = book;
  const leg = (trial: Trial, which: Leg, replica: NodeId, dc: number): number => {
    const extra = trial.dcOf.get(replica) === dc ? 0 : fit.remoteExtraMs;
    return sample(fit.legs[which], legRng) + extra;
  };
  return (from, to, bytes) => {
    const info = mecdb.describeMessage(bytes);
    if (info === null) return 0;
    switch (info.type) {
      case "replicate": {
        const msg = decodeMessage(bytes);
        const trial = "key" in msg ? byKey.get(msg.key) : undefined;
        if (trial === undefined) return 0;
        byReq.set(info.reqId ?? "", trial);
        const d = leg(trial, "W", to, trial.writeDc);
        if (!trial.replicateArrival.has(to)) trial.replicateArrival.set(to, now() + d);
        return d;
      }
      case "replicate-ack": {
        const trial = byReq.get(info.reqId ?? "");
        return trial === undefined ? 0 : leg(trial, "A", from, trial.writeDc);
      }
      case "get": {
        const msg = decodeMessage(bytes);
        const trial = "key" in msg ? byKey.get(msg.key) : undefined;
        if (trial === undefined) return 0;
        if (to === trial.minter) return HELD_MS;
        byReq.set(info.reqId ?? "", trial);
        const d = leg(trial, "R", to, trial.readDc);
        trial.getArrival.set(to, now() + d);
        return d;
      }
      case "get-reply": {
        const trial = byReq.get(info.reqId ?? "");
        return trial === undefined || from === trial.minter ? 0 : leg(trial, "S", from, trial.readDc);
      }
      case "repair":
        return HELD_MS;
      default:
        return 0;
    }
  };
}

/** Storage takes 0 ms; records the first storage write of each trial's key per node. */
function storageDelayFor(book: LabBook): (node: string, op: StorageOp) => number {
  return (node, op) => {
    const keys = op.type === "put" ? [op.key] : op.type === "batch" ? op.puts.map(([k]) => k) : [];
    for (const sk of keys) {
      const parsed = parseObjectKey(sk);
      const trial = parsed === null ? undefined : book.byKey.get(parsed.key);
      if (trial !== undefined && !trial.applied.has(node)) trial.applied.set(node, book.now());
    }
    return 0;
  };
}

/** The simulated cluster for a path: no failure detection, handoff or anti-entropy to interfere. */
function labSpec(opts: PbsOptions, messageDelay: (from: NodeId, to: NodeId, bytes: Uint8Array) => number, storageDelay: (node: string, op: StorageOp) => number): ClusterSpec {
  const { n, r, w } = opts;
  const wars = opts.path === "wars";
  return {
    seed: opts.seed,
    size: wars ? n + 2 : n,
    n: wars ? n + 1 : n,
    r,
    w: wars ? w + 1 : w,
    mode: "dvv",
    partitionCount: 64,
    bugs: [],
    timings: {
      requestTimeoutMs: 10 * HELD_MS,
      heartbeatIntervalMs: 1e9,
      suspectAfterMs: 1e10,
      handoffIntervalMs: 1e9,
      antiEntropyIntervalMs: 0,
      reapDelayMs: null,
    },
    latency: { baseMinMs: 0, baseMaxMs: 0, jitterMs: 0, spikeRate: 0, spikeMs: 0, sampleMs: messageDelay },
    storage: { readMinMs: 0, readMaxMs: 0, writeMinMs: 0, writeMaxMs: 0, sampleMs: storageDelay },
  };
}

/** Trial i's key, coordinators and datacenters (drawn from `planRng`). */
function planTrial(i: number, cluster: SimCluster, spec: ClusterSpec, opts: PbsOptions, planRng: Rng): Trial {
  const { n, fit } = opts;
  const wars = opts.path === "wars";
  const key = `pbs-${i}`;
  const primaries = mecdb.primaries(cluster.members, spec.partitionCount, spec.n, key);
  const wan = fit.remoteExtraMs > 0;
  // Replicas in datacenter order: wars = the N primaries after the minting one; native = all N.
  const replicas = wars ? primaries.slice(1) : cluster.members;
  const writeDc = wan || !wars ? planRng.int(0, n - 1) : -1;
  const readDc = wan || !wars ? planRng.int(0, n - 1) : -1;
  const proxy = cluster.members.find((m) => !primaries.includes(m)) ?? null;
  return {
    key,
    value: `${key}=v`,
    writeCoord: wars ? proxy! : replicas[writeDc]!,
    readCoord: wars ? proxy! : replicas[readDc]!,
    minter: wars ? primaries[0]! : null,
    dcOf: new Map(replicas.map((node, dc) => [node, dc])),
    writeDc,
    readDc,
    t0Ms: T0_GRID_MS[i % T0_GRID_MS.length]!,
    applied: new Map(),
    replicateArrival: new Map(),
    getArrival: new Map(),
    writeStartMs: 0,
    commitMs: 0,
  };
}

/** Runs every trial (write, wait for the commit, read t0 ms later) to the end of the simulation. */
function runTrials(cluster: SimCluster, spec: ClusterSpec, opts: PbsOptions, book: LabBook, planRng: Rng): { done: DoneRead[]; failed: number } {
  const { now } = book;
  let failed = 0;
  let finished = 0;
  const every = opts.progressEvery ?? 10_000;
  const finish = (): void => {
    finished++;
    if (opts.onProgress !== undefined && finished % every === 0) opts.onProgress(finished, opts.trials);
  };
  // A trial's threshold needs every replica's apply time, some of which come after its read:
  // it is computed once the run is over.
  const done: DoneRead[] = [];
  const read = (trial: Trial): void => {
    const readStartMs = now();
    cluster.process(trial.readCoord).request({ type: "get", key: trial.key }, (out) => {
      finish();
      if (!out.ok || out.type !== "get") {
        failed++;
        return;
      }
      const seen = out.set?.siblings.some((s) => s.value !== null && decoder.decode(s.value) === trial.value) ?? false;
      done.push({ trial, readStartMs, readLatencyMs: now() - readStartMs, seen, used: out.replicas });
    });
  };
  const start = (i: number): void => {
    const trial = planTrial(i, cluster, spec, opts, planRng);
    book.byKey.set(trial.key, trial);
    trial.writeStartMs = now();
    const op = { type: "put" as const, key: trial.key, value: encoder.encode(trial.value), contentType: "text/plain", context: null };
    cluster.process(trial.writeCoord).request(op, (out) => {
      if (!out.ok) {
        failed++;
        finish();
        return;
      }
      trial.commitMs = now();
      cluster.sched.after(trial.t0Ms, () => read(trial));
    });
  };
  const t0 = cluster.sched.now + 100; // after boot
  for (let i = 0; i < opts.trials; i++) cluster.sched.at(t0 + i * TRIAL_SPACING_MS, () => start(i));
  cluster.sched.runUntil(t0 + opts.trials * TRIAL_SPACING_MS + 3 * HELD_MS);
  return { done, failed };
}

/** Each read's staleness threshold T* from the recorded events, and whether the real read agreed. */
function scoreReads(done: readonly DoneRead[], wars: boolean): { outcomes: TrialOutcome[]; staleReads: number; mismatches: number } {
  const outcomes: TrialOutcome[] = [];
  let staleReads = 0;
  let mismatches = 0;
  for (const d of done) {
    const { trial } = d;
    let threshold = Infinity;
    for (const node of d.used) {
      const arrival = node === trial.readCoord ? d.readStartMs : trial.getArrival.get(node);
      if (arrival === undefined) throw new Error(`pbs lab: no recorded get arrival at ${node} for ${trial.key}`);
      // A replica holds the write from its replicate's arrival; the native minting node from its
      // own storage write. (Not "first storage write" everywhere: a native read coordinator
      // repairs its own stale copy locally when its read finishes, with no message to hold.)
      const applied = (node === trial.writeCoord && !wars ? trial.applied.get(node) : trial.replicateArrival.get(node)) ?? Infinity;
      threshold = Math.min(threshold, applied - trial.commitMs - (arrival - d.readStartMs));
    }
    if (!d.seen) staleReads++;
    if (!d.seen !== trial.t0Ms < threshold) mismatches++;
    outcomes.push({ thresholdMs: threshold, writeLatencyMs: trial.commitMs - trial.writeStartMs, readLatencyMs: d.readLatencyMs });
  }
  return { outcomes, staleReads, mismatches };
}
