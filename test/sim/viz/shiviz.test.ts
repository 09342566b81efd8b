// The ShiViz export: line 1 a regular expression with ShiViz's named groups (host, clock,
// event), line 2 the empty multiple-executions delimiter, then one event per line that the
// regular expression parses, with a JSON vector clock in which the host's own entry starts at 1
// and grows by one per event, and every receive's clock dominates its send's.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildModel, parseTraceLines } from "../../../sim/viz/model.ts";
import { SHIVIZ_REGEX, traceToShiviz } from "../../../sim/viz/shiviz.ts";

const model = buildModel(parseTraceLines(readFileSync(join(import.meta.dirname, "fixtures", "concurrent-writes.jsonl"), "utf8")));

describe("ShiViz export", () => {
  const text = traceToShiviz(model);
  const lines = text.split("\n");

  it("starts with the parsing regex and an empty delimiter line, then parseable events", () => {
    expect(lines[0]).toBe(SHIVIZ_REGEX);
    expect(lines[1]).toBe("");
    const re = new RegExp(`^${lines[0]}$`);
    const events = lines.slice(2).filter((l) => l !== "");
    expect(events.length).toBeGreaterThan(50);
    for (const l of events) {
      const m = re.exec(l);
      expect(m, l).not.toBeNull();
      const clock = JSON.parse(m!.groups!["clock"]!) as Record<string, number>;
      expect(clock[m!.groups!["host"]!], l).toBeGreaterThan(0);
      expect(m!.groups!["event"]!.length).toBeGreaterThan(0);
    }
  });

  it("vector clocks: own entry 1, 2, 3, ... per host; a receive dominates its send", () => {
    const re = new RegExp(`^${SHIVIZ_REGEX}$`);
    const own = new Map<string, number>();
    const sendClock = new Map<string, Record<string, number>>();
    let receives = 0;
    for (const l of lines.slice(2).filter((x) => x !== "")) {
      const g = re.exec(l)!.groups!;
      const host = g["host"]!;
      const clock = JSON.parse(g["clock"]!) as Record<string, number>;
      expect(clock[host]).toBe((own.get(host) ?? 0) + 1);
      own.set(host, clock[host]!);
      const id = /#(\d+)/.exec(g["event"]!)?.[1];
      if (id === undefined) continue;
      if (g["event"]!.startsWith("send ")) sendClock.set(id, clock);
      if (g["event"]!.startsWith("receive ")) {
        receives++;
        for (const [h, c] of Object.entries(sendClock.get(id)!)) expect(clock[h]!, l).toBeGreaterThanOrEqual(c);
      }
    }
    expect(receives).toBeGreaterThan(15);
    expect([...own.keys()].sort()).toEqual(["c0", "c1", "c2", "c3", "n1", "n2", "n3"]);
  });

  it("leaves heartbeats out unless asked", () => {
    expect(text).not.toMatch(/send heartbeat/);
    expect(traceToShiviz(model, { heartbeats: true })).toMatch(/send heartbeat/);
  });
});
