// The space-time diagram: a golden file from a committed trace of the seeded scenario
// concurrent_writes_make_siblings (UPDATE_GOLDEN=1 rewrites it), and properties on fresh runs:
// every delivered message is an arrow, drops end in a cross, crashes and partitions are shaded,
// filters narrow, and the same trace always gives the same bytes.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { mecdb } from "../../../sim/mecdb.ts";
import { runSimulation } from "../../../sim/run.ts";
import { drawWorld } from "../../../sim/swarm.ts";
import { buildModel, covers, explainFormation, parseTraceLines, TraceError, type TraceLine } from "../../../sim/viz/model.ts";
import { traceToSvg } from "../../../sim/viz/svg.ts";

const FIXTURES = join(import.meta.dirname, "fixtures");

function fixtureModel() {
  return buildModel(parseTraceLines(readFileSync(join(FIXTURES, "concurrent-writes.jsonl"), "utf8")));
}

/** A short seeded run with a partition, a crash and message loss, traced in memory. */
function faultyRun(): TraceLine[] {
  const world = drawWorld(5);
  const spec = { ...world.spec, faultPhaseMs: 1500, healPhaseMs: 500, quietMs: 1000 };
  const schedule = {
    dropRate: 0.05,
    dupRate: 0,
    episodes: [
      { atMs: 100, durMs: 400, kind: "partition" as const, node: 0, peer: 0, mask: 1 },
      { atMs: 700, durMs: 300, kind: "crash" as const, node: 1, peer: 0, mask: 0 },
      { atMs: 900, durMs: 200, kind: "pause" as const, node: 2, peer: 0, mask: 0 },
    ],
  };
  const lines: TraceLine[] = [];
  runSimulation(mecdb, spec, schedule, { sink: (l) => lines.push(JSON.parse(l) as TraceLine) });
  return lines;
}

describe("trace -> SVG", () => {
  it("matches the golden diagram of concurrent_writes_make_siblings (seed 1)", () => {
    const svg = traceToSvg(fixtureModel());
    const golden = join(FIXTURES, "concurrent-writes.svg");
    if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(golden, svg);
    expect(svg).toBe(readFileSync(golden, "utf8"));
  });

  it("draws one lane per node and client, an arrow per delivery, and explains the first sibling formation", () => {
    const model = fixtureModel();
    const svg = traceToSvg(model, { fromMs: 0, toMs: 1e9 });
    for (const lane of [...model.nodes, ...model.clients]) expect(svg).toContain(`>${lane}</text>`);
    const drawn = model.messages.filter((m) => m.type !== "heartbeat");
    const deliveries = drawn.reduce((n, m) => n + m.deliveries.length, 0);
    expect((svg.match(/marker-end="url\(#arrow-[0-9a-f]{6}\)"/g) ?? []).length).toBe(deliveries);
    expect(model.formations.length).toBeGreaterThan(0);
    const f = model.formations[0]!;
    // The two clocks really are concurrent (checked with the model's own tiny clock algebra).
    expect(covers(f.heldClock, f.arrived)).toBe(false);
    expect(covers(f.arrivedClock, f.held)).toBe(false);
    expect(explainFormation(model, f)).toMatch(/neither descends the other/);
    expect(svg).toContain("siblings form for &quot;cart&quot;");
    expect(svg).toContain("neither descends the other");
  });

  it("marks drops with a cross and shades crashes, pauses and partition sides; same bytes every time", () => {
    const lines = faultyRun();
    const model = buildModel(lines);
    expect(model.spans.map((s) => s.kind)).toEqual(expect.arrayContaining(["cut", "down", "paused"]));
    const svg = traceToSvg(model, { fromMs: 0, toMs: 1e9 });
    const drops = model.messages.filter((m) => m.drop !== null && m.type !== "heartbeat").length;
    expect(drops).toBeGreaterThan(0);
    expect((svg.match(/class="cross"/g) ?? []).length).toBe(drops);
    expect(svg).toContain(">crash</text>");
    expect(svg).toContain(">paused</text>");
    expect(svg).toMatch(/partition n1 \| n2,n3|partition n\d/);
    expect(traceToSvg(buildModel(lines), { fromMs: 0, toMs: 1e9 })).toBe(svg);
  });

  it("--nodes keeps only those lanes, --key only that key's messages, a window only its time", () => {
    const model = buildModel(faultyRun());
    const two = traceToSvg(model, { nodes: ["n1", "n2"], fromMs: 0, toMs: 1e9 });
    expect(two).toContain(">n1</text>");
    expect(two).not.toContain(">n3</text>");
    const key = model.ops[0]!.key;
    const k = traceToSvg(model, { key, fromMs: 0, toMs: 1e9 });
    const other = model.ops.find((o) => o.key !== key);
    if (other) expect(k).not.toContain(`get ${other.key}<`);
    const windowed = traceToSvg(model, { fromMs: 400, toMs: 450 });
    const arrows = (windowed.match(/marker-end="url\(#arrow-[0-9a-f]{6}/g) ?? []).length;
    const inWindow = model.messages.filter((m) => m.type !== "heartbeat" && m.sendT >= 400 && m.sendT <= 450).reduce((n, m) => n + m.deliveries.length, 0);
    expect(arrows).toBe(inWindow);
  });

  it("windows a long run by default and says how to move the window", () => {
    const model = buildModel(faultyRun());
    const svg = traceToSvg(model, { maxMessages: 20 });
    expect((svg.match(/marker-end="url\(#arrow-[0-9a-f]{6}/g) ?? []).length).toBeLessThanOrEqual(40);
    expect(svg).toContain("--from-ms / --to-ms");
  });

  it("rejects what is not a trace with a clear error", () => {
    expect(() => parseTraceLines("not json\n")).toThrow(TraceError);
    expect(() => parseTraceLines('{"t":0,"ev":"send","node":"n1"}\n')).toThrow(/first line must be the "run" header/);
  });
});
