// A tiny in-test cluster for the node core (NOT the simulator in sim/): 3-5 nodes run through
// NodeHost over in-memory ports, with a manual clock and one deterministic event queue ordered
// by (time, sequence). Messages take `latencyMs`, storage operations `storageMs`; a filter can
// drop or duplicate messages. Nodes can be stopped, restarted and wiped.
import { NodeHost } from "../../src/host/host.ts";
import type { Ports, TimerHandle } from "../../src/ports/index.ts";
import { createNode } from "../../src/core/node.ts";
import type { ClientOp, ClientResult, Effect, NodeConfig, NodeEvent, NodeId, StorageOp, StorageResult } from "../../src/core/types.ts";
import { decodeMessage } from "../../src/core/messages.ts";
import type { PeerMessage } from "../../src/core/messages.ts";
import { decodeSiblingSet } from "../../src/core/versioning/index.ts";
import { openRecord } from "../../src/core/replica/record.ts";

/** The sibling set in a stored record (throws when the record is corrupt). */
export function storedSet(bytes: Uint8Array): SiblingSet {
  const r = openRecord(bytes);
  if (!r.ok) throw new Error(`corrupt record: ${r.problem}`);
  return decodeSiblingSet(r.payload);
}
import type { SiblingSet } from "../../src/core/versioning/types.ts";
import { parseObjectKey, parseHintKey } from "../../src/core/replica/keys.ts";

export type Fate = "deliver" | "drop" | "duplicate";

interface Scheduled {
  readonly at: number;
  readonly seq: number;
  readonly fire: () => void;
}

export interface HarnessNode {
  readonly id: NodeId;
  host: NodeHost | null;
  epoch: number;
  readonly storage: Map<string, Uint8Array>;
  readonly events: NodeEvent[];
  readonly logs: { level: string; msg: string }[];
}

export const T0 = 1_700_000_000_000;

export function baseConfig(id: NodeId, members: readonly NodeId[], overrides: Partial<NodeConfig> = {}): NodeConfig {
  return {
    id,
    name: id,
    members,
    n: 3,
    r: 2,
    w: 2,
    partitionCount: 16,
    mode: "dvv",
    seed: 42 + members.indexOf(id),
    requestTimeoutMs: 100,
    heartbeatIntervalMs: 20,
    suspectAfterMs: 70,
    handoffIntervalMs: 50,
    antiEntropyIntervalMs: 0,
    reapDelayMs: null,
    syncWrites: true,
    bugs: [],
    ...overrides,
  };
}

export class Harness {
  now = T0;
  private seq = 0;
  private queue: Scheduled[] = [];
  readonly nodes = new Map<NodeId, HarnessNode>();
  readonly members: NodeId[];
  /** Decides each message's fate (default: deliver). */
  netFilter: (from: NodeId, to: NodeId, msg: PeerMessage) => Fate = () => "deliver";
  /** Every message sent, decoded (for assertions). */
  readonly sent: { from: NodeId; to: NodeId; msg: PeerMessage; fate: Fate }[] = [];
  /** Every effect of every node, serialised (for the determinism test). */
  readonly effectLog: string[] = [];
  /** Every node event with its time and node, in order. */
  readonly timeline: string[] = [];
  /** A readable global order of sends and storage operations: "n2 send replicate-ack", "n2 storage put o:...". */
  readonly trace: string[] = [];
  /** Record every effect serialised in effectLog (slow; for the determinism test). */
  recordEffects = false;
  /** Record sends and storage operations in trace. */
  recordTrace = false;
  latencyMs = 1;
  /** Latency of one message (default: latencyMs); a test may randomise it to reorder messages. */
  latencyFn: (from: NodeId, to: NodeId) => number = () => this.latencyMs;
  storageMs = 0.25;
  /** Per-node wall-clock offset (ms): a node's `now` reads true time plus this; its monotonic time and timers do not move. */
  readonly clockOffsetMs = new Map<NodeId, number>();
  /** A failure for a node's next write (disk full, I/O error), or null to apply it (default). */
  writeFault: (id: NodeId) => StorageResult | null = () => null;

  constructor(
    count: number,
    private readonly overrides: Partial<NodeConfig> = {},
  ) {
    this.members = Array.from({ length: count }, (_, i) => `n${i + 1}`);
    for (const id of this.members) this.nodes.set(id, { id, host: null, epoch: 0, storage: new Map(), events: [], logs: [] });
  }

  config(id: NodeId): NodeConfig {
    return baseConfig(id, this.members, this.overrides);
  }

  node(id: NodeId): HarnessNode {
    const n = this.nodes.get(id);
    if (n === undefined) throw new Error(`no node ${id}`);
    return n;
  }

  schedule(delayMs: number, fire: () => void): { cancelled: boolean } {
    const box = { cancelled: false };
    const item: Scheduled = { at: this.now + delayMs, seq: this.seq++, fire: () => box.cancelled || fire() };
    // Insert keeping (at, seq) order.
    let i = this.queue.length;
    while (i > 0 && (this.queue[i - 1]?.at ?? 0) > item.at) i--;
    this.queue.splice(i, 0, item);
    return box;
  }

  /** Boots a node (again): a fresh NodeMachine over the node's surviving storage. */
  boot(id: NodeId, configOverride: Partial<NodeConfig> = {}): void {
    const n = this.node(id);
    n.host?.stop();
    n.epoch++;
    const epoch = n.epoch;
    const alive = (): boolean => n.epoch === epoch && n.host !== null && !n.host.isStopped;
    let receive: ((from: NodeId, bytes: Uint8Array) => void) | null = null;
    const ports: Ports = {
      clock: {
        now: () => this.now + (this.clockOffsetMs.get(id) ?? 0),
        monotonic: () => this.now,
        setTimer: (afterMs: number, fire: () => void): TimerHandle => {
          const box = this.schedule(afterMs, () => alive() && fire());
          return { cancel: () => (box.cancelled = true) };
        },
      },
      transport: {
        send: (to, bytes) => this.transmit(id, to, bytes),
        onMessage: (r) => (receive = r),
      },
      storage: {
        submit: (op, done) => {
          this.schedule(this.storageMs, () => {
            if (!alive()) return; // crashed before completion: the operation never happened
            const write = op.type !== "get" && op.type !== "scan";
            const result = (write ? this.writeFault(id) : null) ?? applyStorage(n.storage, op);
            done(result);
          });
        },
      },
      log: { log: (level, msg) => n.logs.push({ level, msg }) },
    };
    const config = { ...this.config(id), ...configOverride, seed: this.config(id).seed + 1000 * (epoch - 1) };
    const host = new NodeHost(createNode(config), ports, {
      onEvent: (event) => {
        n.events.push(event);
        this.timeline.push(`${(this.now - T0).toFixed(2)} ${id} ${JSON.stringify(event)}`);
      },
      onEffect: (effect) => {
        if (this.recordEffects) this.effectLog.push(`${this.now} ${id} ${serialiseEffect(effect)}`);
        if (!this.recordTrace) return;
        if (effect.kind === "send") this.trace.push(`${id} send ${decodeMessage(effect.bytes).type} ${effect.to}`);
        if (effect.kind === "storage") this.trace.push(`${id} storage ${effect.op.type} ${"key" in effect.op ? effect.op.key : ""}`);
      },
    });
    n.host = host;
    (n as { deliver?: (from: NodeId, bytes: Uint8Array) => void }).deliver = (from, bytes) => {
      if (alive() && receive !== null) receive(from, bytes);
    };
    this.timeline.push(`${(this.now - T0).toFixed(2)} ${id} BOOT`);
    host.start();
  }

  bootAll(): void {
    for (const id of this.members) this.boot(id);
  }

  stop(id: NodeId): void {
    const n = this.node(id);
    this.timeline.push(`${(this.now - T0).toFixed(2)} ${id} STOP`);
    n.host?.stop();
    n.host = null;
    n.epoch++;
  }

  /** Stop and lose all data. */
  wipe(id: NodeId): void {
    this.stop(id);
    this.node(id).storage.clear();
  }

  private transmit(from: NodeId, to: NodeId, bytes: Uint8Array): void {
    const msg = decodeMessage(bytes);
    const fate = this.netFilter(from, to, msg);
    this.sent.push({ from, to, msg, fate });
    if (fate === "drop") return;
    const copies = fate === "duplicate" ? 2 : 1;
    for (let i = 0; i < copies; i++) {
      this.schedule(this.latencyFn(from, to) + i * 0.5, () => {
        const target = this.nodes.get(to) as (HarnessNode & { deliver?: (f: NodeId, b: Uint8Array) => void }) | undefined;
        target?.deliver?.(from, bytes);
      });
    }
  }

  /** Runs every event due within the next `ms`. */
  runFor(ms: number): void {
    const end = this.now + ms;
    for (;;) {
      const next = this.queue[0];
      if (next === undefined || next.at > end) break;
      this.queue.shift();
      this.now = Math.max(this.now, next.at);
      next.fire();
    }
    this.now = end;
  }

  /** Runs until pred holds (checked after each event), up to maxMs; returns whether it held. */
  runUntil(pred: () => boolean, maxMs = 5000): boolean {
    const end = this.now + maxMs;
    while (!pred()) {
      const next = this.queue[0];
      if (next === undefined || next.at > end) {
        this.now = end;
        return pred();
      }
      this.queue.shift();
      this.now = Math.max(this.now, next.at);
      next.fire();
    }
    return true;
  }

  /** Sends a client op to a node without waiting; done runs when it answers. */
  submit(id: NodeId, op: ClientOp, done: (result: ClientResult) => void): void {
    const host = this.node(id).host;
    if (host === null) throw new Error(`${id} is down`);
    host.request(op, done);
  }

  /** Sends a client op to a node and runs until it answers. */
  request(id: NodeId, op: ClientOp, maxMs = 5000): ClientResult {
    const host = this.node(id).host;
    if (host === null) throw new Error(`${id} is down`);
    let result: ClientResult | undefined;
    host.request(op, (r) => (result = r));
    this.runUntil(() => result !== undefined, maxMs);
    if (result === undefined) throw new Error(`no reply from ${id} within ${maxMs} ms`);
    return result;
  }

  /** Boots every node and runs until all are ready. */
  startAll(): void {
    this.bootAll();
    this.runUntil(() => this.members.every((m) => this.node(m).events.some((e) => e.type === "ready")));
  }

  /** The objects a node stores, by client key (decoded). */
  objects(id: NodeId): Map<string, SiblingSet> {
    const out = new Map<string, SiblingSet>();
    for (const [k, v] of this.node(id).storage) {
      const p = parseObjectKey(k);
      if (p !== null) out.set(p.key, storedSet(v));
    }
    return out;
  }

  hints(id: NodeId): { target: NodeId; key: string; set: SiblingSet }[] {
    const out: { target: NodeId; key: string; set: SiblingSet }[] = [];
    for (const [k, v] of this.node(id).storage) {
      const p = parseHintKey(k);
      if (p !== null) out.push({ target: p.target, key: p.key, set: storedSet(v) });
    }
    return out;
  }

  eventsOf(id: NodeId, type: NodeEvent["type"]): NodeEvent[] {
    return this.node(id).events.filter((e) => e.type === type);
  }

  allEvents(type: NodeEvent["type"]): { node: NodeId; event: NodeEvent }[] {
    return this.members.flatMap((m) => this.node(m).events.filter((e) => e.type === type).map((event) => ({ node: m, event })));
  }
}

export function applyStorage(store: Map<string, Uint8Array>, op: StorageOp): StorageResult {
  switch (op.type) {
    case "get": {
      const v = store.get(op.key);
      return v === undefined ? { ok: true } : { ok: true, value: v.slice() };
    }
    case "put":
      store.set(op.key, op.value.slice());
      return { ok: true };
    case "del":
      store.delete(op.key);
      return { ok: true };
    case "batch":
      for (const [k, v] of op.puts) store.set(k, v.slice());
      for (const k of op.dels) store.delete(k);
      return { ok: true };
    case "scan": {
      const entries = [...store.entries()].filter(([k]) => k.startsWith(op.prefix)).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return { ok: true, entries: entries.map(([k, v]) => [k, v.slice()] as const) };
    }
  }
}

function serialiseEffect(effect: Effect): string {
  return JSON.stringify(effect, (_k, v: unknown) => {
    if (v instanceof Uint8Array) return Buffer.from(v).toString("hex");
    if (typeof v === "bigint") return `${v}n`;
    if (v instanceof Map) return [...(v as Map<unknown, unknown>).entries()];
    return v;
  });
}

/** Live values of a set as strings, sorted. */
export function values(set: SiblingSet | null): string[] {
  if (set === null) return [];
  return set.siblings
    .filter((s) => s.value !== null)
    .map((s) => new TextDecoder().decode(s.value ?? new Uint8Array()))
    .sort();
}

export function bytes(s: string): Uint8Array {
  return new TextEncoder().encode(s);
}
