// The trace viewer's HTTP server (Fastify, bound to 127.0.0.1 only): the page (one HTML file
// with its script inline: no CDN, works offline) and the JSON API it uses.
//
//   GET /                     the page
//   GET /api/trace            nodes, clients, steps, end time, violations (with related steps),
//                             episodes, keys, ownership handoff (ring epochs, transfers, their
//                             steps), and one compact row per step [t, ev, node, key]
//   GET /api/step/N           the trace line N and the state of every node after it
//   GET /api/svg?step=N[&spanMs=M]   the space-time diagram around step N (N highlighted)
//   GET /api/counterfactual?without=e2 | ?shift=e2:+500   re-run without / with a moved episode
import Fastify, { type FastifyInstance } from "fastify";
import type { FaultSchedule } from "../faults.ts";
import { mecdb } from "../mecdb.ts";
import { parseEpisodeRef, parseShift, runCounterfactual, type EpisodeChange } from "./counterfactual.ts";
import { buildModel, type TraceLine, type TraceModel } from "./model.ts";
import { specFromHeader, type ReplayedRun } from "./replay-states.ts";
import { describeEpisode, memberNames } from "./schedule-names.ts";
import { traceToSvg } from "./svg.ts";
import { summariseTransfers, transferRunText, transferSummaryText } from "./transfers.ts";
import { VIEWER_PAGE } from "./viewer-page.ts";

interface ViewerData {
  readonly lines: readonly TraceLine[];
  readonly model: TraceModel;
  readonly replay: ReplayedRun | null;
  /** Why node state is unavailable or differs (null: the re-run reproduced the trace exactly). */
  readonly replayNote: string | null;
}

function keyOf(l: TraceLine): string | null {
  const c = l["carries"] as { key?: string } | undefined;
  if (c?.key !== undefined) return c.key;
  if (typeof l["key"] === "string" && (l.ev === "invoke" || l.ev === "storage-op")) {
    const k = l["key"] as string;
    return l.ev === "invoke" ? k : (/^o:[0-9a-f]{4}:(.*)$/.exec(k)?.[1] ?? null);
  }
  const e = l["event"] as { key?: unknown } | undefined;
  return typeof e?.key === "string" ? e.key : null;
}

/** Steps a violation points at: the operations ("op 44") and dots ("dot n4.02e0:2") it names. */
function relatedSteps(model: TraceModel, detail: string): number[] {
  const steps = new Set<number>();
  for (const m of detail.matchAll(/\bops? (\d+)(?: and op (\d+))?/g)) {
    for (const id of [m[1], m[2]]) {
      const op = model.ops.find((o) => o.op === Number(id));
      if (op) steps.add(op.completeStep ?? op.invokeStep);
    }
  }
  for (const m of detail.matchAll(/dot (\S+:\d+)/g)) {
    const [actor, counter] = [m[1]!.slice(0, m[1]!.lastIndexOf(":")), Number(m[1]!.slice(m[1]!.lastIndexOf(":") + 1))];
    model.lines.forEach((l, i) => {
      const e = l["event"] as { type?: string; actor?: string; counter?: number } | undefined;
      if (l.ev === "node-event" && e?.type === "dot-minted" && e.actor === actor && e.counter === counter) steps.add(i);
    });
  }
  return [...steps].sort((a, b) => a - b);
}

/** What the page shows of ownership handoff: the summary, each epoch and transfer with the steps to jump to. */
function handoffView(model: TraceModel): Record<string, unknown> {
  const h = model.handoff;
  const transferTypes = new Set(["transfer", "transfer-ack"]);
  const ownEvents = new Set(["transfer-started", "transfer-done"]);
  const steps = model.lines.flatMap((l, i) => {
    const e = l["event"] as { type?: string } | undefined;
    const own = l.ev === "node-event" && ownEvents.has(String(e?.type));
    return own || (l.ev === "send" && transferTypes.has(String(l["type"]))) ? [i] : [];
  });
  return {
    any: h.transfers.length > 0 || h.epochs.length > 0,
    summary: transferSummaryText(summariseTransfers(h)),
    epochs: h.epochs.map((e) => ({ ...e, text: `ring epoch ${e.epoch}${e.change !== "" ? `: ${e.change}` : ""} at ${e.t} ms (${e.node} first; ${e.pending} partitions to hand off${e.moved !== null ? `, ${e.moved} change owner` : ""})` })),
    transfers: h.transfers.map((r) => ({ ...r, done: r.doneT !== null, text: transferRunText(r) })),
    steps,
  };
}

export function loadViewerData(lines: readonly TraceLine[], replay: ReplayedRun | null, replayNote: string | null): ViewerData {
  return { lines, model: buildModel(lines), replay, replayNote };
}

export function buildViewer(data: ViewerData): FastifyInstance {
  const app = Fastify({ logger: false });
  const { lines, model } = data;
  const header = lines[0]!;
  const spec = specFromHeader(header) ?? undefined;
  const schedule = header["schedule"] as FaultSchedule | undefined;
  const members = memberNames(spec?.cluster.size ?? model.nodes.length);
  const source = header["source"] as { kind?: string } | undefined;
  const canCounterfactual = source?.kind !== "scenario" && spec !== undefined && schedule !== undefined;

  app.get("/", async (_req, reply) => reply.type("text/html; charset=utf-8").send(VIEWER_PAGE));
  app.get("/api/trace", async () => ({
    nodes: model.nodes,
    clients: model.clients,
    steps: lines.length,
    endMs: model.endT,
    header: { source: header["source"] ?? null, cluster: spec?.cluster ?? (header["spec"] as { cluster?: unknown } | undefined)?.cluster ?? null },
    violations: model.violations.map((v) => ({ ...v, related: relatedSteps(model, v.detail) })),
    episodes: (schedule?.episodes ?? []).map((e, i) => describeEpisode(members, e, i)),
    counterfactual: canCounterfactual,
    keys: [...new Set(model.ops.map((o) => o.key))].sort(),
    handoff: handoffView(model),
    state: data.replay !== null,
    replayNote: data.replayNote,
    rows: lines.map((l) => [l.t, l.ev, l.node, keyOf(l)]),
  }));
  app.get<{ Params: { n: string } }>("/api/step/:n", async (req, reply) => {
    const n = Number(req.params.n);
    if (!/^\d+$/.test(req.params.n) || n >= lines.length) return reply.code(404).send({ error: "no-step", message: `steps are 0..${lines.length - 1}` });
    return { step: n, t: lines[n]!.t, line: lines[n], nodes: data.replay?.stateAt(n) ?? null };
  });
  app.get<{ Querystring: { step?: string; spanMs?: string; key?: string } }>("/api/svg", async (req, reply) => {
    const n = Math.min(lines.length - 1, Math.max(0, Number(req.query.step ?? 0) || 0));
    const span = Math.max(5, Number(req.query.spanMs ?? 60) || 60);
    const t = lines[n]!.t;
    const svg = traceToSvg(model, { fromMs: Math.max(0, t - span), toMs: t + span, focusStep: n, ...(req.query.key ? { key: req.query.key } : {}), notesMax: 3 });
    return reply.type("image/svg+xml").send(svg);
  });
  app.get<{ Querystring: { without?: string; shift?: string } }>("/api/counterfactual", async (req, reply) => {
    if (!canCounterfactual) return reply.code(400).send({ error: "not-a-seed-run", message: "counterfactual replay needs a seed run (a trace of mec sim --seed)" });
    let change: EpisodeChange | null = null;
    if (req.query.without !== undefined) {
      const index = parseEpisodeRef(req.query.without);
      if (index !== null) change = { index, remove: true };
    } else if (req.query.shift !== undefined) change = parseShift(req.query.shift);
    if (change === null) return reply.code(400).send({ error: "bad-param", message: "give ?without=e2 or ?shift=e2:+500" });
    try {
      return runCounterfactual(mecdb, spec!, schedule!, change);
    } catch (e) {
      if (e instanceof RangeError) return reply.code(400).send({ error: "no-episode", message: e.message });
      throw e;
    }
  });
  return app;
}

/** Starts the viewer on 127.0.0.1:port (0 = any free port); resolves to its URL. */
export async function startViewer(data: ViewerData, port: number): Promise<{ app: FastifyInstance; url: string }> {
  const app = buildViewer(data);
  await app.listen({ host: "127.0.0.1", port });
  const addr = app.server.address();
  const p = typeof addr === "object" && addr !== null ? addr.port : port;
  return { app, url: `http://127.0.0.1:${p}/` };
}
