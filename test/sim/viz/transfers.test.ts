// Ownership handoff in the trace tools, on a hand-made trace built from the real cluster-state
// code (handoff-trace.ts: n4 joins, every transfer finishes, one batch is lost and resent; n2
// leaves and n4 crashes mid-transfer): what the describer puts in a transfer's send line, the
// model's ring epochs and transfers, the diagram's transfer arrows, epoch lines and summary,
// and that a trace without membership changes draws nothing of it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { applyChange, initialState, plannedTransfers } from "../../../src/core/membership/cluster-state.ts";
import { encodeMessage } from "../../../src/core/messages.ts";
import { describeMessagePayload } from "../../../sim/viz/describe-mecdb.ts";
import { buildModel, parseTraceLines } from "../../../sim/viz/model.ts";
import { traceToSvg } from "../../../sim/viz/svg.ts";
import { summariseTransfers, transferSummaryText } from "../../../sim/viz/transfers.ts";
import { handoffTraceLines } from "./handoff-trace.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");

describe("ownership handoff in traces", () => {
  it("the committed fixture is the builder's output (UPDATE_GOLDEN=1 rewrites it)", () => {
    const text = handoffTraceLines().map((l) => JSON.stringify(l)).join("\n") + "\n";
    const file = join(FIXTURES, "handoff.jsonl");
    if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(file, text);
    expect(readFileSync(file, "utf8")).toBe(text);
  });

  it("a transfer's send line says its partition, object count, keys and whether it is the last batch", () => {
    const objects: [string, Uint8Array][] = [["a", new Uint8Array([1])], ["b", new Uint8Array([2])]];
    expect(describeMessagePayload(encodeMessage({ type: "transfer", reqId: "n1/00000001/1", from: "n1", partition: 5, objects, last: true }))).toEqual({ keys: ["a", "b"], transfer: { partition: 5, objects: 2, last: true } });
    expect(describeMessagePayload(encodeMessage({ type: "transfer", reqId: "n1/00000001/2", from: "n1", partition: 0, objects: [], last: true }))).toEqual({ transfer: { partition: 0, objects: 0, last: true } });
    expect(describeMessagePayload(encodeMessage({ type: "transfer-ack", reqId: "n1/00000001/2", from: "n4" }))).toBeNull();
  });

  it("the model finds each ring epoch and each transfer with its batches, drops and objects", () => {
    const lines = handoffTraceLines();
    const { handoff } = buildModel(lines);
    expect(handoff.epochs.map((e) => [e.epoch, e.node, e.change])).toEqual([[1, "n1", "n4 joins"], [2, "n2", "n2 leaves"]]);
    // The transfers the real cluster state planned for the join, every one of them seen.
    const joined = applyChange(initialState(["n1", "n2", "n3"].map((id) => ({ id, name: id })), 8), { type: "join", id: "n4", name: "n4" }, 2);
    if (!joined.ok) throw new Error(joined.message);
    const plans = plannedTransfers(joined.state, 2);
    expect(handoff.transfers.slice(0, plans.length).map((r) => [r.partition, r.from, r.to])).toEqual(plans.map((p) => [p.partition, p.from, p.to]));
    const done = handoff.transfers.filter((r) => r.doneT !== null);
    const unfinished = handoff.transfers.filter((r) => r.doneT === null);
    expect(unfinished.map((r) => r.to)).toEqual(["n4"]);
    expect(unfinished[0]!.dropped).toBe(1);
    for (const r of done) expect(r.objectsAcked).toBe(r.objects);
    // Batches and drops, counted from the send and drop lines themselves.
    const sends = lines.filter((l) => l.ev === "send" && l["type"] === "transfer");
    expect(handoff.transfers.reduce((n, r) => n + r.batches, 0)).toBe(sends.length);
    const dropped = new Set(lines.filter((l) => l.ev === "drop").map((l) => l["id"]));
    expect(handoff.transfers.reduce((n, r) => n + r.dropped, 0)).toBe(sends.filter((l) => dropped.has(l["id"])).length);
    expect(handoff.transfers.find((r) => r.dropped > 0 && r.doneT !== null)).toBeDefined();
    const s = summariseTransfers(handoff);
    expect(s).toMatchObject({ transfers: handoff.transfers.length, done: done.length, unfinished: 1, epochs: [1, 2] });
    expect(transferSummaryText(s)).toMatch(/^\d+ transfers \(\d+ done, 1 unfinished\), \d+ objects moved in \d+ batches \(2 dropped\); ring epochs 1, 2$/);
  });

  it("draws transfers as thick arrows with partition and object count, each epoch as a line, and a summary", () => {
    const model = buildModel(handoffTraceLines());
    const svg = traceToSvg(model, { fromMs: 0, toMs: 1e9 });
    const transfers = model.messages.filter((m) => m.type === "transfer");
    const delivered = transfers.reduce((n, m) => n + m.deliveries.length, 0);
    expect((svg.match(/<line [^>]*class="xfer"/g) ?? []).length).toBe(delivered + transfers.filter((m) => m.drop !== null).length);
    expect((svg.match(/<line [^>]*class="xfer-ack"/g) ?? []).length).toBeGreaterThan(0);
    expect(svg).toMatch(/transfer p\d+: \d+ objects? \(last\)/);
    expect((svg.match(/<line [^>]*class="epoch"/g) ?? []).length).toBe(2);
    expect(svg).toContain("ring epoch 1: n4 joins");
    expect(svg).toContain("ring epoch 2: n2 leaves");
    expect(svg).toContain(`Ownership handoff: ${transferSummaryText(summariseTransfers(model.handoff))}`);
    expect(svg).toMatch(/p\d+ n2 -&gt; n4: unfinished/);
    expect(svg).toContain("transfer (thick)");
    expect(traceToSvg(buildModel(handoffTraceLines()), { fromMs: 0, toMs: 1e9 })).toBe(svg);
  });

  it("--key keeps the transfers that carry the key, with their acks", () => {
    const model = buildModel(handoffTraceLines());
    const carrier = model.messages.find((m) => m.type === "transfer" && (m.carries?.keys?.length ?? 0) > 0)!;
    const key = carrier.carries!.keys![0]!;
    const svg = traceToSvg(model, { key, fromMs: 0, toMs: 1e9 });
    const carrying = model.messages.filter((m) => m.type === "transfer" && m.carries?.keys?.includes(key));
    expect((svg.match(/<line [^>]*class="xfer"/g) ?? []).length).toBe(carrying.reduce((n, m) => n + m.deliveries.length + (m.drop !== null ? 1 : 0), 0));
    expect(svg).toContain('class="xfer-ack"');
    expect(svg).not.toContain(">ring-gossip<");
  });

  it("a trace without membership changes has an empty handoff model and no handoff drawing", () => {
    const model = buildModel(parseTraceLines(readFileSync(join(FIXTURES, "concurrent-writes.jsonl"), "utf8")));
    expect(model.handoff).toEqual({ adoptions: [], epochs: [], transfers: [], marks: [] });
    const svg = traceToSvg(model);
    for (const s of ["xfer", "epoch", "Ownership handoff", "transfer (thick)", "c2185b"]) expect(svg).not.toContain(s);
  });
});

describe("ownership handoff from odd traces", () => {
  it("tolerates partial handoff lines: no start event, no summary on a transfer send, a ring-changed without lists", () => {
    const lines = parseTraceLines(
      [
        { t: 0, ev: "run", node: null, spec: { cluster: { size: 2 } } },
        { t: 1, ev: "node-event", node: "n1", event: { type: "ring-changed", epoch: 3 } },
        { t: 2, ev: "send", node: "n1", to: "n2", id: 1, type: "transfer", reqId: "r1" },
        { t: 3, ev: "deliver", node: "n2", from: "n1", id: 1 },
        { t: 4, ev: "send", node: "n1", to: "n2", id: 2, type: "transfer", reqId: "r2", carries: { keys: ["a"], transfer: { partition: 1, objects: 1, last: true } } },
        { t: 5, ev: "drop", node: "n1", to: "n2", id: 2, reason: "loss" },
        { t: 6, ev: "node-event", node: "n1", event: { type: "transfer-done", partition: 1, to: "n2" } },
        { t: 7, ev: "node-event", node: "n2", event: { type: "left" } },
      ].map((l) => JSON.stringify(l)).join("\n"),
    );
    const model = buildModel(lines);
    expect(model.handoff.epochs).toEqual([{ epoch: 3, t: 1, step: 1, node: "n1", change: "", pending: 0, moved: null, partitions: 0 }]);
    expect(model.handoff.transfers).toHaveLength(1);
    expect(model.handoff.transfers[0]).toMatchObject({ partition: 1, from: "n1", to: "n2", attempts: 0, batches: 1, dropped: 1, objects: null, doneT: 6 });
    expect(transferSummaryText(summariseTransfers(model.handoff))).toBe("1 transfer (1 done, 0 unfinished), 0 objects moved in 1 batch (1 dropped); ring epoch 3");
    const svg = traceToSvg(model, { fromMs: 0, toMs: 10 });
    expect(svg).toContain("left the cluster");
    expect(svg).toContain("p1 n1 -&gt; n2: done at 6 ms, 0 objects, 1 batch (1 dropped)");
  });
});
