// A simulated cluster: the scheduler, the network, one SimProcess per node, and the record
// of node events the checkers read (minted dots, quorums, counts per event type). Nodes are
// named n1..nK; a node's PRNG seed on each boot derives from the run seed, the node and the
// boot number, so restarts are as reproducible as everything else.
import type { BugName, NodeConfig, NodeEvent, NodeId } from "../src/core/types.ts";
import type { SiblingSet, VersioningMode } from "../src/core/versioning/types.ts";
import { Rng, fnv32 } from "./rng.ts";
import { Scheduler } from "./scheduler.ts";
import { SimNetwork, type LatencyModel } from "./network.ts";
import { SimStorage, type StorageLatency } from "./storage.ts";
import { SimProcess } from "./process.ts";
import type { SystemUnderTest } from "./sut.ts";
import { Tracer } from "./trace.ts";
import { EXACT_CLOCK, NodeClock, drawNodeClock, type ClockSpread } from "./clock.ts";
import { AeExchangeLog } from "./ae-exchanges.ts";
import { HintDeleteLog } from "./hint-deletes.ts";
import { LEFT_LINGER_HEARTBEATS } from "../src/core/membership/membership.ts";

/** The node timing knobs a simulated cluster sets (the same fields as NodeConfig). */
type NodeTimings = Pick<
  NodeConfig,
  "requestTimeoutMs" | "heartbeatIntervalMs" | "suspectAfterMs" | "handoffIntervalMs" | "antiEntropyIntervalMs" | "reapDelayMs"
>;

export interface ClusterSpec {
  readonly seed: number;
  readonly size: number;
  readonly n: number;
  readonly r: number;
  readonly w: number;
  readonly mode: VersioningMode;
  readonly partitionCount: number;
  readonly bugs: readonly BugName[];
  readonly timings: NodeTimings;
  readonly latency: LatencyModel;
  readonly storage: StorageLatency;
  /** Per-node wall clocks drawn within this spread; absent = every clock exact. */
  readonly clocks?: ClockSpread | undefined;
  /**
   * The nodes' `sync` setting (default true). With false, completed writes stay in the page
   * cache for WRITEBACK_MS and a machine crash may lose a suffix of them (sim/storage.ts).
   */
  readonly sync?: boolean;
  /**
   * Machines beyond `size` that start switched off (named after the members: n{size+1}, ...):
   * a membership episode boots one to join the running cluster (sim/membership.ts).
   */
  readonly spares?: number;
}

/** With sync = false: how long the simulated OS keeps a completed write before writing it back. */
const WRITEBACK_MS = 2000;

export interface MintedDot {
  readonly node: NodeId;
  readonly atMs: number;
  readonly key: string;
  readonly actor: string;
  readonly counter: number;
  /**
   * Set when the minting machine crashed before the dot left its memory (no durable write,
   * no message, no reply carried it): such a dot never existed anywhere, and minting it again
   * is harmless. Checker 3 ignores retracted mints.
   */
  retracted?: boolean;
}

export interface QuorumRecord {
  readonly node: NodeId;
  readonly atMs: number;
  readonly op: "get" | "put" | "delete";
  readonly reqId: string;
  readonly key: string;
  readonly needed: number;
  readonly replicas: readonly NodeId[];
}

/** A span during which `node` suspected `peer` (closed by unsuspect, or by node's reboot). */
export interface Suspicion {
  readonly node: NodeId;
  readonly peer: NodeId;
  readonly fromMs: number;
  toMs: number | null;
}

export class SimCluster {
  readonly sched = new Scheduler();
  readonly rng: Rng;
  readonly network: SimNetwork;
  readonly members: NodeId[];
  readonly processes = new Map<NodeId, SimProcess>();
  /** Each node's wall clock (drawn from its own stream, so other draws do not shift). */
  readonly clocks = new Map<NodeId, NodeClock>();
  readonly minted: MintedDot[] = [];
  readonly quorums: QuorumRecord[] = [];
  readonly suspicions: Suspicion[] = [];
  /** Open suspicions per node, by peer. */
  private readonly openSuspicions = new Map<NodeId, Map<NodeId, Suspicion>>();
  readonly eventCounts = new Map<string, number>();
  /** When each node event happened (simulated ms), per type (scenario expectations with a time window). */
  readonly eventTimes = new Map<string, number[]>();
  /** Node events with a key, per key and type (scenario expectations). */
  readonly keyEventCounts = new Map<string, number>();
  maxSiblings = new Map<string, number>();
  /** Anti-entropy exchanges with both replicas' stored objects at their begin and completion. */
  readonly aeExchanges: AeExchangeLog;
  /** Every hint a node deleted, with what its target held then (sim/hint-deletes.ts). */
  readonly hintDeletes: HintDeleteLog;
  /** When each node reported ready (boot finished). */
  readonly readyAtMs = new Map<NodeId, number[]>();
  /** When each node was booted. */
  readonly bootAtMs = new Map<NodeId, number[]>();
  /** Every fault that took effect (the availability checker reads them); toMs: its end. */
  readonly faultSpans: { readonly fromMs: number; toMs: number; readonly what: string; readonly tag: string }[] = [];

  /** Records a fault that starts now and lasts durMs (Infinity: until endFaults closes it). */
  noteFault(what: string, durMs: number, tag = ""): void {
    this.faultSpans.push({ fromMs: this.sched.now, toMs: this.sched.now + durMs, what, tag });
  }

  /** Ends now every recorded fault whose tag starts with tagPrefix ("" = all: the heal). */
  endFaults(tagPrefix: string): void {
    for (const s of this.faultSpans) if (s.tag.startsWith(tagPrefix)) s.toMs = Math.min(s.toMs, this.sched.now);
  }

  /** Faults, restarts until ready included, as spans. */
  faultTimeline(): { fromMs: number; toMs: number; what: string }[] {
    const out = this.faultSpans.map((s) => ({ fromMs: s.fromMs, toMs: s.toMs, what: s.what }));
    for (const [id, boots] of this.bootAtMs) {
      const ready = this.readyAtMs.get(id) ?? [];
      for (const b of boots) out.push({ fromMs: b, toMs: ready.find((r) => r >= b) ?? Infinity, what: `${id} booting` });
    }
    return out;
  }
  private writeAckWaiters: (() => void)[] = [];

  /** Runs fn once, when the next client write is acknowledged (a nemesis that aims). */
  onNextWriteAck(fn: () => void): void {
    this.writeAckWaiters.push(fn);
  }

  /** Called by the workload for every acknowledged write. */
  writeAcked(): void {
    if (this.writeAckWaiters.length === 0) return;
    const waiters = this.writeAckWaiters;
    this.writeAckWaiters = [];
    for (const fn of waiters) fn();
  }

  /** Nodes the clients send requests to (scenarios can restrict it); all members by default. */
  clientTargets: readonly NodeId[];
  /** Spare machines booted to join, with the one member each was told about. */
  readonly joining = new Map<NodeId, NodeId>();
  /** Members that left (their process exited after handing off) or were removed: never booted again. */
  readonly departed = new Set<NodeId>();
  /** Every ring-changed event (the membership driver reads them as the operator's acknowledgements). */
  onRingChanged: ((node: NodeId, event: Extract<NodeEvent, { type: "ring-changed" }>) => void) | null = null;

  constructor(
    readonly spec: ClusterSpec,
    readonly sut: SystemUnderTest,
    readonly tracer: Tracer,
  ) {
    this.rng = new Rng(spec.seed, fnv32("cluster"));
    this.aeExchanges = new AeExchangeLog(sut, (id) => this.process(id));
    this.hintDeletes = new HintDeleteLog(sut, (id) => this.processes.get(id), () => this.sched.now, () => this.processes.keys());
    this.members = Array.from({ length: spec.size }, (_, i) => `n${i + 1}`);
    this.clientTargets = this.members;
    this.network = new SimNetwork(this.sched, this.rng.fork("network"), tracer, sut, spec.latency, (to, from, bytes) => {
      const p = this.processes.get(to);
      return p !== undefined && p.receive(from, bytes);
    });
    const storageRng = this.rng.fork("storage");
    const clockRng = new Rng(spec.seed, fnv32("clocks"));
    for (const id of this.members) {
      this.clocks.set(id, new NodeClock(spec.clocks === undefined ? EXACT_CLOCK : drawNodeClock(clockRng, spec.clocks, this.sched.now), this.sched.now));
      const durability = { sync: spec.sync ?? true, writebackMs: WRITEBACK_MS };
      const storage = new SimStorage(id, this.sched, storageRng.fork(id), tracer, spec.storage, durability);
      this.processes.set(id, new SimProcess(id, storage, this.sched, this.network, tracer, sut, { onNodeEvent: (node, ev, now) => this.onNodeEvent(node, ev, now) }, this.clocks.get(id)!));
      this.hintDeletes.watch(id, this.processes.get(id)!);
    }
    // Spares after the members, so the members' clock and storage draws stay what they were.
    for (let i = 0; i < (spec.spares ?? 0); i++) this.addMachine(`n${spec.size + i + 1}`, storageRng, clockRng);
  }

  private addMachine(id: NodeId, storageRng: Rng, clockRng: Rng): void {
    const spec = this.spec;
    this.clocks.set(id, new NodeClock(spec.clocks === undefined ? EXACT_CLOCK : drawNodeClock(clockRng, spec.clocks, this.sched.now), this.sched.now));
    const storage = new SimStorage(id, this.sched, storageRng.fork(id), this.tracer, spec.storage, { sync: spec.sync ?? true, writebackMs: WRITEBACK_MS });
    this.processes.set(id, new SimProcess(id, storage, this.sched, this.network, this.tracer, this.sut, { onNodeEvent: (node, ev, now) => this.onNodeEvent(node, ev, now) }, this.clocks.get(id)!));
  }

  /** Members that have not departed. */
  activeMembers(): NodeId[] {
    return this.members.filter((id) => !this.departed.has(id));
  }

  /** Boots spare machine `id` knowing only `via`; it becomes a member (faults and clients reach it) once it reports the ring naming it. */
  bootJoiner(id: NodeId, via: NodeId): void {
    if (this.members.includes(id) || this.joining.has(id)) return;
    this.joining.set(id, via);
    this.boot(id);
  }

  process(id: NodeId): SimProcess {
    const p = this.processes.get(id);
    if (p === undefined) throw new Error(`no node ${id}`);
    return p;
  }

  nodeConfig(id: NodeId, boot: number): NodeConfig {
    const s = this.spec;
    const via = this.joining.get(id);
    return {
      id,
      name: id,
      members: via === undefined ? this.members.filter((m) => !this.joining.has(m)) : [id, via],
      ...(via === undefined ? {} : { join: true }),
      n: s.n,
      r: s.r,
      w: s.w,
      partitionCount: s.partitionCount,
      mode: s.mode,
      seed: (fnv32(`${s.seed}/${id}/${boot}`) ^ (s.seed >>> 0)) >>> 0,
      ...s.timings,
      syncWrites: s.sync ?? true,
      bugs: s.bugs,
    };
  }

  boot(id: NodeId): void {
    const p = this.process(id);
    if (p.isUp || this.departed.has(id)) return;
    this.bootAtMs.set(id, [...(this.bootAtMs.get(id) ?? []), this.sched.now]);
    p.boot(this.nodeConfig(id, p.boots + 1));
  }

  bootAll(): void {
    for (const id of this.members) this.boot(id);
  }

  private onNodeEvent(node: NodeId, event: NodeEvent, nowMs: number): void {
    this.eventCounts.set(event.type, (this.eventCounts.get(event.type) ?? 0) + 1);
    const times = this.eventTimes.get(event.type);
    if (times === undefined) this.eventTimes.set(event.type, [nowMs]);
    else times.push(nowMs);
    if ("key" in event) {
      const k = `${event.type} ${event.key}`;
      this.keyEventCounts.set(k, (this.keyEventCounts.get(k) ?? 0) + 1);
    }
    switch (event.type) {
      case "dot-minted":
        {
          const rec: MintedDot = { node, atMs: nowMs, key: event.key, actor: event.actor, counter: event.counter };
          this.minted.push(rec);
          this.process(node).noteMint(rec);
        }
        break;
      case "quorum":
        this.quorums.push({ node, atMs: nowMs, op: event.op, reqId: event.reqId, key: event.key, needed: event.needed, replicas: [...event.replicas] });
        break;
      case "suspect": {
        const sp: Suspicion = { node, peer: event.peer, fromMs: nowMs, toMs: null };
        this.suspicions.push(sp);
        const open = this.openSuspicions.get(node) ?? new Map<NodeId, Suspicion>();
        open.set(event.peer, sp);
        this.openSuspicions.set(node, open);
        break;
      }
      case "unsuspect":
      case "ready": {
        if (event.type === "ready") this.readyAtMs.set(node, [...(this.readyAtMs.get(node) ?? []), nowMs]);
        const open = this.openSuspicions.get(node);
        if (open === undefined) break;
        for (const [peer, sp] of open) {
          if (event.type === "ready" || peer === event.peer) {
            sp.toMs = nowMs;
            open.delete(peer);
          }
        }
        break;
      }
      case "ring-changed":
        if (this.joining.has(node) && !this.members.includes(node) && event.members.some((m) => m.id === node)) this.members.push(node);
        this.onRingChanged?.(node, event);
        break;
      case "left":
        // The process exits (code 0) a few heartbeats later, as in production.
        this.sched.after(LEFT_LINGER_HEARTBEATS * this.spec.timings.heartbeatIntervalMs, () => this.depart(node, "exit"));
        break;
      case "siblings":
        if (event.count > (this.maxSiblings.get(event.key) ?? 0)) this.maxSiblings.set(event.key, event.count);
        break;
      default:
        break;
    }
    this.aeExchanges.onEvent(node, event, nowMs);
    if (this.tracer.on) this.tracer.emit(nowMs, "node-event", node, { event });
  }

  /** A member leaves the run for good: its process stops (an exit after leave, or a crash before remove) and is never booted again. */
  depart(id: NodeId, how: "exit" | "crash"): void {
    if (this.departed.has(id)) return;
    this.departed.add(id);
    this.process(id).crash(how === "crash", false, how === "exit" ? "exit" : undefined);
  }

  /** Objects in the durable storage of each machine that is part of the cluster (departed ones and unused spares left out). */
  snapshot(): Map<NodeId, Map<string, SiblingSet>> {
    const out = new Map<NodeId, Map<string, SiblingSet>>();
    for (const [id, p] of this.processes) if (this.inCluster(id)) out.set(id, this.sut.readObjects(p.storage.entries()));
    return out;
  }

  /** A member that has not departed, or a joiner that was booted. */
  inCluster(id: NodeId): boolean {
    return !this.departed.has(id) && (this.members.includes(id) || this.joining.has(id));
  }
}
