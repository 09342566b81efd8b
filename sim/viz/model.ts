// The trace as a picture needs it: parses trace lines (sim/trace.ts) into lanes, messages
// (send -> deliveries or drop), node spans (down, paused, wiped), network cuts and clogs,
// client operations, the moments siblings form, the violations, and ownership handoff (ring
// epochs and partition transfers: transfers.ts). Pure: text in, model out;
// it reads nothing but the trace. Causality here is its own tiny model (clocks as
// {actor: counter}), never the store's code.

import { buildHandoffModel, type HandoffModel } from "./transfers.ts";

export class TraceError extends Error {}

export interface TraceLine {
  readonly t: number;
  readonly ev: string;
  readonly node: string | null;
  readonly [field: string]: unknown;
}

export type Clock = Readonly<Record<string, number>>;

export interface SetSummary {
  readonly clock: Clock;
  readonly live: readonly string[];
  readonly dead: readonly string[];
}

interface Carried {
  readonly key?: string;
  readonly set?: SetSummary;
  readonly ctx?: Clock;
  readonly keys?: readonly string[];
  /** An ownership transfer batch (its keys are in `keys`). */
  readonly transfer?: { readonly partition: number; readonly objects: number; readonly last: boolean };
}

export interface Message {
  readonly id: number;
  readonly from: string;
  readonly to: string;
  readonly type: string;
  readonly reqId: string | null;
  readonly sendT: number;
  readonly sendStep: number;
  readonly carries: Carried | null;
  readonly deliveries: { t: number; step: number }[];
  drop: { t: number; step: number; reason: string } | null;
}

export interface Span {
  readonly lane: string;
  readonly kind: "down" | "paused" | "wiped" | "cut" | "clog";
  readonly fromT: number;
  toT: number;
  readonly label: string;
  /** Partition side (0, 1) for cut spans: lanes on one side share a colour. */
  readonly side?: number;
}

export interface ClientOp {
  readonly op: number;
  readonly client: string;
  readonly node: string;
  readonly kind: string;
  readonly key: string;
  readonly value: string | null;
  readonly context: Clock | null;
  readonly invokeT: number;
  readonly invokeStep: number;
  completeT: number | null;
  completeStep: number | null;
  outcome: string | null;
  dot: string | null;
  error: string | null;
  readSiblings: number | null;
}

interface Formation {
  readonly t: number;
  readonly step: number;
  readonly node: string;
  readonly key: string;
  /** A sibling the replica already held, and the one that arrived concurrently. */
  readonly held: string;
  readonly arrived: string;
  /** The replica's clock before: it covers the held sibling, not the arriving one. */
  readonly heldClock: Clock;
  /** What the arriving value came with: a write's context (its history is that plus its one new dot), or a replicated set's clock. */
  readonly arrivedVia: "write" | "set";
  readonly arrivedClock: Clock;
  readonly siblings: readonly string[];
}

export interface NodeMark {
  readonly t: number;
  readonly step: number;
  readonly node: string;
  readonly text: string;
}

export interface TraceModel {
  readonly lines: readonly TraceLine[];
  readonly header: Readonly<Record<string, unknown>>;
  readonly nodes: readonly string[];
  readonly clients: readonly string[];
  readonly endT: number;
  readonly messages: readonly Message[];
  readonly spans: readonly Span[];
  readonly ops: readonly ClientOp[];
  readonly formations: readonly Formation[];
  readonly marks: readonly NodeMark[];
  readonly violations: readonly { property: string; detail: string; step: number }[];
  /** Actor -> short name: "n2" (or "n2#2" for a node's second incarnation). */
  readonly actorNames: ReadonlyMap<string, string>;
  /** Ring epochs and partition transfers (empty for a run without membership changes). */
  readonly handoff: HandoffModel;
}

/** Parses trace text (one JSON object per line); a bad line is a TraceError naming it. */
export function parseTraceLines(text: string): TraceLine[] {
  const out: TraceLine[] = [];
  const raw = text.split("\n");
  for (let i = 0; i < raw.length; i++) {
    const s = raw[i]!.trim();
    if (s === "") continue;
    let v: unknown;
    try {
      v = JSON.parse(s);
    } catch (e) {
      throw new TraceError(`trace line ${i + 1}: not JSON (${(e as Error).message})`);
    }
    if (typeof v !== "object" || v === null || typeof (v as TraceLine).t !== "number" || typeof (v as TraceLine).ev !== "string")
      throw new TraceError(`trace line ${i + 1}: not a trace event (needs "t" and "ev")`);
    out.push(v as TraceLine);
  }
  if (out.length === 0 || out[0]!.ev !== "run") throw new TraceError(`not a simulator trace: the first line must be the "run" header`);
  return out;
}

/** Is dot "actor:counter" covered by clock? */
export function covers(clock: Clock, dot: string): boolean {
  const i = dot.lastIndexOf(":");
  return (clock[dot.slice(0, i)] ?? 0) >= Number(dot.slice(i + 1));
}

function clockOfJson(v: unknown): Clock | null {
  if (typeof v !== "object" || v === null) return null;
  const out: Record<string, number> = {};
  for (const [a, e] of Object.entries(v as Record<string, unknown>)) {
    const c = typeof e === "number" ? e : (e as { counter?: unknown } | null)?.counter;
    if (typeof c === "number") out[a] = c;
  }
  return out;
}

function dotText(v: unknown): string | null {
  const d = v as { actor?: unknown; counter?: unknown } | null;
  return d !== null && typeof d === "object" && typeof d.actor === "string" ? `${d.actor}:${String(d.counter)}` : null;
}

function str(v: unknown): string | null {
  return typeof v === "string" ? v : null;
}

/** Sides of a cut from its description ("partition n1,n2 | n3", "isolate n2", "one-way n1 -/-> n2", "bridge n2: ..."). */
function cutSides(text: string, nodes: readonly string[]): Map<string, number> {
  const sides = new Map<string, number>();
  text = text.replace(/ \((data|control) channel\)$/, "");
  const body = text.replace(/^(partition|bridge \S+:)\s*/, "");
  if (text.startsWith("isolate ")) sides.set(text.slice(8).trim(), 0);
  else if (text.startsWith("pair ")) text.slice(5).split(" -/- ").forEach((n, side) => sides.set(n.trim(), side));
  else if (text.startsWith("one-way ")) sides.set(text.slice(8).split(" ")[0]!, 0);
  else body.split("|").forEach((group, side) => group.split(",").map((s) => s.trim()).filter((s) => nodes.includes(s)).forEach((n) => sides.set(n, side)));
  return sides;
}

/** Reads the trace line by line; one handler per kind of line. */
class ModelBuilder {
  readonly nodes: string[];
  private readonly clients = new Set<number>();
  private readonly messages = new Map<number, Message>();
  private readonly spans: Span[] = [];
  private readonly open = new Map<string, Span>();
  private readonly ops = new Map<number, ClientOp>();
  private readonly formations: Formation[] = [];
  private readonly marks: NodeMark[] = [];
  private readonly violations: { property: string; detail: string; step: number }[] = [];
  private readonly incarnations = new Map<string, string[]>();
  /** `${node} ${key}` -> the set last stored there. */
  private readonly stored = new Map<string, SetSummary>();
  // `${node} ${key}` -> what the latest write that arrived carried: a client's context (the
  // value's clock is that plus its new dot) or a whole set (its clock).
  private readonly lastIncoming = new Map<string, { readonly ctx: boolean; readonly clock: Clock }>();
  private readonly pairsSeen = new Set<string>();
  private endT = 0;

  constructor(private readonly lines: readonly TraceLine[]) {
    const spec = (lines[0] as unknown as Record<string, unknown>)["spec"] as { cluster?: { size?: number } } | undefined;
    this.nodes = Array.from({ length: spec?.cluster?.size ?? 0 }, (_, i) => `n${i + 1}`);
  }

  build(): TraceModel {
    this.lines.forEach((l, step) => this.line(l, step));
    for (const s of this.spans) if (s.toT === Infinity) s.toT = this.endT;
    const actorNames = new Map<string, string>();
    for (const [n, actors] of this.incarnations) actors.forEach((a, i) => actorNames.set(a, i === 0 ? n : `${n}#${i + 1}`));
    const handoff = buildHandoffModel(this.lines, this.messages);
    return {
      lines: this.lines, header: this.lines[0] as unknown as Record<string, unknown>, nodes: this.nodes,
      clients: [...this.clients].sort((a, b) => a - b).map((c) => `c${c}`), endT: this.endT,
      messages: [...this.messages.values()], spans: this.spans, ops: [...this.ops.values()], formations: this.formations,
      marks: [...this.marks, ...handoff.marks], violations: this.violations, actorNames, handoff,
    };
  }

  private line(l: TraceLine, step: number): void {
    this.endT = Math.max(this.endT, l.t);
    if (l.node !== null && !this.nodes.includes(l.node)) this.nodes.push(l.node);
    const node = l.node!;
    switch (l.ev) {
      case "send":
        return this.send(l, step);
      case "deliver":
        return this.deliver(l, step);
      case "drop": {
        const m = this.messages.get(l["id"] as number);
        if (m !== undefined && m.deliveries.length === 0) m.drop = { t: l.t, step, reason: String(l["reason"]) };
        return;
      }
      case "invoke":
        return this.invoke(l, step);
      case "complete":
        return this.complete(l, step);
      case "node-event":
        return this.nodeEvent(l, step);
      case "storage-op":
        return this.storageOp(l, step);
      case "crash":
      case "machine-crash":
        return this.openSpan(`down ${node}`, { lane: node, kind: "down", fromT: l.t, toT: Infinity, label: l.ev === "crash" ? "crash" : `machine crash (${String(l["lostWrites"] ?? 0)} unsynced writes lost)` });
      case "wipe":
        return this.openSpan(`down ${node}`, { lane: node, kind: "wiped", fromT: l.t, toT: Infinity, label: "wipe: machine crash + disk lost" });
      case "boot":
        this.close(`down ${node}`, l.t);
        if ((l["boot"] as number) > 1) this.marks.push({ t: l.t, step, node, text: `restart (boot ${String(l["boot"])})` });
        return;
      case "pause":
        return this.openSpan(`pause ${node}`, { lane: node, kind: "paused", fromT: l.t, toT: Infinity, label: "paused" });
      case "resume":
        return this.close(`pause ${node}`, l.t);
      case "cut":
      case "uncut":
      case "clog":
      case "heal":
      case "heal-all":
        return this.network(l);
      case "violation":
        this.violations.push({ property: String(l["property"]), detail: String(l["detail"]), step });
        return;
      case "exception":
        this.violations.push({ property: "exception", detail: String(l["message"]), step });
        return;
      default:
        return;
    }
  }

  private close(key: string, t: number): void {
    const s = this.open.get(key);
    if (s === undefined) return;
    s.toT = t;
    this.open.delete(key);
  }

  private openSpan(key: string, span: Span): void {
    this.close(key, span.fromT);
    this.spans.push(span);
    this.open.set(key, span);
  }

  private send(l: TraceLine, step: number): void {
    this.messages.set(l["id"] as number, {
      id: l["id"] as number, from: l.node!, to: l["to"] as string, type: String(l["type"]), reqId: str(l["reqId"]),
      sendT: l.t, sendStep: step, carries: (l["carries"] as Carried | undefined) ?? null, deliveries: [], drop: null,
    });
  }

  private deliver(l: TraceLine, step: number): void {
    const m = this.messages.get(l["id"] as number);
    if (m === undefined) return;
    m.deliveries.push({ t: l.t, step });
    const c = m.carries;
    if (c?.key !== undefined && c.set !== undefined) this.lastIncoming.set(`${l.node} ${c.key}`, { ctx: false, clock: c.set.clock });
    else if (c?.key !== undefined && c.ctx !== undefined) this.lastIncoming.set(`${l.node} ${c.key}`, { ctx: true, clock: c.ctx });
  }

  private invoke(l: TraceLine, step: number): void {
    this.clients.add(Number(l["client"]));
    const ctx = clockOfJson(l["context"]);
    const op: ClientOp = {
      op: l["op"] as number, client: `c${String(l["client"])}`, node: l.node!, kind: String(l["kind"]), key: String(l["key"]), value: str(l["value"]),
      context: ctx, invokeT: l.t, invokeStep: step, completeT: null, completeStep: null, outcome: null, dot: null, error: null, readSiblings: null,
    };
    this.ops.set(op.op, op);
    if (op.kind !== "get") this.lastIncoming.set(`${l.node} ${op.key}`, { ctx: true, clock: ctx ?? {} });
  }

  private complete(l: TraceLine, step: number): void {
    const op = this.ops.get(l["op"] as number);
    if (op === undefined) return;
    op.completeT = l.t;
    op.completeStep = step;
    op.outcome = str(l["outcome"]);
    op.dot = dotText(l["dot"]);
    op.error = str(l["error"]) ?? (l["error"] ? JSON.stringify(l["error"]) : null);
    const read = l["read"] as { siblings?: { value: unknown }[] } | null;
    op.readSiblings = read?.siblings ? read.siblings.filter((s) => s.value !== null).length : null;
  }

  private nodeEvent(l: TraceLine, step: number): void {
    const node = l.node!;
    const e = l["event"] as Record<string, unknown>;
    const type = String(e["type"]);
    if (type === "ready") {
      const list = this.incarnations.get(node) ?? [];
      if (!list.includes(String(e["actor"]))) list.push(String(e["actor"]));
      this.incarnations.set(node, list);
    } else if (type === "suspect" || type === "unsuspect") this.marks.push({ t: l.t, step, node, text: `${type}s ${String(e["peer"])}` });
    else if (type === "hint-stored") this.marks.push({ t: l.t, step, node, text: `hint ${String(e["key"])} for ${String(e["forNode"])}` });
    else if (type === "handoff") this.marks.push({ t: l.t, step, node, text: `handoff ${String(e["key"])} to ${String(e["to"])}` });
    else if (type === "read-repair") this.marks.push({ t: l.t, step, node, text: `read repair ${String(e["key"])} to ${String(e["to"])}` });
  }

  /**
   * Siblings form where a replica stores a set holding a sibling it already held next to one
   * that just arrived, the first time that pair is seen anywhere.
   */
  private storageOp(l: TraceLine, step: number): void {
    for (const s of (l["sets"] as { key: string; set: SetSummary }[] | undefined) ?? []) {
      const k = `${l.node} ${s.key}`;
      const before = this.stored.get(k);
      this.stored.set(k, s.set);
      if (before === undefined || s.set.live.length < 2) continue;
      const held = s.set.live.find((d) => before.live.includes(d));
      const arrived = s.set.live.find((d) => !before.live.includes(d));
      if (held === undefined || arrived === undefined) continue;
      const pair = `${s.key} ${held} ${arrived}`;
      if (this.pairsSeen.has(pair)) continue;
      this.pairsSeen.add(pair);
      // What the arriving value came with: a write's context (a dot is one event, so the
      // value's history is the context plus that single dot), or the clock of the set it came in.
      const incoming = this.lastIncoming.get(k) ?? { ctx: true, clock: {} };
      this.formations.push({
        t: l.t, step, node: l.node!, key: s.key, held, arrived, heldClock: before.clock,
        arrivedVia: incoming.ctx ? "write" : "set", arrivedClock: incoming.clock, siblings: s.set.live,
      });
    }
  }

  /** Partitions and other cuts shade the lanes of their sides; clogs both ends; heals end cuts (heal-all also pauses). */
  private network(l: TraceLine): void {
    if (l.ev === "cut") {
      const text = String(l["cut"]);
      for (const [n, side] of cutSides(text, this.nodes)) this.openSpan(`cut ${text} ${n}`, { lane: n, kind: "cut", fromT: l.t, toT: Infinity, label: text, side });
    } else if (l.ev === "uncut") {
      const text = String(l["cut"]);
      for (const key of [...this.open.keys()]) if (key.startsWith(`cut ${text} `)) this.close(key, l.t);
    } else if (l.ev === "clog") {
      const until = l.t + Number(l["untilMs"] ?? 0);
      for (const n of [String(l["a"]), String(l["b"])]) this.spans.push({ lane: n, kind: "clog", fromT: l.t, toT: until, label: `clog ${String(l["a"])} <-> ${String(l["b"])}` });
    } else {
      for (const key of [...this.open.keys()]) if (key.startsWith("cut ") || (l.ev === "heal-all" && key.startsWith("pause "))) this.close(key, l.t);
    }
  }
}

export function buildModel(lines: readonly TraceLine[]): TraceModel {
  return new ModelBuilder(lines).build();
}

/** Short text of an actor ("n2.34057444" -> "n2"). */
function actorName(model: TraceModel, actor: string): string {
  return model.actorNames.get(actor) ?? actor.replace(/^([^.]+)\.([0-9a-f]{4})[0-9a-f]*$/, "$1.$2");
}

export function dotName(model: TraceModel, dot: string): string {
  const i = dot.lastIndexOf(":");
  return `${actorName(model, dot.slice(0, i))}:${dot.slice(i + 1)}`;
}

export function clockName(model: TraceModel, clock: Clock): string {
  const parts = Object.entries(clock).map(([a, c]) => `${actorName(model, a)}:${c}`).sort();
  return `{${parts.join(", ")}}`;
}

/** The one-line reason two versions are siblings: neither clock descends the other. */
export function explainFormation(model: TraceModel, f: Formation): string {
  const held = dotName(model, f.held);
  const arrived = dotName(model, f.arrived);
  const hc = clockName(model, f.heldClock);
  const ac = clockName(model, f.arrivedClock);
  const what = f.arrivedVia === "write" ? `context of ${arrived}` : "arriving set";
  if (covers(f.heldClock, f.arrived) || covers(f.arrivedClock, f.held)) return `${held} and ${arrived} are both kept: ${hc} vs ${ac}`;
  return `${arrived} ∉ ${hc} (replica) and ${held} ∉ ${ac} (${what}): neither descends the other, so both stay`;
}

/** The arriving side of a formation, as the diagram labels it. */
export function arrivingText(model: TraceModel, f: Formation): string {
  return f.arrivedVia === "write" ? `write ${dotName(model, f.arrived)} with context ${clockName(model, f.arrivedClock)}` : `set with clock ${clockName(model, f.arrivedClock)}`;
}
