// The space-time diagram of a simulator trace: a pure function from the trace model to an SVG
// string (same trace and options, same bytes). One lane per node and per client, time
// downward; each message an arrow from send to delivery labelled with its kind and the key,
// dots and clock it carries; a dropped message ends in a cross; crashes, wipes, pauses,
// partition sides and clogs are shaded on the lanes; client operations run between client
// and coordinator lanes with their outcome; the moments siblings form are marked, with the two
// concurrent clocks and why they are concurrent in a note column on the right. Ownership
// handoff, when the trace has any: partition transfers are thick magenta arrows labelled with
// the partition and object count (their acks thin and dotted), each ring epoch is a dashed line
// across all lanes where a node first adopted it, and a transfers summary sits under the
// diagram; a trace without them draws none of it (not even the legend entry or the styles).
//
// Time is drawn on a stretched axis: every drawn event gets a row, rows are spaced by the
// time between them (3 px per ms) but never closer than a label needs nor further than 48 px,
// so bursts stay readable and idle stretches do not waste the page. Long runs are windowed:
// without --from-ms/--to-ms the window starts just before the first client operation and ends
// after maxMessages arrows.
import { arrivingText, clockName, dotName, explainFormation, type ClientOp, type Message, type Span, type TraceModel } from "./model.ts";
import { summariseTransfers, transferRunText, transferSummaryText, type EpochChange } from "./transfers.ts";

interface SvgOptions {
  readonly key?: string;
  readonly nodes?: readonly string[];
  readonly fromMs?: number;
  readonly toMs?: number;
  /** Draw heartbeats too (hidden by default: they are most of the traffic and carry nothing). */
  readonly heartbeats?: boolean;
  /** Arrows in a default window (default 250). */
  readonly maxMessages?: number;
  /** A trace step to highlight (the viewer's current step). */
  readonly focusStep?: number;
  /** Formations explained in notes (the others are marked only; default 6). */
  readonly notesMax?: number;
}

const LANE_GAP = 175;
const LEFT = 90;
const TOP = 126;
const NOTE_W = 640;
const PX_PER_MS = 3;
const ROW_MIN = 15;
const ROW_MAX = 48;
const FIRST_LANE_MARK_ROOM = 140;

function esc(s: string): string {
  return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
}

function clip(s: string, n: number): string {
  return s.length <= n ? s : `${s.slice(0, n - 1)}…`;
}

function num(v: number): string {
  return String(Math.round(v * 10) / 10);
}

function ms(t: number): string {
  return `${num(t)} ms`;
}

const COLORS: Record<string, string> = {
  put: "#1f5fbf", get: "#1f5fbf", replicate: "#1b8a3a", repair: "#b35c00", handoff: "#7a3db8", reap: "#666666",
  heartbeat: "#bbbbbb", "ae-buckets": "#13808a", "ae-buckets-reply": "#13808a", "ae-sync": "#13808a", "ae-sync-reply": "#13808a",
};

/** Ownership transfers (and their acks): a colour of their own, outside COLORS so traces without transfers keep their bytes. */
const TRANSFER_COLOR = "#c2185b";
const TRANSFER_ACK_COLOR = "#d0457a";
const EPOCH_COLOR = "#9a7d0a";

function isTransfer(type: string): boolean {
  return type === "transfer" || type === "transfer-ack";
}

function colorOf(type: string): string {
  if (type === "transfer") return TRANSFER_COLOR;
  if (type === "transfer-ack") return TRANSFER_ACK_COLOR;
  return COLORS[type] ?? "#888888";
}

interface Window {
  readonly fromT: number;
  readonly toT: number;
  readonly note: string;
}

/** Which messages and operations the filters keep (before windowing). */
function selected(model: TraceModel, opts: SvgOptions): { messages: Message[]; ops: ClientOp[]; lanes: string[] } {
  const nodeSet = opts.nodes && opts.nodes.length > 0 ? new Set(opts.nodes) : null;
  const onLane = (n: string): boolean => nodeSet === null || nodeSet.has(n);
  let messages = model.messages.filter((m) => (opts.heartbeats || m.type !== "heartbeat") && onLane(m.from) && onLane(m.to));
  let ops = model.ops.filter((o) => onLane(o.node));
  if (opts.key !== undefined) {
    const k = opts.key;
    const reqs = new Set(messages.filter((m) => m.carries?.key === k || m.carries?.keys?.includes(k)).map((m) => m.reqId).filter((r) => r !== null));
    messages = messages.filter((m) => m.carries?.key === k || m.carries?.keys?.includes(k) || (m.reqId !== null && reqs.has(m.reqId)));
    ops = ops.filter((o) => o.key === k);
  }
  const clients = model.clients.filter((c) => ops.some((o) => o.client === c));
  return { messages, ops, lanes: [...model.nodes.filter(onLane), ...clients] };
}

function chooseWindow(model: TraceModel, messages: readonly Message[], ops: readonly ClientOp[], opts: SvgOptions): Window {
  const firstOp = ops[0]?.invokeT;
  const autoFrom = firstOp !== undefined ? Math.max(0, Math.floor(firstOp - 5)) : 0;
  if (opts.fromMs !== undefined || opts.toMs !== undefined) {
    return { fromT: opts.fromMs ?? Math.min(autoFrom, opts.toMs ?? autoFrom), toT: opts.toMs ?? model.endT, note: "" };
  }
  const fromT = autoFrom;
  const inside = messages.filter((m) => m.sendT >= fromT);
  const max = opts.maxMessages ?? 250;
  if (inside.length <= max) return { fromT, toT: model.endT, note: "" };
  const toT = Math.ceil(inside[max - 1]!.sendT + 10);
  return { fromT, toT, note: `window ${ms(fromT)} to ${ms(toT)} of ${ms(model.endT)} (${max} of ${inside.length} messages); narrow or move it with --from-ms / --to-ms, --key, --nodes` };
}

/** The stretched time axis: rows at drawn times, y(t) interpolated between them. */
class Axis {
  readonly times: number[];
  readonly ys: number[];

  constructor(times: number[], top: number) {
    this.times = [...new Set(times)].sort((a, b) => a - b);
    this.ys = [];
    let y = top;
    this.times.forEach((t, i) => {
      if (i > 0) y += Math.min(ROW_MAX, Math.max(ROW_MIN, (t - this.times[i - 1]!) * PX_PER_MS));
      this.ys.push(y);
    });
  }

  y(t: number): number {
    const ts = this.times;
    if (ts.length === 0) return TOP;
    if (t <= ts[0]!) return this.ys[0]!;
    if (t >= ts[ts.length - 1]!) return this.ys[ts.length - 1]!;
    let lo = 0;
    let hi = ts.length - 1;
    while (hi - lo > 1) {
      const mid = (lo + hi) >> 1;
      if (ts[mid]! <= t) lo = mid;
      else hi = mid;
    }
    const f = (t - ts[lo]!) / (ts[hi]! - ts[lo]!);
    return this.ys[lo]! + f * (this.ys[hi]! - this.ys[lo]!);
  }

  get bottom(): number {
    return this.ys[this.ys.length - 1] ?? TOP;
  }
}

function messageLabel(model: TraceModel, m: Message): string {
  const c = m.carries;
  if (c?.transfer !== undefined) {
    const t = c.transfer;
    return `transfer p${t.partition}: ${t.objects} object${t.objects === 1 ? "" : "s"}${t.last ? " (last)" : ""}`;
  }
  const parts = [m.type];
  if (c?.key !== undefined) parts.push(c.key);
  if (c?.keys !== undefined) parts.push(c.keys.join(","));
  if (c?.ctx !== undefined) parts.push(`ctx ${clockName(model, c.ctx)}`);
  if (c?.set !== undefined) {
    const dots = [...c.set.live.map((d) => dotName(model, d)), ...c.set.dead.map((d) => `†${dotName(model, d)}`)];
    parts.push(`[${dots.join(" ")}] ${clockName(model, c.set.clock)}`);
  }
  return clip(parts.join(" "), 64);
}

function opLabel(o: ClientOp): string {
  if (o.kind === "get") return `get ${o.key}`;
  const what = o.kind === "delete" ? `delete ${o.key}` : `put ${o.key} ← ${o.value ?? ""}`;
  return clip(`${what}${o.context === null ? " (blind)" : ""}`, 40);
}

function outcomeLabel(model: TraceModel, o: ClientOp): string {
  if (o.outcome === "ok") {
    if (o.kind === "get") return o.readSiblings === null ? "ok: not found" : `ok: ${o.readSiblings} value${o.readSiblings === 1 ? "" : "s"}`;
    return `ok ${o.dot !== null ? dotName(model, o.dot) : ""}`.trim();
  }
  return clip(`${o.outcome ?? "?"}${o.error !== null ? `: ${o.error}` : ""}`, 40);
}

function outcomeColor(outcome: string | null): string {
  return outcome === "ok" ? "#1b8a3a" : outcome === "failed" ? "#c0392b" : "#d68910";
}

const SPAN_STYLE: Record<Span["kind"], { fill: string; opacity: number; dx: number; w: number }> = {
  down: { fill: "#e74c3c", opacity: 0.28, dx: -9, w: 18 },
  wiped: { fill: "#222222", opacity: 0.45, dx: -9, w: 18 },
  paused: { fill: "url(#hatch)", opacity: 1, dx: -9, w: 18 },
  cut: { fill: "#2e86de", opacity: 0.3, dx: 11, w: 7 },
  clog: { fill: "#8e44ad", opacity: 0.35, dx: -18, w: 7 },
};

/** What is drawn, where: the selection inside the window, the time axis and the lane positions. */
interface Scene {
  readonly model: TraceModel;
  readonly opts: SvgOptions;
  readonly win: Window;
  readonly lanes: readonly string[];
  readonly messages: readonly Message[];
  readonly ops: readonly ClientOp[];
  readonly spans: readonly Span[];
  readonly formations: readonly TraceModel["formations"][number][];
  readonly marks: readonly TraceModel["marks"][number][];
  readonly epochs: readonly EpochChange[];
  readonly focusT: number | undefined;
  readonly axis: Axis;
  readonly notesX: number;
  readonly bottom: number;
  inWin(t: number): boolean;
  clampT(t: number): number;
  lx(lane: string): number;
}

function layout(model: TraceModel, opts: SvgOptions): Scene {
  const sel = selected(model, opts);
  const win = chooseWindow(model, sel.messages, sel.ops, opts);
  const inWin = (t: number): boolean => t >= win.fromT && t <= win.toT;
  const clampT = (t: number): number => Math.min(win.toT, Math.max(win.fromT, t));
  const laneSet = new Set(sel.lanes);
  const messages = sel.messages.filter((m) => inWin(m.sendT));
  const ops = sel.ops.filter((o) => inWin(o.invokeT) || (o.completeT !== null && inWin(o.completeT)));
  const spans = model.spans.filter((s) => laneSet.has(s.lane) && s.toT >= win.fromT && s.fromT <= win.toT);
  const formations = model.formations.filter((f) => laneSet.has(f.node) && inWin(f.t) && (opts.key === undefined || f.key === opts.key));
  const marks = model.marks.filter((k) => laneSet.has(k.node) && inWin(k.t));
  const epochs = model.handoff.epochs.filter((e) => inWin(e.t));
  const focusT = opts.focusStep !== undefined ? model.lines[opts.focusStep]?.t : undefined;
  // Every drawn event gets a row on the axis.
  const times: number[] = [];
  for (const m of messages) {
    times.push(m.sendT);
    for (const d of m.deliveries) times.push(clampT(d.t));
    if (m.drop) times.push(clampT(m.drop.t));
  }
  for (const o of ops) {
    if (inWin(o.invokeT)) times.push(o.invokeT);
    if (o.completeT !== null && inWin(o.completeT)) times.push(o.completeT);
  }
  for (const sp of spans) times.push(clampT(sp.fromT), clampT(sp.toT));
  for (const f of formations) times.push(f.t);
  for (const k of marks) times.push(k.t);
  for (const e of epochs) times.push(e.t);
  if (focusT !== undefined && inWin(focusT)) times.push(focusT);
  times.push(win.fromT);
  if (times.length === 1) times.push(win.toT);
  const axis = new Axis(times, TOP + 16);
  // Marks on the first lane are written left of it: room for them beside the time axis.
  const firstX = LEFT + 40 + (marks.some((k) => k.node === sel.lanes[0]) ? FIRST_LANE_MARK_ROOM : 0);
  const x = new Map(sel.lanes.map((l, i) => [l, firstX + i * LANE_GAP]));
  return {
    model, opts, win, lanes: sel.lanes, messages, ops, spans, formations, marks, epochs, focusT, axis,
    notesX: firstX + Math.max(0, sel.lanes.length - 1) * LANE_GAP + 120,
    bottom: axis.bottom + 30,
    inWin, clampT,
    lx: (lane) => x.get(lane) ?? LEFT,
  };
}

function drawLanes(sc: Scene): string[] {
  const out: string[] = [];
  for (const lane of sc.lanes) {
    const isClient = lane.startsWith("c");
    out.push(`<text x="${sc.lx(lane)}" y="${TOP - 8}" text-anchor="middle" class="${isClient ? "client" : "node"}">${esc(lane)}</text>`);
    out.push(`<line x1="${sc.lx(lane)}" y1="${TOP}" x2="${sc.lx(lane)}" y2="${num(sc.bottom)}" class="${isClient ? "lane-c" : "lane"}"/>`);
  }
  return out;
}

function drawSpans(sc: Scene): string[] {
  const out: string[] = [];
  for (const s of sc.spans) {
    const st = SPAN_STYLE[s.kind];
    const y1 = sc.axis.y(sc.clampT(s.fromT));
    const y2 = Math.max(y1 + 4, sc.axis.y(sc.clampT(s.toT)));
    const fill = s.kind === "cut" && s.side === 1 ? "#e67e22" : st.fill;
    out.push(`<rect x="${sc.lx(s.lane) + st.dx}" y="${num(y1)}" width="${st.w}" height="${num(y2 - y1)}" fill="${fill}" fill-opacity="${st.opacity}"><title>${esc(`${s.label}: ${ms(s.fromT)} to ${ms(s.toT)}`)}</title></rect>`);
    out.push(`<text x="${sc.lx(s.lane) + 20}" y="${num(y1 + 9)}" class="span">${esc(clip(s.label, 44))}</text>`);
  }
  return out;
}

/** The viewer's current step (a line across all lanes) and the time axis (a tick label where there is room). */
function drawAxis(sc: Scene): string[] {
  const out: string[] = [];
  if (sc.focusT !== undefined && sc.inWin(sc.focusT)) {
    const y = sc.axis.y(sc.focusT);
    out.push(`<line x1="${LEFT + 16}" y1="${num(y)}" x2="${sc.notesX - 20}" y2="${num(y)}" class="now"/><text x="${sc.notesX - 24}" y="${num(y - 3)}" text-anchor="end" class="now">${esc(`step ${sc.opts.focusStep}`)}</text>`);
  }
  let lastLabelY = -Infinity;
  sc.axis.times.forEach((t, i) => {
    const y = sc.axis.ys[i]!;
    if (y - lastLabelY < 14) return;
    lastLabelY = y;
    out.push(`<text x="${LEFT}" y="${num(y + 3)}" text-anchor="end" class="tick">${esc(ms(t))}</text>`);
    out.push(`<line x1="${LEFT + 4}" y1="${num(y)}" x2="${LEFT + 14}" y2="${num(y)}" class="tickmark"/>`);
  });
  return out;
}

function drawMessage(sc: Scene, m: Message, out: string[]): void {
  const { axis, clampT, opts } = sc;
  const x1 = sc.lx(m.from);
  const y1 = axis.y(m.sendT);
  const x2full = sc.lx(m.to);
  const color = colorOf(m.type);
  const label = messageLabel(sc.model, m);
  const focus = opts.focusStep !== undefined && (m.sendStep === opts.focusStep || m.deliveries.some((d) => d.step === opts.focusStep) || m.drop?.step === opts.focusStep);
  const classes = [m.type === "transfer" ? "xfer" : m.type === "transfer-ack" ? "xfer-ack" : "", focus ? "focus" : ""].filter((c) => c !== "");
  const cls = classes.length > 0 ? ` class="${classes.join(" ")}"` : "";
  for (const d of m.deliveries) {
    const y2 = axis.y(clampT(d.t));
    out.push(`<line x1="${x1}" y1="${num(y1)}" x2="${x2full}" y2="${num(y2)}" stroke="${color}" marker-end="url(#arrow-${color.slice(1)})"${cls}><title>${esc(`#${m.id} ${m.from} -> ${m.to} ${label} (${ms(m.sendT)} -> ${ms(d.t)})`)}</title></line>`);
  }
  if (m.drop !== null) {
    // Lost on the wire: the arrow stops half way. Cut or down: it reached the receiver's side.
    const frac = m.drop.reason === "loss" ? 0.45 : 0.85;
    const x2 = x1 + (x2full - x1) * frac;
    const y2 = m.drop.reason === "loss" ? y1 + 8 : axis.y(clampT(m.drop.t));
    out.push(`<line x1="${x1}" y1="${num(y1)}" x2="${num(x2)}" y2="${num(y2)}" stroke="${color}" stroke-dasharray="3 2"${cls}><title>${esc(`#${m.id} ${m.from} -> ${m.to} ${label}: dropped (${m.drop.reason})`)}</title></line>`);
    out.push(`<path d="M${num(x2 - 4)},${num(y2 - 4)} L${num(x2 + 4)},${num(y2 + 4)} M${num(x2 - 4)},${num(y2 + 4)} L${num(x2 + 4)},${num(y2 - 4)}" class="cross"/>`);
  }
  if (m.deliveries.length === 0 && m.drop === null) return;
  // The label sits 30% along the (first) arrow, so arrows fanning out of one send do not collide.
  const lx2 = m.drop !== null && m.deliveries.length === 0 ? x1 + (x2full - x1) * 0.45 : x2full;
  const ly2 = m.deliveries[0] !== undefined ? axis.y(clampT(m.deliveries[0].t)) : y1 + 8;
  const tx = x1 + (lx2 - x1) * 0.3;
  const ty = y1 + (ly2 - y1) * 0.3 - 2;
  out.push(`<text x="${num(tx)}" y="${num(ty)}" text-anchor="${lx2 >= x1 ? "start" : "end"}" class="${m.type === "transfer" ? "msg xfer-label" : "msg"}" fill="${color}">${esc(label)}${m.drop !== null ? esc(` ✗ ${m.drop.reason}`) : ""}</text>`);
}

/** Ring epochs: a dashed line across every lane where the epoch was first adopted, and what changed. */
function drawEpochs(sc: Scene): string[] {
  const out: string[] = [];
  const right = sc.notesX - 100;
  for (const e of sc.epochs) {
    const y = sc.axis.y(e.t);
    const moved = e.moved !== null ? `, ${e.moved} of ${e.partitions} partitions change owner` : "";
    const text = `ring epoch ${e.epoch}${e.change !== "" ? `: ${e.change}` : ""} (${e.node} first${moved}; ${e.pending} to hand off)`;
    out.push(`<line x1="${LEFT + 16}" y1="${num(y)}" x2="${right}" y2="${num(y)}" class="epoch"><title>${esc(`${text} at ${ms(e.t)}`)}</title></line>`);
    // Right of the last lane: no arrows or marks there.
    out.push(`<text x="${sc.lx(sc.lanes[sc.lanes.length - 1] ?? "") + 24}" y="${num(y - 3)}" class="epoch">${esc(clip(text, 110))}</text>`);
  }
  return out;
}

function drawMessages(sc: Scene): string[] {
  const out: string[] = [];
  for (const m of sc.messages) drawMessage(sc, m, out);
  return out;
}

/** Client operations, then node marks (suspicions, hints, handoffs, restarts). */
function drawOpsAndMarks(sc: Scene): string[] {
  const out: string[] = [];
  for (const o of sc.ops) {
    const xc = sc.lx(o.client);
    const xn = sc.lx(o.node);
    // An operation's start or end outside the window is not drawn (its other half is).
    if (sc.inWin(o.invokeT)) {
      const y1 = sc.axis.y(o.invokeT);
      out.push(`<line x1="${xc}" y1="${num(y1)}" x2="${xn}" y2="${num(y1 + 3)}" class="op" marker-end="url(#arrow-op)"/>`);
      out.push(`<text x="${num(xc - 6)}" y="${num(y1 - 2)}" text-anchor="end" class="op">${esc(opLabel(o))}</text>`);
    }
    if (o.completeT !== null && sc.inWin(o.completeT)) {
      const y2 = sc.axis.y(o.completeT);
      const color = outcomeColor(o.outcome);
      out.push(`<line x1="${xn}" y1="${num(y2)}" x2="${xc}" y2="${num(y2 + 3)}" stroke="${color}" class="op-back" marker-end="url(#arrow-op)"/>`);
      out.push(`<text x="${num(xc + 6)}" y="${num(y2 + 4)}" class="outcome" fill="${color}">${esc(outcomeLabel(sc.model, o))}</text>`);
    }
  }
  for (const k of sc.marks) {
    const y = sc.axis.y(k.t);
    out.push(`<circle cx="${sc.lx(k.node)}" cy="${num(y)}" r="2.5" class="mark"/><text x="${sc.lx(k.node) - 6}" y="${num(y + 3)}" text-anchor="end" class="mark">${esc(clip(k.text, 34))}</text>`);
  }
  return out;
}

/** Sibling formations: a marker on the lane, the first few explained in the note column. */
function drawFormations(sc: Scene): { markers: string[]; notes: string[]; notesBottom: number } {
  const { model, notesX } = sc;
  const markers: string[] = [];
  const notes: string[] = [];
  const notesMax = sc.opts.notesMax ?? 6;
  let noteY = -Infinity;
  sc.formations.forEach((f, i) => {
    const y = sc.axis.y(f.t);
    const xnode = sc.lx(f.node);
    markers.push(`<circle cx="${xnode}" cy="${num(y)}" r="7" class="sib"><title>${esc(`siblings form on ${f.node} for ${f.key} at ${ms(f.t)}`)}</title></circle>`);
    if (i >= notesMax) return;
    const ny = Math.max(y, noteY + 44);
    noteY = ny;
    const title = `${ms(f.t)} ${f.node}: siblings form for "${f.key}": ${dotName(model, f.held)} ∥ ${dotName(model, f.arrived)}`;
    const clocks = `replica's clock ${clockName(model, f.heldClock)}   arriving: ${arrivingText(model, f)}`;
    notes.push(`<line x1="${xnode + 7}" y1="${num(y)}" x2="${notesX - 4}" y2="${num(ny)}" class="leader"/>`);
    notes.push(`<rect x="${notesX}" y="${num(ny - 12)}" width="${NOTE_W - 20}" height="40" class="note"/>`);
    notes.push(`<text x="${notesX + 6}" y="${num(ny)}" class="note-title">${esc(clip(title, 86))}</text>`);
    notes.push(`<text x="${notesX + 6}" y="${num(ny + 12)}" class="note">${esc(clip(clocks, 96))}</text>`);
    notes.push(`<text x="${notesX + 6}" y="${num(ny + 24)}" class="note">${esc(clip(explainFormation(model, f), 120))}</text>`);
  });
  if (sc.formations.length > notesMax) {
    noteY += 44;
    notes.push(`<text x="${notesX}" y="${num(noteY)}" class="note">${esc(`… and ${sc.formations.length - notesMax} more sibling formations (yellow circles); narrow with --from-ms / --to-ms`)}</text>`);
  }
  return { markers, notes, notesBottom: noteY };
}

/** Title (what run), window and filters, legend. */
function drawHeader(sc: Scene): string[] {
  const { model, opts, win } = sc;
  const source = model.header["source"] as Record<string, unknown> | undefined;
  const spec = model.header["spec"] as { cluster?: Record<string, unknown> } | undefined;
  const c = spec?.cluster ?? {};
  const kind = source?.["kind"];
  const what =
    kind === "scenario" ? `scenario ${String(source!["name"] ?? source!["file"])}`
    : kind !== undefined && kind !== "seed" ? `${String(kind)} trace ${String(source!["name"] ?? "")}`.trim()
    : `seed ${String(source?.["seed"] ?? c["seed"] ?? "?")}`;
  const bugs = Array.isArray(c["bugs"]) && c["bugs"].length > 0 ? ` bugs=${(c["bugs"] as string[]).join(",")}` : "";
  const title = `MecDB run: ${what}: ${String(c["size"] ?? "?")} nodes, N=${String(c["n"] ?? "?")} R=${String(c["r"] ?? "?")} W=${String(c["w"] ?? "?")}, mode ${String(c["mode"] ?? "?")}${bugs}`;
  const filters = [opts.key !== undefined ? `key ${opts.key}` : "", opts.nodes?.length ? `nodes ${opts.nodes.join(",")}` : "", opts.heartbeats ? "" : "heartbeats hidden"].filter((s) => s !== "").join(", ");
  const head: string[] = [];
  head.push(`<text x="16" y="24" class="title">${esc(title)}</text>`);
  head.push(`<text x="16" y="42" class="sub">${esc(`time runs down (stretched: bursts spread out, idle time squeezed); ${ms(win.fromT)} to ${ms(Math.min(win.toT, model.endT))}${filters ? `; ${filters}` : ""}`)}</text>`);
  if (win.note !== "") head.push(`<text x="16" y="58" class="warn">${esc(win.note)}</text>`);
  const legend: [string, string][] = [
    ["#1f5fbf", "put / get"], ["#1b8a3a", "replicate"], ["#b35c00", "repair"], ["#7a3db8", "handoff"], ["#13808a", "anti-entropy"], ["#888888", "replies, acks"],
  ];
  const handoff = sc.model.handoff;
  if (handoff.transfers.length > 0 || sc.messages.some((m) => isTransfer(m.type))) legend.push([TRANSFER_COLOR, "transfer (thick)"]);
  legend.forEach(([color, text], i) => {
    const lx0 = 16 + i * 118;
    head.push(`<line x1="${lx0}" y1="76" x2="${lx0 + 22}" y2="76" stroke="${color}" stroke-width="2"/><text x="${lx0 + 26}" y="80" class="legend">${esc(text)}</text>`);
  });
  const epochLegend = handoff.epochs.length > 0 ? "   dashed gold line: a ring epoch" : "";
  const legend2 = `[dots] {clock}   †dot = tombstone   ✗ dropped   red band: down   dark: wiped   hatched: paused   blue/orange strip: partition sides   purple: clog   yellow circle: siblings form${epochLegend}`;
  head.push(`<text x="16" y="96" class="legend">${esc(legend2)}</text>`);
  return head;
}

/** The violations under the diagram (or "no violation"); returns the lines and the last baseline. */
function drawFooter(sc: Scene): { foot: string[]; bottom: number } {
  const foot: string[] = [];
  const violations = sc.model.violations;
  let fy = sc.bottom + 24;
  if (violations.length > 0) {
    foot.push(`<text x="16" y="${num(fy)}" class="viol-title">${esc(`${violations.length} violation${violations.length === 1 ? "" : "s"}:`)}</text>`);
    for (const v of violations.slice(0, 8)) {
      fy += 16;
      foot.push(`<text x="16" y="${num(fy)}" class="viol">${esc(clip(`${v.property}: ${v.detail}`, 170))}</text>`);
    }
  } else {
    foot.push(`<text x="16" y="${num(fy)}" class="ok">no violation</text>`);
  }
  fy = drawTransferSummary(sc, foot, fy);
  return { foot, bottom: fy };
}

/** Rows of the transfers summary under the diagram. */
const TRANSFER_ROWS_MAX = 8;

/** The whole trace's ownership handoff in words (nothing for a trace without one); returns the last baseline. */
function drawTransferSummary(sc: Scene, foot: string[], fy: number): number {
  const h = sc.model.handoff;
  if (h.transfers.length === 0 && h.epochs.length === 0) return fy;
  fy += 22;
  foot.push(`<text x="16" y="${num(fy)}" class="xfer-title">${esc(`Ownership handoff: ${transferSummaryText(summariseTransfers(h))}`)}</text>`);
  for (const r of h.transfers.slice(0, TRANSFER_ROWS_MAX)) {
    fy += 15;
    foot.push(`<text x="28" y="${num(fy)}" class="xfer-row">${esc(clip(transferRunText(r), 150))}</text>`);
  }
  if (h.transfers.length > TRANSFER_ROWS_MAX) {
    fy += 15;
    foot.push(`<text x="28" y="${num(fy)}" class="xfer-row">${esc(`… and ${h.transfers.length - TRANSFER_ROWS_MAX} more transfers`)}</text>`);
  }
  return fy;
}

const STYLE = [
  "text{font-family:'DejaVu Sans',Verdana,sans-serif}",
  ".title{font-size:16px;font-weight:bold}.sub{font-size:11px;fill:#444}.warn{font-size:11px;fill:#b35c00}",
  ".legend{font-size:10px;fill:#333}.node{font-size:14px;font-weight:bold}.client{font-size:13px;font-style:italic;fill:#555}",
  ".lane{stroke:#333;stroke-width:1.5}.lane-c{stroke:#999;stroke-width:1;stroke-dasharray:4 3}",
  ".tick{font-size:9px;fill:#666}.tickmark{stroke:#bbb}.span{font-size:9px;fill:#555}",
  "line{stroke-width:1.2}.msg{font-size:9px}.cross{stroke:#c0392b;stroke-width:2}",
  ".op{stroke:#555;stroke-dasharray:2 2;font-size:9px;fill:#333}.op-back{stroke-dasharray:2 2}.outcome{font-size:9px;font-weight:bold}",
  ".mark{fill:#555;font-size:8.5px}",
  ".sib{fill:#f7dc6f;stroke:#b7950b;stroke-width:1.5}.leader{stroke:#b7950b;stroke-dasharray:2 2}",
  ".note{fill:#fffbe6;stroke:#e6d27a;font-size:10px}text.note{fill:#333;stroke:none}.note-title{font-size:10.5px;font-weight:bold}",
  ".viol-title{font-size:13px;font-weight:bold;fill:#c0392b}.viol{font-size:11px;fill:#c0392b}.ok{font-size:12px;fill:#1b8a3a}",
  ".focus{stroke-width:3.5}line.now{stroke:#e74c3c;stroke-dasharray:6 3;stroke-width:1.5}text.now{fill:#e74c3c;font-size:10px}",
].join("");

/** Styles of ownership handoff, added only to diagrams that draw it. */
const HANDOFF_STYLE = [
  `line.xfer{stroke-width:3.2}line.xfer-ack{stroke-dasharray:1 2}.xfer-label{font-weight:bold}`,
  `line.epoch{stroke:${EPOCH_COLOR};stroke-width:1.4;stroke-dasharray:8 4}text.epoch{fill:${EPOCH_COLOR};font-size:10px;font-weight:bold}`,
  `.xfer-title{font-size:12px;font-weight:bold;fill:${TRANSFER_COLOR}}.xfer-row{font-size:10.5px;fill:#333}`,
].join("");

// Markers scale with the stroke width, so the thick transfer arrows take a smaller one than their acks.
const TRANSFER_MARKERS =
  `<marker id="arrow-${TRANSFER_COLOR.slice(1)}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="4" markerHeight="4" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${TRANSFER_COLOR}"/></marker>` +
  `<marker id="arrow-${TRANSFER_ACK_COLOR.slice(1)}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${TRANSFER_ACK_COLOR}"/></marker>`;

const DEFS =
  `<defs>${[...new Set([...Object.values(COLORS), "#888888"])].map((c) => `<marker id="arrow-${c.slice(1)}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="${c}"/></marker>`).join("")}` +
  `<marker id="arrow-op" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#555"/></marker>` +
  `<pattern id="hatch" width="6" height="6" patternUnits="userSpaceOnUse" patternTransform="rotate(45)"><rect width="6" height="6" fill="#eeeeee"/><line x1="0" y1="0" x2="0" y2="6" stroke="#888" stroke-width="2"/></pattern></defs>`;

/** Renders the diagram. Throws nothing for any model; an empty selection draws empty lanes. */
export function traceToSvg(model: TraceModel, opts: SvgOptions = {}): string {
  const sc = layout(model, opts);
  const body = [...drawLanes(sc), ...drawSpans(sc), ...drawAxis(sc), ...drawEpochs(sc), ...drawMessages(sc), ...drawOpsAndMarks(sc)];
  const handoff = model.handoff.transfers.length > 0 || model.handoff.epochs.length > 0 || sc.messages.some((m) => isTransfer(m.type));
  const { markers, notes, notesBottom } = drawFormations(sc);
  const { foot, bottom } = drawFooter(sc);
  const width = Math.ceil(sc.notesX + NOTE_W);
  const height = Math.ceil(Math.max(bottom, notesBottom + 40) + 20);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}">`,
    `<style>${STYLE}${handoff ? HANDOFF_STYLE : ""}</style>`,
    handoff ? DEFS.replace("</defs>", `${TRANSFER_MARKERS}</defs>`) : DEFS,
    `<rect width="100%" height="100%" fill="white"/>`,
    ...drawHeader(sc),
    ...body,
    ...markers,
    ...notes,
    ...foot,
    `</svg>`,
    "",
  ].join("\n");
}
