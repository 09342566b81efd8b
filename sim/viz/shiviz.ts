// Exports a simulator trace in ShiViz's log format, so ShiViz (and TSViz) can open it too.
// The file: line 1 the parsing regular expression, line 2 the (empty) multiple-executions
// delimiter, then one event per line: `host {vector clock as JSON} t=<ms> <description>`.
// Hosts are the nodes and the clients. Vector clocks are computed here from the trace's
// sends and deliveries (a client operation is a message from the client to its coordinator,
// its completion one back): each host's own entry starts at 1 and grows by one per event,
// a delivery merges the clock the message was sent with. Pure: model in, text out.
import { dotName, explainFormation, type TraceModel } from "./model.ts";

export const SHIVIZ_REGEX = String.raw`(?<host>\S+) (?<clock>\{[^}]*\}) t=(?<time>\S+) (?<event>.*)`;

interface ShivizOptions {
  readonly heartbeats?: boolean;
}

interface Ev {
  readonly step: number;
  readonly order: number;
  readonly host: string;
  readonly text: string;
  readonly t: number;
  /** Send: the message key whose clock is recorded; receive: the key whose clock is merged. */
  readonly sends?: string;
  readonly receives?: string;
}

function oneLine(s: string): string {
  return s.replace(/[\r\n]+/g, " ");
}

function collect(model: TraceModel, opts: ShivizOptions): Ev[] {
  const evs: Ev[] = [];
  const add = (e: Omit<Ev, "order">): void => void evs.push({ ...e, order: evs.length });
  for (const m of model.messages) {
    if (!opts.heartbeats && m.type === "heartbeat") continue;
    const what = `${m.type}${m.carries?.key !== undefined ? ` ${m.carries.key}` : ""} #${m.id}`;
    add({ step: m.sendStep, host: m.from, t: m.sendT, text: `send ${what} to ${m.to}`, sends: `m${m.id}` });
    m.deliveries.forEach((d) => add({ step: d.step, host: m.to, t: d.t, text: `receive ${what} from ${m.from}`, receives: `m${m.id}` }));
    if (m.drop !== null) add({ step: m.drop.step, host: m.drop.reason === "loss" ? m.from : m.to, t: m.drop.t, text: `${what} from ${m.from} to ${m.to} dropped (${m.drop.reason})` });
  }
  for (const o of model.ops) {
    const what = `${o.kind} ${o.key}${o.value !== null ? ` = ${o.value}` : ""} (op ${o.op})`;
    add({ step: o.invokeStep, host: o.client, t: o.invokeT, text: `invoke ${what} at ${o.node}`, sends: `i${o.op}` });
    add({ step: o.invokeStep, host: o.node, t: o.invokeT, text: `client ${o.client}: ${what}`, receives: `i${o.op}` });
    if (o.completeStep !== null && o.completeT !== null) {
      const res = `${o.outcome ?? "?"}${o.dot !== null ? ` ${dotName(model, o.dot)}` : ""}${o.error !== null ? ` ${o.error}` : ""}`;
      add({ step: o.completeStep, host: o.node, t: o.completeT, text: `answer op ${o.op} to ${o.client}: ${res}`, sends: `r${o.op}` });
      add({ step: o.completeStep, host: o.client, t: o.completeT, text: `op ${o.op} ${o.kind} ${o.key}: ${res}`, receives: `r${o.op}` });
    }
  }
  for (const s of model.spans) if (s.kind !== "cut" && s.kind !== "clog") add({ step: stepAt(model, s.fromT), host: s.lane, t: s.fromT, text: s.label });
  for (const f of model.formations) add({ step: f.step, host: f.node, t: f.t, text: `siblings form for ${f.key}: ${explainFormation(model, f)}` });
  for (const k of model.marks) add({ step: k.step, host: k.node, t: k.t, text: k.text });
  // Trace order; at one step a send before its receive (an op's invoke and arrival share a step).
  return evs.sort((a, b) => a.step - b.step || a.order - b.order);
}

function stepAt(model: TraceModel, t: number): number {
  const i = model.lines.findIndex((l) => l.t >= t);
  return i < 0 ? model.lines.length : i;
}

export function traceToShiviz(model: TraceModel, opts: ShivizOptions = {}): string {
  const clocks = new Map<string, Record<string, number>>();
  const sent = new Map<string, Record<string, number>>();
  const out: string[] = [SHIVIZ_REGEX, ""];
  for (const e of collect(model, opts)) {
    const clock = { ...(clocks.get(e.host) ?? {}) };
    if (e.receives !== undefined) {
      for (const [h, c] of Object.entries(sent.get(e.receives) ?? {})) clock[h] = Math.max(clock[h] ?? 0, c);
    }
    clock[e.host] = (clock[e.host] ?? 0) + 1;
    clocks.set(e.host, clock);
    if (e.sends !== undefined) sent.set(e.sends, clock);
    const sorted = Object.fromEntries(Object.entries(clock).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
    out.push(`${e.host} ${JSON.stringify(sorted)} t=${Math.round(e.t * 1000) / 1000} ${oneLine(e.text)}`);
  }
  return out.join("\n") + "\n";
}
