// Scenarios: named, seeded, declarative runs (scenarios/*.toml). A scenario fixes the cluster
// (size, N/R/W, mode, timings), the workload (clients, keys, mix, which nodes clients talk
// to), a fault timeline (at T ms after the clients start: partition, heal, crash, restart,
// wipe, pause, ...) and expectations (siblings seen, node events counted, writes acknowledged,
// violations expected). The file is validated strictly: an unknown key or a wrong type is a
// ScenarioError naming the key. A scenario passes when every expectation holds and no checker
// reports a violation it did not expect.
import { readFileSync } from "node:fs";
import { parseToml, showValue, TableReader, type ErrorFactory } from "../src/config/toml-reader.ts";
import { BUG_NAMES, type BugName, type NodeId } from "../src/core/types.ts";
import type { VersioningMode } from "../src/core/versioning/types.ts";
import type { MembershipEpisode, MembershipKind } from "./membership.ts";
import { PROPERTIES, type Property, type Violation } from "./checkers/index.ts";
import type { SimCluster } from "./cluster.ts";
import type { Cut } from "./network.ts";
import { runSimulation, type RunSpec } from "./run.ts";
import type { SystemUnderTest } from "./sut.ts";
import type { TraceOptions } from "./trace.ts";
import type { OpMix } from "./workload.ts";

export class ScenarioError extends Error {}

const ACTIONS = ["partition", "isolate", "one-way", "bridge", "clog", "heal", "crash", "machine-crash", "restart", "wipe", "pause", "resume"] as const;
type ActionKind = (typeof ACTIONS)[number];

interface ScenarioAction {
  readonly atMs: number;
  readonly action: ActionKind;
  readonly node: NodeId | null;
  readonly peer: NodeId | null;
  readonly groups: readonly (readonly NodeId[])[] | null;
  /** Undo the action after this long (restart, resume, remove the cut); null: until healed. */
  readonly durationMs: number | null;
}

type Expectation =
  | { readonly kind: "siblings"; readonly key: string; readonly min: number }
  | { readonly kind: "event"; readonly event: string; readonly min: number; readonly fromMs: number; readonly toMs: number }
  | { readonly kind: "violations"; readonly property: Property; readonly min: number }
  | { readonly kind: "acked-writes"; readonly min: number; readonly coordinators: readonly NodeId[] | null; readonly fromMs: number; readonly toMs: number };

export interface Scenario {
  readonly name: string;
  readonly description: string;
  readonly seed: number;
  readonly spec: RunSpec;
  readonly coordinators: readonly NodeId[] | null;
  readonly actions: readonly ScenarioAction[];
  readonly expectations: readonly Expectation[];
  /** Random message loss and duplication through the fault phase. */
  readonly rates: { readonly dropRate: number; readonly dupRate: number };
}

// ---- strict validation (the shared reader of src/config/toml-reader.ts) ----

const scenarioError: ErrorFactory = (message) => new ScenarioError(message);

const TOP = ["name", "description", "seed", "cluster", "timings", "network", "workload", "phases", "fault", "membership", "expect"];
const CLUSTER = ["nodes", "n", "r", "w", "mode", "partitions", "bugs", "spares"];
const MEMBERSHIP = ["at_ms", "action", "node", "via"];
const TIMINGS = ["request_timeout_ms", "heartbeat_interval_ms", "suspect_after_ms", "handoff_interval_ms", "anti_entropy_interval_ms", "reap_delay_ms"];
const NETWORK = ["latency_min_ms", "latency_max_ms", "jitter_ms", "drop_rate", "dup_rate", "storage_write_max_ms"];
const WORKLOAD = ["clients", "keys", "ops", "think_min_ms", "think_max_ms", "mix", "coordinators", "client_timeout_ms"];
const MIX = ["blind", "rmw", "delete", "read"];
const PHASES = ["warmup_ms", "fault_ms", "heal_ms", "quiet_ms"];
const FAULT = ["at_ms", "action", "node", "peer", "groups", "duration_ms"];
const EXPECT = ["siblings", "event", "violations", "acked_writes", "min", "coordinators", "from_ms", "to_ms"];
const EVENTS = ["ready", "dot-minted", "quorum", "read-repair", "hint-stored", "handoff", "anti-entropy", "suspect", "unsuspect", "reap", "siblings", "ring-changed", "transfer-started", "transfer-done", "left"];

/** Checks that a value names one of the scenario's nodes (n1..nN). */
type NodeNameReader = (rd: TableReader, k: string, v: unknown) => NodeId;

/** Parses and strictly validates a scenario file's text: read each table, then assemble. */
export function parseScenario(text: string, file: string): Scenario {
  const top = new TableReader(file, "", parseToml(text, file, scenarioError), TOP, scenarioError);
  const name = top.str("name", undefined);
  if (!/^[a-z0-9_]+$/.test(name)) top.fail("name", `expected a lower_snake_case name, got ${showValue(name)}`);
  const seed = top.int("seed", 1, 0, 0xffffffff);
  const { cluster, nodeName, members } = readCluster(top.sub("cluster", CLUSTER));
  const timings = readTimings(top.sub("timings", TIMINGS));
  const net = readNetwork(top.sub("network", NETWORK));
  const { workload, coordinators } = readWorkload(top.sub("workload", WORKLOAD), nodeName);
  const ph = top.sub("phases", PHASES);
  const spec: RunSpec = {
    cluster: { seed, ...cluster, timings, latency: net.latency, storage: net.storage },
    workload,
    warmupMs: ph.int("warmup_ms", 300, 0),
    faultPhaseMs: ph.int("fault_ms", 5000, 0),
    healPhaseMs: ph.int("heal_ms", 3000, 0),
    quietMs: ph.int("quiet_ms", 12000, 0),
    wipesMax: Number.MAX_SAFE_INTEGER,
    membership: top.tables("membership", MEMBERSHIP).map((m) => readMembership(m, members, cluster.size)),
  };
  return {
    name,
    description: top.str("description", ""),
    seed,
    spec,
    coordinators,
    actions: top.tables("fault", FAULT).map((f) => readFault(f, nodeName)),
    expectations: top.tables("expect", EXPECT).map((e) => readExpectation(e, nodeName)),
    rates: net.rates,
  };
}

/** [cluster]: size, N/R/W (defaults: N = min(3, size), R = W = a majority of N), mode, partitions, bugs. */
function readCluster(c: TableReader): { cluster: Omit<RunSpec["cluster"], "seed" | "timings" | "latency" | "storage">; nodeName: NodeNameReader; members: readonly NodeId[] } {
  const size = c.int("nodes", undefined, 1, 16);
  const n = c.int("n", Math.min(3, size), 1, size);
  const r = c.int("r", Math.floor(n / 2) + 1, 1, n);
  const w = c.int("w", Math.floor(n / 2) + 1, 1, n);
  const mode = c.oneOf<VersioningMode>("mode", ["dvv", "lww", "client-vclock"], "dvv");
  const partitionCount = c.int("partitions", 16, 1, 1024);
  const bugs = c.list("bugs").map((b, i) => {
    if (typeof b !== "string" || !(BUG_NAMES as readonly string[]).includes(b)) c.fail(`bugs[${i}]`, `expected one of ${BUG_NAMES.join(", ")}, got ${showValue(b)}`);
    return b as BugName;
  });
  // Spares (n{nodes+1}, ...) start switched off; a [[membership]] join boots one. Faults may name them.
  const spares = c.int("spares", 0, 0, 8);
  const members = Array.from({ length: size }, (_, i) => `n${i + 1}`);
  const machines = Array.from({ length: size + spares }, (_, i) => `n${i + 1}`);
  const nodeName: NodeNameReader = (rd, k, v) => {
    if (typeof v !== "string" || !machines.includes(v)) return rd.fail(k, `expected a node name (${machines.join(", ")}), got ${showValue(v)}`);
    return v;
  };
  return { cluster: { size, n, r, w, mode, partitionCount, bugs, ...(spares > 0 ? { spares } : {}) }, nodeName, members };
}

function readTimings(t: TableReader): RunSpec["cluster"]["timings"] {
  const reapDelayMs = t.int("reap_delay_ms", 2000, 0);
  return {
    requestTimeoutMs: t.int("request_timeout_ms", 1000, 1),
    heartbeatIntervalMs: t.int("heartbeat_interval_ms", 250, 1),
    suspectAfterMs: t.int("suspect_after_ms", 1000, 1),
    handoffIntervalMs: t.int("handoff_interval_ms", 500, 1),
    antiEntropyIntervalMs: t.int("anti_entropy_interval_ms", 1000, 0),
    reapDelayMs,
  };
}

/** [network]: message latency, storage write latency, and loss/duplication rates through the fault phase. */
function readNetwork(net: TableReader): { latency: RunSpec["cluster"]["latency"]; storage: RunSpec["cluster"]["storage"]; rates: Scenario["rates"] } {
  const latencyMin = net.num("latency_min_ms", 1, 0, 60_000);
  const latencyMax = net.num("latency_max_ms", 5, latencyMin, 60_000);
  const rates = { dropRate: net.num("drop_rate", 0, 0, 1), dupRate: net.num("dup_rate", 0, 0, 1) };
  return {
    latency: { baseMinMs: latencyMin, baseMaxMs: latencyMax, jitterMs: net.num("jitter_ms", 2, 0, 60_000), spikeRate: 0, spikeMs: 0 },
    storage: { readMinMs: 0.1, readMaxMs: 1, writeMinMs: 0.5, writeMaxMs: net.num("storage_write_max_ms", 5, 0.5, 60_000) },
    rates,
  };
}

/** [workload]: clients, keys (a count or a list of names), the op mix, think times, which nodes clients talk to. */
function readWorkload(wl: TableReader, nodeName: NodeNameReader): { workload: RunSpec["workload"]; coordinators: NodeId[] | null } {
  const keysRaw = wl.table["keys"];
  let keys: string[];
  if (keysRaw === undefined) keys = ["k0"];
  else if (typeof keysRaw === "bigint" || typeof keysRaw === "number") keys = Array.from({ length: wl.int("keys", 1, 1, 1000) }, (_, i) => `k${i}`);
  else {
    keys = wl.list("keys").map((k, i): string => {
      if (typeof k !== "string" || k.length === 0) return wl.fail(`keys[${i}]`, `expected a non-empty string, got ${showValue(k)}`);
      return k;
    });
    if (keys.length === 0) wl.fail("keys", "expected at least one key, got an empty array");
  }
  const mixR = wl.sub("mix", MIX);
  const mix: OpMix = { blind: mixR.num("blind", 1, 0, 1000), rmw: mixR.num("rmw", 1, 0, 1000), delete: mixR.num("delete", 0, 0, 1000), read: mixR.num("read", 1, 0, 1000) };
  if (mix.blind + mix.rmw + mix.delete + mix.read <= 0) wl.fail("mix", "expected a positive total weight, got 0");
  const coordinators = wl.list("coordinators").map((v, i) => nodeName(wl, `coordinators[${i}]`, v));
  const thinkMin = wl.num("think_min_ms", 5, 0, 60_000);
  const workload = {
    clients: wl.int("clients", 2, 1, 100),
    keys,
    thinkMinMs: thinkMin,
    thinkMaxMs: wl.num("think_max_ms", 50, thinkMin, 60_000),
    mix,
    clientTimeoutMs: wl.int("client_timeout_ms", 4000, 1),
    opsMax: wl.int("ops", 1_000_000, 1),
  };
  return { workload, coordinators: coordinators.length > 0 ? coordinators : null };
}

/**
 * One [[membership]]: join (the next spare boots knowing only `via`), leave (`node` hands off,
 * then exits) or remove (`node` crashes for good; after REMOVE_AFTER_MS the operator removes it
 * through `via`), at `at_ms` after the clients start.
 */
function readMembership(m: TableReader, members: readonly NodeId[], size: number): MembershipEpisode {
  const action = m.oneOf<MembershipKind>("action", ["join", "leave", "remove"], undefined);
  const member = (k: string): NodeId => {
    const v = m.str(k, undefined);
    if (!members.includes(v)) m.fail(k, `expected a starting member (${members.join(", ")}), got ${showValue(v)}`);
    return v;
  };
  const atMs = m.int("at_ms", undefined, 0);
  if (action === "join") {
    if (m.has("node")) m.fail("node", `a join boots the next spare (n${size + 1}, ...): leave node out`);
    return { kind: "join", atMs, node: 0, via: members.indexOf(member("via")) };
  }
  const node = member("node");
  if (action === "leave") {
    if (m.has("via")) m.fail("via", "a leave is asked of the leaving node itself: leave via out");
    return { kind: "leave", atMs, node: members.indexOf(node), via: 0 };
  }
  const via = member("via");
  if (via === node) m.fail("via", `expected another member than ${node}`);
  return { kind: "remove", atMs, node: members.indexOf(node), via: members.filter((x) => x !== node).indexOf(via) };
}

/** One [[fault]]: an action at a time after the clients start, with the node, peer or groups it needs. */
function readFault(f: TableReader, nodeName: NodeNameReader): ScenarioAction {
  const action = f.oneOf<ActionKind>("action", ACTIONS, undefined);
  const needsNode = !["partition", "heal"].includes(action);
  const node = f.has("node") ? nodeName(f, "node", f.table["node"]) : null;
  if (needsNode && node === null) f.fail("node", `required for action ${action} but missing (a node name)`);
  const peer = f.has("peer") ? nodeName(f, "peer", f.table["peer"]) : null;
  if ((action === "one-way" || action === "clog") && peer === null) f.fail("peer", `required for action ${action} but missing (a node name)`);
  let groups: NodeId[][] | null = null;
  if (f.has("groups")) {
    groups = f.list("groups").map((g, i) => {
      if (!Array.isArray(g)) return f.fail(`groups[${i}]`, `expected an array of node names, got ${showValue(g)}`);
      return g.map((v: unknown, j: number) => nodeName(f, `groups[${i}][${j}]`, v));
    });
  }
  if ((action === "partition" || action === "bridge") && (groups === null || groups.length < 2)) f.fail("groups", `expected at least two groups for action ${action}, got ${groups?.length ?? 0}`);
  const durationMs = f.has("duration_ms") ? f.int("duration_ms", 0, 1) : null;
  if (action === "clog" && durationMs === null) f.fail("duration_ms", "required for action clog but missing (an integer >= 1)");
  return { atMs: f.int("at_ms", undefined, 0), action, node, peer, groups, durationMs };
}

/** One [[expect]]: exactly one of siblings, event, violations, acked_writes, with its minimum. */
function readExpectation(e: TableReader, nodeName: NodeNameReader): Expectation {
  const kinds = ["siblings", "event", "violations", "acked_writes"].filter((k) => e.has(k));
  if (kinds.length !== 1) e.fail(kinds[1] ?? "siblings", `expected exactly one of siblings, event, violations, acked_writes, got ${kinds.length === 0 ? "none" : kinds.join(" and ")}`);
  const min = e.int("min", 1, 0);
  const kind = kinds[0]!;
  if (kind === "siblings") return { kind: "siblings", key: e.str("siblings", undefined), min };
  if (kind === "event") return { kind: "event", event: e.oneOf("event", EVENTS, undefined), min, ...window(e) };
  if (kind === "violations") return { kind: "violations", property: e.oneOf<Property>("violations", PROPERTIES, undefined), min };
  if (!e.bool("acked_writes", true)) e.fail("acked_writes", "expected true, got false");
  const coords = e.list("coordinators").map((v, i) => nodeName(e, `coordinators[${i}]`, v));
  return { kind: "acked-writes", min, coordinators: coords.length > 0 ? coords : null, ...window(e) };
}

/** An expectation's optional time window [from_ms, to_ms] of the fault phase (default: the whole run). */
function window(e: TableReader): { fromMs: number; toMs: number } {
  return { fromMs: e.int("from_ms", 0, 0), toMs: e.int("to_ms", Number.MAX_SAFE_INTEGER, 0) };
}

function windowText(e: { fromMs: number; toMs: number }): string {
  return `[${e.fromMs}, ${e.toMs === Number.MAX_SAFE_INTEGER ? "end" : e.toMs}] ms`;
}

export function loadScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    throw new ScenarioError(`cannot read scenario ${path}: ${e instanceof Error ? e.message : String(e)}`);
  }
  return parseScenario(text, path);
}

// ---- running ----

interface ExpectationResult {
  readonly text: string;
  readonly ok: boolean;
  readonly actual: number;
}

export interface ScenarioResult {
  readonly seed: number;
  readonly passed: boolean;
  readonly violations: Violation[];
  readonly expectations: ExpectationResult[];
  /** Unmet expectations and unexpected violations. */
  readonly failures: { property: string; detail: string }[];
  readonly events: number;
  readonly simulatedMs: number;
  readonly traceHash: string;
  readonly replay: string;
  readonly report: string[];
}

export function applyAction(cluster: SimCluster, a: ScenarioAction): void {
  const net = cluster.network;
  const undo = (fn: () => void): void => {
    if (a.durationMs !== null) cluster.sched.after(a.durationMs, fn);
  };
  const groupsMap = (groups: readonly (readonly NodeId[])[]): Map<NodeId, number> => {
    const m = new Map<NodeId, number>();
    // Nodes not listed form a group of their own.
    for (const id of cluster.members) m.set(id, -1);
    groups.forEach((g, i) => g.forEach((id) => m.set(id, i)));
    return m;
  };
  const cut = (c: Cut): void => {
    net.addCut(c);
    cluster.noteFault(`scenario ${a.action}`, a.durationMs ?? Infinity, "net");
    undo(() => net.removeCut(c));
  };
  const node = a.node ?? "";
  switch (a.action) {
    case "partition":
      cut({ kind: "partition", groups: groupsMap(a.groups ?? []) });
      return;
    case "bridge":
      cut({ kind: "bridge", groups: groupsMap(a.groups ?? []), bridge: node });
      return;
    case "isolate":
      cut({ kind: "isolate", node });
      return;
    case "one-way":
      cut({ kind: "one-way", from: node, to: a.peer ?? "" });
      return;
    case "clog":
      net.clog(node, a.peer ?? "", cluster.sched.now + (a.durationMs ?? 0));
      cluster.noteFault(`scenario clog ${node}`, a.durationMs ?? 0, "net");
      return;
    case "heal": {
      const { dropRate, dupRate } = net;
      net.heal();
      cluster.endFaults("net");
      net.dropRate = dropRate;
      net.dupRate = dupRate;
      return;
    }
    case "crash":
    case "machine-crash":
    case "wipe":
      if (a.action === "wipe") cluster.process(node).wipe();
      else cluster.process(node).crash(a.action === "machine-crash");
      cluster.noteFault(`scenario ${a.action} ${node}`, a.durationMs ?? Infinity, `down ${node}`);
      undo(() => cluster.boot(node));
      return;
    case "restart":
      cluster.endFaults(`down ${node}`);
      cluster.boot(node);
      return;
    case "pause":
      cluster.process(node).pause();
      cluster.noteFault(`scenario pause ${node}`, a.durationMs ?? Infinity, `paused ${node}`);
      undo(() => cluster.process(node).resume());
      return;
    case "resume":
      cluster.endFaults(`paused ${node}`);
      cluster.process(node).resume();
      return;
  }
}

function describeExpectation(e: Expectation): string {
  switch (e.kind) {
    case "siblings":
      return `key ${e.key} has >= ${e.min} siblings at some point`;
    case "event":
      return `>= ${e.min} ${e.event} events${e.fromMs === 0 && e.toMs === Number.MAX_SAFE_INTEGER ? "" : ` in ${windowText(e)}`}`;
    case "violations":
      return `>= ${e.min} ${e.property} violations (expected: the lesson)`;
    case "acked-writes":
      return `>= ${e.min} acknowledged writes${e.coordinators ? ` via ${e.coordinators.join(",")}` : ""} invoked in ${windowText(e)}`;
  }
}

interface ScenarioRunOptions {
  readonly seed?: number;
  readonly bugs?: readonly BugName[];
  readonly trace?: TraceOptions;
}

export function runScenario(sut: SystemUnderTest, scenario: Scenario, options: ScenarioRunOptions = {}): ScenarioResult {
  const seed = options.seed ?? scenario.seed;
  const bugs = options.bugs && options.bugs.length > 0 ? options.bugs : scenario.spec.cluster.bugs;
  const spec: RunSpec = { ...scenario.spec, cluster: { ...scenario.spec.cluster, seed, bugs } };
  const rates = scenario.rates;
  const coordinators = scenario.coordinators;
  const run = runSimulation(sut, spec, { ...rates, episodes: [] }, options.trace ?? {}, (cluster, _faults, t0) => {
    if (coordinators !== null) cluster.clientTargets = coordinators;
    const start = t0 + spec.warmupMs;
    for (const a of scenario.actions) cluster.sched.at(start + a.atMs, () => applyAction(cluster, a));
  });
  const start = run.cluster.sched.now - run.simulatedMs + spec.warmupMs;
  const expected = new Set<Property>();
  const results: ExpectationResult[] = scenario.expectations.map((e) => {
    let actual = 0;
    switch (e.kind) {
      case "siblings": {
        actual = run.cluster.maxSiblings.get(e.key) ?? 0;
        for (const op of run.history) if (op.key === e.key && op.readSet) actual = Math.max(actual, op.readSet.siblings.filter((s) => s.value !== null).length);
        for (const objects of run.record.final.values()) {
          const set = objects.get(e.key);
          if (set) actual = Math.max(actual, set.siblings.filter((s) => s.value !== null).length);
        }
        break;
      }
      case "event":
        actual = (run.cluster.eventTimes.get(e.event) ?? []).filter((t) => t - start >= e.fromMs && t - start <= e.toMs).length;
        break;
      case "violations":
        expected.add(e.property);
        actual = run.violations.filter((v) => v.property === e.property).length;
        break;
      case "acked-writes":
        actual = run.history.filter(
          (op) => op.kind !== "get" && op.outcome === "ok" && (e.coordinators === null || e.coordinators.includes(op.node)) && op.invokedAtMs - start >= e.fromMs && op.invokedAtMs - start <= e.toMs,
        ).length;
        break;
    }
    return { text: describeExpectation(e), ok: actual >= e.min, actual };
  });
  const unexpected = run.violations.filter((v) => !expected.has(v.property));
  const failures = [
    ...results.filter((r) => !r.ok).map((r) => ({ property: "expectation", detail: `expected ${r.text}, got ${r.actual}` })),
    ...unexpected.map((v) => ({ property: v.property, detail: v.detail })),
  ];
  const bugFlag = options.bugs && options.bugs.length > 0 ? options.bugs.map((b) => ` --bug ${b}`).join("") : "";
  const replay = `npx mec sim --scenario scenarios/${scenario.name}.toml --seed ${seed}${bugFlag}`;
  const report: string[] = [`seed=${seed}`, `scenario: ${scenario.name}: ${scenario.description}`];
  const c = spec.cluster;
  report.push(`config: nodes=${c.size} n=${c.n} r=${c.r} w=${c.w} mode=${c.mode}${bugs.length ? ` bugs=${bugs.join(",")}` : ""} clients=${spec.workload.clients} keys=${spec.workload.keys.join(",")}`);
  const s = run.stats;
  report.push(`ran: ${s.ops} client ops (${s.ok} ok, ${s.failed} failed, ${s.unknown} unknown), ${s.messages} messages`);
  report.push(`node events: ${Object.entries(s.nodeEvents).map(([k, v]) => `${k}=${v}`).join(" ")}`);
  for (const r of results) report.push(`${r.ok ? "ok  " : "FAIL"} expect ${r.text}: got ${r.actual}`);
  for (const v of run.violations) report.push(`${expected.has(v.property) ? "expected violation" : "VIOLATION"} ${v.property}: ${v.detail}`);
  report.push(failures.length === 0 ? `passed (trace ${run.traceHash.slice(0, 16)})` : `FAILED: ${failures.length} problem(s); replay: ${replay}`);
  return {
    seed,
    passed: failures.length === 0,
    violations: run.violations,
    expectations: results,
    failures,
    events: run.events,
    simulatedMs: run.simulatedMs,
    traceHash: run.traceHash,
    replay,
    report,
  };
}
