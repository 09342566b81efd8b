// Node state at every step of a trace, for the trace viewer. A trace holds events, not state,
// so the run is re-run deterministically from its header (a seed run: its spec and schedule;
// a scenario: the file and seed it names) with a sink that, as each line is written,
// snapshots the node the line names (every node for a cluster-wide line): its durable
// objects and hints (keys, sibling sets, dots and clocks, read from the simulated disk) and
// what it holds in memory (phase, actor, suspected peers, pending requests, its ring epoch and
// the ownership transfers it sends: NodeMachine.inspect). A snapshot
// is kept only when it differs from that node's previous one; the state after step N is the
// latest snapshot at or before N. The re-run's lines are compared with the file's.
import { parseHintKey, parseObjectKey } from "../../src/core/replica/keys.ts";
import type { BugName } from "../../src/core/types.ts";
import { openRecord } from "../../src/core/replica/record.ts";
import { decodeSiblingSet } from "../../src/core/versioning/index.ts";
import type { SimCluster } from "../cluster.ts";
import type { FaultSchedule } from "../faults.ts";
import { mecdb } from "../mecdb.ts";
import { runSimulation, type RunSpec } from "../run.ts";
import type { TraceOptions } from "../trace.ts";
import type { TraceLine } from "./model.ts";

interface SiblingView {
  readonly dot: string;
  /** The value as text; null for a tombstone. */
  readonly value: string | null;
}

interface ObjectView {
  readonly key: string;
  readonly clock: Record<string, number>;
  readonly siblings: readonly SiblingView[];
  /** Hints: the primary this object is held for. */
  readonly forNode?: string;
}

export interface NodeState {
  readonly node: string;
  readonly up: boolean;
  readonly paused: boolean;
  readonly phase: string | null;
  readonly actor: string | null;
  readonly suspected: readonly string[];
  readonly pending: { readonly get: number; readonly put: number; readonly replicate: number } | null;
  /** The epoch of the cluster state this node holds and how many transfers that state still plans, cluster-wide (null: unknown). */
  readonly ring: { readonly epoch: number; readonly pendingTransfers: number } | null;
  /** Transfers this node is sending now. */
  readonly transfers: readonly { readonly partition: number; readonly to: string; readonly sent: number; readonly remaining: number }[];
  readonly objects: readonly ObjectView[];
  readonly hints: readonly ObjectView[];
}

export interface ReplayedRun {
  readonly lines: readonly string[];
  readonly nodes: readonly string[];
  /** State of every node after step (0-based trace line index). */
  stateAt(step: number): NodeState[];
}

const text = new TextDecoder();
const decoded = new WeakMap<Uint8Array, Omit<ObjectView, "key" | "forNode"> | null>();

function viewOf(bytes: Uint8Array): Omit<ObjectView, "key" | "forNode"> | null {
  const hit = decoded.get(bytes);
  if (hit !== undefined) return hit;
  let v: Omit<ObjectView, "key" | "forNode"> | null = null;
  try {
    const record = openRecord(bytes); // a stored object or hint: a checksummed record
    if (!record.ok) throw new Error(record.problem);
    const set = decodeSiblingSet(record.payload);
    const clock: Record<string, number> = {};
    for (const [a, e] of set.clock) clock[a] = e.counter;
    v = { clock, siblings: set.siblings.map((s) => ({ dot: `${s.dot.actor}:${s.dot.counter}`, value: s.value === null ? null : text.decode(s.value) })) };
  } catch {
    v = null;
  }
  decoded.set(bytes, v);
  return v;
}

function snapshot(cluster: SimCluster, node: string): NodeState {
  const p = cluster.process(node);
  const objects: ObjectView[] = [];
  const hints: ObjectView[] = [];
  for (const [k, bytes] of p.storage.entries()) {
    const o = parseObjectKey(k);
    const h = o === null ? parseHintKey(k) : null;
    if (o === null && h === null) continue;
    const v = viewOf(bytes);
    if (v === null) continue;
    if (o !== null) objects.push({ key: o.key, ...v });
    else if (h !== null) hints.push({ key: h.key, forNode: h.target, ...v });
  }
  const m = p.machine?.inspect?.() ?? null;
  const ring = m?.cluster !== undefined ? { epoch: m.cluster.epoch, pendingTransfers: m.transfers?.pending ?? 0 } : null;
  const transfers = (m?.transfers?.active ?? []).map((t) => ({ partition: t.partition, to: t.to, sent: t.sent, remaining: t.remaining }));
  return {
    node, up: p.isUp, paused: p.isPaused, phase: m?.phase ?? null, actor: m?.actor ?? null,
    suspected: m?.suspected ?? [], pending: m?.pending ?? null, ring, transfers, objects, hints,
  };
}

class ReplayError extends Error {}

/**
 * The run spec of a trace header. JSON has no Infinity: an unbounded count (the swarm's
 * opsMax, a scenario's wipesMax) was written as null and is restored here.
 */
export function specFromHeader(header: TraceLine): RunSpec | null {
  const spec = header["spec"] as RunSpec | undefined;
  // A hand-made trace may describe its cluster only: nothing to re-run.
  if (spec === undefined || spec === null || typeof spec.workload !== "object" || spec.workload === null) return null;
  const inf = (v: unknown): number => (v === null ? Infinity : (v as number));
  return { ...spec, wipesMax: inf(spec.wipesMax), workload: { ...spec.workload, opsMax: inf(spec.workload.opsMax) } };
}

/** Re-runs the trace's run with state capture. The header is the trace's first line. */
export async function replayWithStates(header: TraceLine): Promise<ReplayedRun> {
  const lines: string[] = [];
  const history = new Map<string, { steps: number[]; states: string[] }>();
  let cluster: SimCluster | null = null;
  let dirty = new Set<string>();
  const capture = (step: number): void => {
    if (cluster === null) return;
    for (const node of dirty) {
      const json = JSON.stringify(snapshot(cluster, node));
      let h = history.get(node);
      if (h === undefined) history.set(node, (h = { steps: [], states: [] }));
      if (h.states[h.states.length - 1] === json) continue;
      h.steps.push(step);
      h.states.push(json);
    }
    dirty = new Set();
  };
  const trace: TraceOptions = {
    header: header["source"] !== undefined ? { source: header["source"] } : {},
    attach: (c) => {
      cluster = c;
    },
    sink: (line) => {
      // A line is written once its event took effect (a crash line after the crash, a
      // delivery after the receiver's reaction), so the state now is the state after it.
      lines.push(line);
      const node = (JSON.parse(line) as TraceLine).node;
      if (node !== null && cluster !== null && cluster.members.includes(node)) dirty.add(node);
      else if (node === null && cluster !== null) for (const n of cluster.members) dirty.add(n);
      capture(lines.length - 1);
    },
  };
  const source = header["source"] as { kind?: string; file?: string; seed?: number; bugs?: string[] } | undefined;
  if (source?.kind === "scenario") {
    const { loadScenarioFile, runScenario } = await import("../scenario.ts");
    if (typeof source.file !== "string") throw new ReplayError("the trace header names a scenario but no file");
    const scenario = loadScenarioFile(source.file);
    runScenario(mecdb, scenario, { ...(source.seed !== undefined ? { seed: source.seed } : {}), bugs: (source.bugs ?? []) as BugName[], trace });
  } else {
    const spec = specFromHeader(header);
    const schedule = header["schedule"] as FaultSchedule | undefined;
    if (spec === null || schedule === undefined) throw new ReplayError("the trace header has no spec and schedule to re-run");
    runSimulation(mecdb, spec, schedule, trace);
  }
  if (cluster !== null) for (const n of (cluster as SimCluster).members) dirty.add(n);
  capture(lines.length - 1);
  const nodes = cluster === null ? [] : [...(cluster as SimCluster).members];
  return {
    lines,
    nodes,
    stateAt(step: number): NodeState[] {
      return nodes.map((node) => {
        const h = history.get(node);
        if (h === undefined) return emptyState(node);
        let lo = -1;
        let hi = h.steps.length - 1;
        while (lo < hi) {
          const mid = (lo + hi + 1) >> 1;
          if (h.steps[mid]! <= step) lo = mid;
          else hi = mid - 1;
        }
        return lo < 0 ? emptyState(node) : (JSON.parse(h.states[lo]!) as NodeState);
      });
    },
  };
}

function emptyState(node: string): NodeState {
  return { node, up: false, paused: false, phase: null, actor: null, suspected: [], pending: null, ring: null, transfers: [], objects: [], hints: [] };
}
