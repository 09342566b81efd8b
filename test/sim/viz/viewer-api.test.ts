// The trace viewer's JSON API (Fastify inject; the browser test drives the page): the re-run
// reproduces the trace line for line, /api/step/N gives every node's state after step N
// (down after its crash, objects with sibling sets after writes), the diagram around a step,
// counterfactual replay, ownership handoff (on a hand-made trace), and clear 4xx answers for bad requests.
import { beforeAll, describe, expect, it } from "vitest";
import type { FastifyInstance } from "fastify";
import { replayWithStates, type NodeState } from "../../../sim/viz/replay-states.ts";
import { buildViewer, loadViewerData } from "../../../sim/viz/viewer-server.ts";
import type { TraceLine } from "../../../sim/viz/model.ts";
import { handoffTraceLines } from "./handoff-trace.ts";
import { viewerRun } from "./viewer-run.ts";

let lines: TraceLine[];
let app: FastifyInstance;

beforeAll(async () => {
  lines = viewerRun();
  const replay = await replayWithStates(lines[0]!);
  expect(replay.lines.map((l) => JSON.parse(l) as unknown)).toEqual(lines);
  app = buildViewer(loadViewerData(lines, replay, null));
});

async function getJson(url: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await app.inject({ method: "GET", url });
  return { status: r.statusCode, body: r.json() as Record<string, unknown> };
}

describe("viewer API", () => {
  it("GET /api/trace: nodes, steps, violations, episodes", async () => {
    const { status, body } = await getJson("/api/trace");
    expect(status).toBe(200);
    expect(body["nodes"]).toEqual(expect.arrayContaining(["n1", "n2", "n3"]));
    expect(body["steps"]).toBe(lines.length);
    expect(Array.isArray(body["violations"])).toBe(true);
    expect(body["episodes"]).toEqual(expect.arrayContaining([expect.stringMatching(/^e2 crash n2 at \+700 ms/)]));
    expect((body["rows"] as unknown[]).length).toBe(lines.length);
    // No membership change in this run: no handoff panel.
    expect(body["handoff"]).toMatchObject({ any: false, epochs: [], transfers: [], steps: [] });
  });

  it("GET /api/step/N: every node's state after step N", async () => {
    const crash = lines.findIndex((l) => l.ev === "crash");
    expect(crash).toBeGreaterThan(0);
    const node = lines[crash]!.node!;
    const before = (await getJson(`/api/step/${crash - 1}`)).body["nodes"] as NodeState[];
    const after = (await getJson(`/api/step/${crash}`)).body["nodes"] as NodeState[];
    expect(before.find((n) => n.node === node)!.up).toBe(true);
    expect(after.find((n) => n.node === node)!.up).toBe(false);
    const last = (await getJson(`/api/step/${lines.length - 1}`)).body["nodes"] as NodeState[];
    const objects = last.flatMap((n) => n.objects);
    expect(objects.length).toBeGreaterThan(0);
    for (const o of objects) {
      expect(o.siblings.length).toBeGreaterThan(0);
      for (const s of o.siblings) expect(o.clock[s.dot.slice(0, s.dot.lastIndexOf(":"))]).toBeGreaterThanOrEqual(Number(s.dot.slice(s.dot.lastIndexOf(":") + 1)));
    }
    const first = (await getJson("/api/step/0")).body["nodes"] as NodeState[];
    expect(first.every((n) => n.objects.length === 0)).toBe(true);
    const ready = last.find((n) => n.up)!;
    expect(ready.phase).toBe("ready");
    expect(ready.pending).not.toBeNull();
    // A fixed member list: the configured ring (epoch 0), no transfers.
    expect(ready.ring).toEqual({ epoch: 0, pendingTransfers: 0 });
    expect(ready.transfers).toEqual([]);
  });

  it("GET /api/svg?step=N: the diagram around the step, the step highlighted", async () => {
    const send = lines.findIndex((l) => l.ev === "send" && l["type"] !== "heartbeat");
    const r = await app.inject({ method: "GET", url: `/api/svg?step=${send}` });
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toMatch(/image\/svg\+xml/);
    expect(r.body).toMatch(/^<svg /);
    expect(r.body).toContain('class="focus"');
  });

  it("GET /api/counterfactual: the run without an episode, side by side", async () => {
    const { status, body } = await getJson("/api/counterfactual?without=e2");
    expect(status).toBe(200);
    expect(body["change"]).toMatch(/^without e2 crash n2/);
    expect(body["original"]).toBeDefined();
    expect(body["changed"]).toBeDefined();
    expect(["disappears", "remains", "appears", "none"]).toContain(body["outcome"]);
  });

  it("bad requests get 4xx with a JSON error", async () => {
    expect((await getJson(`/api/step/${lines.length}`)).status).toBe(404);
    expect((await getJson("/api/step/abc")).status).toBe(404);
    expect((await getJson("/api/counterfactual?without=e99")).status).toBe(400);
    expect((await getJson("/api/counterfactual?without=zz")).status).toBe(400);
  });

  it("a hand-made handoff trace (no re-run): epochs, transfers and their steps; the diagram at a transfer step", async () => {
    const hand = handoffTraceLines();
    const viewer = buildViewer(loadViewerData(hand, null, "hand-made trace: nothing to re-run"));
    const body = (await viewer.inject({ method: "GET", url: "/api/trace" })).json() as { handoff: { any: boolean; summary: string; epochs: { step: number; text: string }[]; transfers: { done: boolean; startStep: number; text: string }[]; steps: number[] }; nodes: string[]; counterfactual: boolean };
    expect(body.nodes).toEqual(["n1", "n2", "n3", "n4"]);
    expect(body.counterfactual).toBe(false);
    expect(body.handoff.any).toBe(true);
    expect(body.handoff.summary).toMatch(/^6 transfers \(5 done, 1 unfinished\)/);
    expect(body.handoff.epochs.map((e) => e.text)).toEqual([expect.stringMatching(/^ring epoch 1: n4 joins at /), expect.stringMatching(/^ring epoch 2: n2 leaves at /)]);
    expect(body.handoff.transfers.filter((t) => !t.done)).toHaveLength(1);
    for (const e of body.handoff.epochs) expect(hand[e.step]!.ev).toBe("node-event");
    for (const s of body.handoff.steps) expect(hand[s]!.ev === "send" ? String(hand[s]!["type"]).startsWith("transfer") : /^transfer-/.test(String((hand[s]!["event"] as { type: string }).type))).toBe(true);
    const send = hand.findIndex((l) => l.ev === "send" && l["type"] === "transfer");
    const svg = (await viewer.inject({ method: "GET", url: `/api/svg?step=${send}` })).body;
    expect(svg).toContain('class="xfer focus"');
    const step = (await viewer.inject({ method: "GET", url: `/api/step/${send}` })).json() as { nodes: unknown };
    expect(step.nodes).toBeNull();
    await viewer.close();
  });

  it("serves the page with no external assets", async () => {
    const r = await app.inject({ method: "GET", url: "/" });
    expect(r.statusCode).toBe(200);
    expect(r.body).toContain("<title>MecDB trace viewer</title>");
    expect(r.body).not.toMatch(/(src|href)="(https?:)?\/\//);
  });
});
