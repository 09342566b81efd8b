// A hand-made simulator trace of ownership handoff, for the viewer tests (the simulator has no
// join / leave episodes to record one yet): 3 nodes, 8 partitions, N=2; n4 joins through n1
// (epoch 1) and every transfer finishes, one batch lost on the way and resent; then n2 leaves
// (epoch 2) and n4 crashes while receiving, so one transfer stays unfinished. The cluster
// states, transfer plans, ring-changed events and message summaries come from the real core
// code (cluster-state.ts, messages.ts, describe-mecdb.ts), only the timing is invented.
// `node --import tsx test/sim/viz/handoff-trace.ts > h.jsonl` writes it.
import { applyChange, displayedStatus, initialState, markDone, pendingPartitions, plannedTransfers, type ClusterState, type TransferPlan } from "../../../src/core/membership/cluster-state.ts";
import { encodeMessage, type PeerMessage } from "../../../src/core/messages.ts";
import { partitionOf } from "../../../src/core/ring/index.ts";
import { fnv32Bytes } from "../../../sim/rng.ts";
import { describeMessagePayload } from "../../../sim/viz/describe-mecdb.ts";
import type { TraceLine } from "../../../sim/viz/model.ts";

const N = 2;
const PARTITIONS = 8;
const KEYS = Array.from({ length: 24 }, (_, i) => `k${i}`);
/** Objects per transfer batch here (the node's is 64): small, so a transfer takes several. */
const BATCH = 2;

class TraceWriter {
  readonly lines: TraceLine[] = [];
  t = 0;
  private nextId = 1;
  private nextReq = 1;

  line(ev: string, node: string | null, fields: Record<string, unknown> = {}): void {
    this.lines.push({ t: Math.round(this.t * 1000) / 1000, ev, node, ...fields });
  }

  reqId(from: string): string {
    return `${from}/0000000${from.slice(1)}/${this.nextReq++}`;
  }

  send(msg: PeerMessage, to: string): number {
    const bytes = encodeMessage(msg);
    const id = this.nextId++;
    const carries = describeMessagePayload(bytes);
    this.line("send", msg.from, { to, id, type: msg.type, reqId: "reqId" in msg ? msg.reqId : null, size: bytes.length, h: fnv32Bytes(bytes).toString(16), ...(carries ? { carries } : {}) });
    return id;
  }

  deliver(id: number, from: string, to: string, afterMs = 1.5): void {
    this.t += afterMs;
    this.line("deliver", to, { from, id });
  }

  event(node: string, event: Record<string, unknown>): void {
    this.line("node-event", node, { event });
  }
}

function ringChanged(w: TraceWriter, node: string, s: ClusterState): void {
  w.event(node, { type: "ring-changed", epoch: s.epoch, owners: s.owners, members: s.members.map((m) => ({ id: m.id, status: displayedStatus(s, m, N) })), pending: pendingPartitions(s, N) });
}

/** `from` gossips its state to every other active node; each adopts it. */
function gossip(w: TraceWriter, from: string, s: ClusterState, nodes: readonly string[]): void {
  const ids = nodes.filter((n) => n !== from).map((to) => [to, w.send({ type: "ring-gossip", from, state: s }, to)] as const);
  for (const [to, id] of ids) {
    w.deliver(id, from, to, 0.6);
    ringChanged(w, to, s);
  }
}

function objectsOf(partition: number): [string, Uint8Array][] {
  return KEYS.filter((k) => partitionOf(k, PARTITIONS) === partition).map((k) => [k, new TextEncoder().encode(`${k}=v`)]);
}

/** One transfer, batch by batch; `lose` drops that batch once (resent after the request timeout); `crashAt` stops it there. */
function transfer(w: TraceWriter, plan: TransferPlan, opts: { lose?: number; crashAt?: number } = {}): boolean {
  w.t += 2;
  w.event(plan.from, { type: "transfer-started", partition: plan.partition, to: plan.to });
  const objects = objectsOf(plan.partition);
  const batches = Math.max(1, Math.ceil(objects.length / BATCH));
  for (let b = 0; b < batches; b++) {
    const batch = objects.slice(b * BATCH, (b + 1) * BATCH);
    const last = b === batches - 1;
    const msg = (): PeerMessage => ({ type: "transfer", reqId: w.reqId(plan.from), from: plan.from, partition: plan.partition, objects: batch, last });
    if (b === opts.crashAt) {
      w.t += 0.5;
      w.line("crash", plan.to, { lostWrites: 0 });
      const id = w.send(msg(), plan.to);
      w.t += 1.2;
      w.line("drop", plan.to, { from: plan.from, id, reason: "down" });
      return false;
    }
    if (b === opts.lose) {
      const id = w.send(msg(), plan.to);
      w.line("drop", plan.from, { to: plan.to, id, reason: "loss" });
      w.t += 1000;
      w.line("timer", plan.from, { timerId: 40 + b });
    }
    const m = msg();
    const id = w.send(m, plan.to);
    w.deliver(id, plan.from, plan.to);
    w.line("storage-op", plan.to, { op: "batch", puts: batch.length, dels: 0 });
    w.t += 0.8;
    w.line("storage-done", plan.to, { op: "batch", ok: true });
    const ack = w.send({ type: "transfer-ack", reqId: m.type === "transfer" ? m.reqId : "", from: plan.to }, plan.from);
    w.deliver(ack, plan.to, plan.from);
  }
  w.event(plan.from, { type: "transfer-done", partition: plan.partition, to: plan.to, objects: objects.length });
  return true;
}

export function handoffTraceLines(): TraceLine[] {
  const w = new TraceWriter();
  const spec = { cluster: { seed: 0, size: 3, n: N, r: 1, w: 1, mode: "dvv", partitionCount: PARTITIONS, bugs: [] } };
  w.line("run", null, { spec, source: { kind: "hand-made", name: "n4 joins, then n2 leaves" } });
  const members = ["n1", "n2", "n3"];
  for (const n of members) w.line("boot", n, { seed: 1, boot: 1 });
  w.t = 5;
  for (const n of members) w.event(n, { type: "ready", actor: `${n}.0000000${n.slice(1)}`, incarnation: 1 });

  // n4 joins through n1: epoch 1, every transfer finishes (the second loses a batch once).
  w.t = 100;
  w.line("boot", "n4", { seed: 4, boot: 1 });
  w.t += 2;
  w.event("n4", { type: "ready", actor: "n4.00000004", incarnation: 1 });
  const join = w.send({ type: "join", from: "n4", name: "n4", partitionCount: PARTITIONS }, "n1");
  w.deliver(join, "n4", "n1");
  let state = initialState(members.map((id) => ({ id, name: id })), PARTITIONS);
  const joined = applyChange(state, { type: "join", id: "n4", name: "n4" }, N);
  if (!joined.ok) throw new Error(joined.message);
  state = joined.state;
  ringChanged(w, "n1", state);
  const all = ["n1", "n2", "n3", "n4"];
  gossip(w, "n1", state, all);
  plannedTransfers(state, N).forEach((plan, i) => {
    transfer(w, plan, i === 1 ? { lose: 0 } : {});
    state = markDone(state, plan.partition, plan.to);
    ringChanged(w, plan.from, state);
    gossip(w, plan.from, state, all);
  });

  // n2 leaves: epoch 2; n4 crashes while receiving its second transfer.
  w.t += 300;
  const left = applyChange(state, { type: "leave", id: "n2" }, N);
  if (!left.ok) throw new Error(left.message);
  state = left.state;
  ringChanged(w, "n2", state);
  gossip(w, "n2", state, all);
  let toN4 = 0;
  for (const plan of plannedTransfers(state, N)) {
    const crash = plan.to === "n4" && ++toN4 === 2;
    const done = transfer(w, plan, crash ? { crashAt: 0 } : {});
    if (!done) break;
    state = markDone(state, plan.partition, plan.to);
    ringChanged(w, plan.from, state);
  }
  w.t += 50;
  return w.lines;
}

if (process.argv[1]?.endsWith("handoff-trace.ts")) process.stdout.write(handoffTraceLines().map((l) => JSON.stringify(l)).join("\n") + "\n");
