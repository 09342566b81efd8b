// The simulated network: carries the production msgpack bytes between nodes with a
// per-link latency distribution (base + jitter, so messages reorder), random drop and
// duplication, network cuts (symmetric partition, one-way, isolate-one, bridge, one pair)
// checked at delivery time, and clogged links (messages held until the clog ends). It logs which
// replies reached which coordinator (the quorum checker). It knows nothing of processes: delivery
// goes through a callback that may refuse (node down).
//
// Channels. Like production (two ZeroMQ sockets per pair of nodes, src/adapters/zmq-transport.ts),
// every pair of nodes has a control channel and a data channel; the SUT's `channelOf` says
// which one a message takes (MecDB: heartbeats on control, everything else on data, the same
// function the production transport uses). Both channels of a link share its base latency and
// draw their jitter from the same stream as before channels existed (a run without channel
// faults is the same run). A cut or a busy spell may name one channel: a data-only cut is a
// dead data socket under a live control socket; a busy data channel adds a backlog delay to
// data messages only. Cuts without a channel, clogs, drops and duplicates hit both.
import type { NodeId } from "../src/core/types.ts";
import type { Rng } from "./rng.ts";
import type { Scheduler } from "./scheduler.ts";
import type { SystemUnderTest } from "./sut.ts";
import type { Tracer } from "./trace.ts";
import { fnv32Bytes } from "./rng.ts";

/** The two channels between a pair of nodes. */
export type SimChannel = "control" | "data";

/** A cut blocks some directed links while it is active: on one channel, or (no channel) on both. */
export type Cut = (
  | { readonly kind: "partition"; readonly groups: ReadonlyMap<NodeId, number> }
  | { readonly kind: "one-way"; readonly from: NodeId; readonly to: NodeId }
  | { readonly kind: "isolate"; readonly node: NodeId }
  | { readonly kind: "bridge"; readonly groups: ReadonlyMap<NodeId, number>; readonly bridge: NodeId }
  | { readonly kind: "pair"; readonly a: NodeId; readonly b: NodeId }
) & { readonly channel?: SimChannel };

/** A busy channel: messages on it between `a` and `b` (b null: a and any peer) wait extraMs more. */
export interface Busy {
  readonly a: NodeId;
  readonly b: NodeId | null;
  readonly channel: SimChannel;
  readonly extraMs: number;
  readonly untilMs: number;
}

export function cutBlocks(cut: Cut, from: NodeId, to: NodeId, channel?: SimChannel): boolean {
  if (cut.channel !== undefined && channel !== undefined && cut.channel !== channel) return false;
  switch (cut.kind) {
    case "pair":
      return (from === cut.a && to === cut.b) || (from === cut.b && to === cut.a);
    case "partition":
      return cut.groups.get(from) !== cut.groups.get(to);
    case "one-way":
      return cut.from === from && cut.to === to;
    case "isolate":
      return from !== to && (from === cut.node || to === cut.node);
    case "bridge":
      return from !== cut.bridge && to !== cut.bridge && cut.groups.get(from) !== cut.groups.get(to);
  }
}

export interface LatencyModel {
  /** Per-link base latency is drawn uniformly from [baseMinMs, baseMaxMs]. */
  readonly baseMinMs: number;
  readonly baseMaxMs: number;
  /** Each message adds uniform jitter in [0, jitterMs] (this reorders messages). */
  readonly jitterMs: number;
  /** Probability of a latency spike of up to spikeMs. */
  readonly spikeRate: number;
  readonly spikeMs: number;
  /**
   * Optional: draws each message's delay itself (replaces base + jitter + spike; the quorum
   * lab uses it to give each WARS leg its own distribution). Must draw from its own seeded stream.
   */
  readonly sampleMs?: (from: NodeId, to: NodeId, bytes: Uint8Array) => number;
}

type Deliver = (to: NodeId, from: NodeId, bytes: Uint8Array) => boolean;

export class SimNetwork {
  dropRate = 0;
  dupRate = 0;
  private readonly cuts = new Set<Cut>();
  private readonly clogUntil = new Map<string, number>();
  private readonly busy = new Set<Busy>();
  private readonly linkBase = new Map<string, number>();
  /** `${to} ${reqId}` -> distinct senders of replies delivered to `to`. */
  readonly replies = new Map<string, Set<NodeId>>();
  /** `${to} ${reqId}` -> distinct senders whose delivered reply refused the request. */
  readonly refusals = new Map<string, Set<NodeId>>();
  sent = 0;
  delivered = 0;
  dropped = 0;
  duplicated = 0;

  constructor(
    private readonly sched: Scheduler,
    private readonly rng: Rng,
    private readonly tracer: Tracer,
    private readonly sut: SystemUnderTest,
    private readonly latency: LatencyModel,
    private readonly deliver: Deliver,
  ) {}

  addCut(cut: Cut): void {
    this.cuts.add(cut);
    if (this.tracer.on) this.tracer.emit(this.sched.now, "cut", null, { cut: describeCut(cut) });
  }

  removeCut(cut: Cut): void {
    if (!this.cuts.delete(cut)) return;
    if (this.tracer.on) this.tracer.emit(this.sched.now, "uncut", null, { cut: describeCut(cut) });
  }

  clog(a: NodeId, b: NodeId, untilMs: number): void {
    this.clogUntil.set(`${a}>${b}`, untilMs);
    this.clogUntil.set(`${b}>${a}`, untilMs);
    if (this.tracer.on) this.tracer.emit(this.sched.now, "clog", null, { a, b, untilMs: untilMs - this.sched.now });
  }

  /** Makes one channel of a's links (or of the pair a, b) slow until busy.untilMs. */
  addBusy(busy: Busy): void {
    this.busy.add(busy);
    if (this.tracer.on) this.tracer.emit(this.sched.now, "busy", null, { a: busy.a, b: busy.b, channel: busy.channel, extraMs: busy.extraMs, untilMs: busy.untilMs - this.sched.now });
  }

  /** Clears every cut, clog, busy channel and random loss: the healed network. */
  heal(): void {
    this.cuts.clear();
    this.clogUntil.clear();
    this.busy.clear();
    this.dropRate = 0;
    this.dupRate = 0;
    if (this.tracer.on) this.tracer.emit(this.sched.now, "heal", null);
  }

  /** Whether a message from -> to on `channel` (omitted: on both) is cut now. */
  blocked(from: NodeId, to: NodeId, channel?: SimChannel): boolean {
    for (const cut of this.cuts) if (cutBlocks(cut, from, to, channel)) return true;
    return false;
  }

  /** The channel a message takes (the SUT's choice; data when it has none). */
  channelOf(bytes: Uint8Array): SimChannel {
    return this.sut.channelOf?.(bytes) ?? "data";
  }

  /** The backlog delay a message sent now on `channel` from -> to waits (no random draw). */
  private busyMs(from: NodeId, to: NodeId, channel: SimChannel): number {
    let ms = 0;
    for (const b of this.busy) {
      if (b.untilMs <= this.sched.now) {
        this.busy.delete(b);
        continue;
      }
      const hit = b.b === null ? from === b.a || to === b.a : (from === b.a && to === b.b) || (from === b.b && to === b.a);
      if (hit && b.channel === channel) ms = Math.max(ms, b.extraMs);
    }
    return ms;
  }

  private linkLatency(from: NodeId, to: NodeId, bytes: Uint8Array, channel: SimChannel): number {
    const link = `${from}>${to}`;
    const clog = this.clogUntil.get(link);
    const clogMs = (clog !== undefined && clog > this.sched.now ? clog - this.sched.now : 0) + (this.busy.size === 0 ? 0 : this.busyMs(from, to, channel));
    if (this.latency.sampleMs !== undefined) return this.latency.sampleMs(from, to, bytes) + clogMs;
    let base = this.linkBase.get(link);
    if (base === undefined) {
      base = this.latency.baseMinMs + this.rng.next() * (this.latency.baseMaxMs - this.latency.baseMinMs);
      this.linkBase.set(link, base);
    }
    let ms = base + this.rng.next() * this.latency.jitterMs;
    if (this.rng.chance(this.latency.spikeRate)) ms += this.rng.next() * this.latency.spikeMs;
    return ms + clogMs;
  }

  send(from: NodeId, to: NodeId, bytesIn: Uint8Array): void {
    // An encoder may reuse its buffer after send returns: copy views into a larger buffer
    // (the node's encodeMessage already returns a fresh, exact-size copy).
    const bytes = bytesIn.byteOffset === 0 && bytesIn.byteLength === bytesIn.buffer.byteLength ? bytesIn : bytesIn.slice();
    this.sent++;
    const id = this.sent;
    const channel = this.channelOf(bytes);
    if (this.tracer.on) this.tracer.emit(this.sched.now, "send", from, { to, id, ...this.summary(bytes), ...(channel === "control" ? { channel } : {}) });
    if (this.rng.chance(this.dropRate)) {
      this.dropped++;
      if (this.tracer.on) this.tracer.emit(this.sched.now, "drop", from, { to, id, reason: "loss" });
      return;
    }
    const copies = this.rng.chance(this.dupRate) ? 2 : 1;
    for (let c = 0; c < copies; c++) {
      if (c > 0) {
        this.duplicated++;
        if (this.tracer.on) this.tracer.emit(this.sched.now, "duplicate", from, { to, id });
      }
      this.sched.after(this.linkLatency(from, to, bytes, channel), () => this.arrive(from, to, bytes, id, channel));
    }
  }

  private arrive(from: NodeId, to: NodeId, bytes: Uint8Array, id: number, channel: SimChannel): void {
    if (this.blocked(from, to, channel)) {
      this.dropped++;
      if (this.tracer.on) this.tracer.emit(this.sched.now, "drop", to, { from, id, reason: "cut" });
      return;
    }
    if (!this.deliver(to, from, bytes)) {
      this.dropped++;
      if (this.tracer.on) this.tracer.emit(this.sched.now, "drop", to, { from, id, reason: "down" });
      return;
    }
    this.delivered++;
    if (this.tracer.on) this.tracer.emit(this.sched.now, "deliver", to, { from, id });
  }

  /** Called by the process when the node actually takes the message in (not paused). */
  noteReceived(to: NodeId, from: NodeId, bytes: Uint8Array): void {
    const info = this.sut.describeMessage(bytes);
    if (info === null || !info.isReply || info.reqId === null) return;
    const k = `${to} ${info.reqId}`;
    addTo(this.replies, k, from);
    if (info.refusal === true) addTo(this.refusals, k, from);
  }

  private summary(bytes: Uint8Array): Record<string, unknown> {
    const info = this.sut.describeMessage(bytes);
    const carries = this.tracer.describe?.message(bytes) ?? null;
    return { type: info?.type ?? "?", reqId: info?.reqId ?? null, size: bytes.length, h: fnv32Bytes(bytes).toString(16), ...(carries ? { carries } : {}) };
  }
}

function describeCut(cut: Cut): string {
  return cut.channel === undefined ? describeLinks(cut) : `${describeLinks(cut)} (${cut.channel} channel)`;
}

function describeLinks(cut: Cut): string {
  switch (cut.kind) {
    case "pair":
      return `pair ${cut.a} -/- ${cut.b}`;
    case "partition":
    case "bridge": {
      const sides = new Map<number, NodeId[]>();
      for (const [node, g] of [...cut.groups].sort((a, b) => (a[0] < b[0] ? -1 : 1))) {
        const list = sides.get(g) ?? [];
        list.push(node);
        sides.set(g, list);
      }
      const text = [...sides.values()].map((s) => s.join(",")).join(" | ");
      return cut.kind === "bridge" ? `bridge ${cut.bridge}: ${text}` : `partition ${text}`;
    }
    case "one-way":
      return `one-way ${cut.from} -/-> ${cut.to}`;
    case "isolate":
      return `isolate ${cut.node}`;
  }
}

function addTo(log: Map<string, Set<NodeId>>, k: string, from: NodeId): void {
  let senders = log.get(k);
  if (senders === undefined) {
    senders = new Set();
    log.set(k, senders);
  }
  senders.add(from);
}
