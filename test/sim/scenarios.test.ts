// Every scenario file runs and passes (its expectations hold and no unexpected violation);
// the kv679 scenario fails under --bug counter-reset; bad scenario files are rejected with a
// message naming the key.
import { readdirSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { mecdb } from "../../sim/mecdb.ts";
import { loadScenarioFile, parseScenario, runScenario, ScenarioError } from "../../sim/scenario.ts";

const files = readdirSync("scenarios").filter((f) => f.endsWith(".toml")).sort();

describe("scenarios", () => {
  it("the required scenarios exist", () => {
    for (const name of [
      "concurrent_writes_make_siblings",
      "partition_then_heal",
      "hinted_handoff",
      "read_repair",
      "data_wipe_kv679",
      "lww_loses_acknowledged_writes",
      "sloppy_quorum_both_sides_of_partition",
      "join_during_partition",
      "leave_during_writes",
      "receiver_crash_mid_transfer",
    ])
      expect(files).toContain(`${name}.toml`);
  });
  for (const file of files) {
    it(file, () => {
      const scenario = loadScenarioFile(`scenarios/${file}`);
      expect(`${scenario.name}.toml`).toBe(file);
      const r = runScenario(mecdb, scenario, { trace: { hash: true } });
      expect(r.failures, r.report.join("\n")).toEqual([]);
      expect(r.passed).toBe(true);
      // deterministic: the same scenario gives the same trace
      expect(runScenario(mecdb, scenario, { trace: { hash: true } }).traceHash).toBe(r.traceHash);
    }, 60_000);
  }
  it("data_wipe_kv679 fails with --bug counter-reset (a dot minted twice)", () => {
    const r = runScenario(mecdb, loadScenarioFile("scenarios/data_wipe_kv679.toml"), { bugs: ["counter-reset"] });
    expect(r.passed).toBe(false);
    expect(r.violations.map((v) => v.property)).toContain("unique-dots");
  });
});

describe("scenario validation", () => {
  const base = 'name = "x"\n[cluster]\nnodes = 3\n';
  const err = (text: string): string => {
    try {
      parseScenario(text, "x.toml");
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      return (e as Error).message;
    }
    throw new Error("accepted a bad scenario");
  };
  it("accepts a minimal scenario", () => {
    expect(parseScenario(base, "x.toml").spec.cluster.size).toBe(3);
  });
  it("rejects unknown keys, wrong types, bad node names and bad values, naming the key", () => {
    expect(err(base + "colour = 1\n")).toContain('key "cluster.colour": unknown key');
    expect(err('name = "x"\n[cluster]\nnodes = 3\nnodez = 1\n')).toContain('x.toml: key "cluster.nodez": unknown key (did you mean "nodes"?)');
    expect(err('name = "x"\n[cluster]\nnodes = "three"\n')).toBe('x.toml: key "cluster.nodes": expected an integer 1-16, got "three"');
    expect(err('name = "x"\n[cluster]\nnodes = 3\nn = 4\n')).toBe('x.toml: key "cluster.n": expected an integer 1-3, got 4');
    expect(err('name = "x"\n[cluster]\nnodes = 3\nmode = "vibes"\n')).toContain('key "cluster.mode": expected one of "dvv", "lww", "client-vclock", got "vibes"');
    expect(err(base + '[[fault]]\nat_ms = 1\naction = "crash"\nnode = "n9"\n')).toContain('key "fault[0].node": expected a node name (n1, n2, n3), got "n9"');
    expect(err(base + '[[fault]]\nat_ms = 1\naction = "explode"\n')).toContain('key "fault[0].action": expected one of');
    expect(err(base + '[[fault]]\naction = "heal"\n')).toContain('key "fault[0].at_ms": required but missing (an integer >= 0)');
    expect(err(base + '[[expect]]\nevent = "hint-stored"\nmin = "1"\n')).toContain('key "expect[0].min": expected an integer >= 0, got "1"');
    expect(err(base + '[[expect]]\nviolations = "everything"\n')).toContain('key "expect[0].violations": expected one of');
    expect(err(base + "[workload]\nmix = { blind = 1, teleport = 2 }\n")).toContain('key "workload.mix.teleport": unknown key');
    expect(err("name = \n")).toMatch(/^x\.toml: line 1, column \d+: invalid TOML: /);
    expect(err('[cluster]\nnodes = 3\n')).toBe('x.toml: key "name": required but missing (a string)');
  });
  it("reads [[membership]] episodes and spares, and rejects bad ones naming the key", () => {
    const spare = 'name = "x"\n[cluster]\nnodes = 3\nspares = 1\n';
    const s = parseScenario(spare + '[[membership]]\nat_ms = 5\naction = "join"\nvia = "n2"\n[[membership]]\nat_ms = 9\naction = "remove"\nnode = "n1"\nvia = "n3"\n[[fault]]\nat_ms = 7\naction = "crash"\nnode = "n4"\n', "x.toml");
    expect(s.spec.cluster.spares).toBe(1);
    expect(s.spec.membership).toEqual([
      { kind: "join", atMs: 5, node: 0, via: 1 },
      { kind: "remove", atMs: 9, node: 0, via: 1 },
    ]);
    expect(err(base + '[[membership]]\nat_ms = 1\naction = "evict"\n')).toContain('key "membership[0].action": expected one of "join", "leave", "remove"');
    expect(err(base + '[[membership]]\nat_ms = 1\naction = "leave"\nnode = "n7"\n')).toContain('key "membership[0].node": expected a starting member (n1, n2, n3), got "n7"');
    expect(err(base + '[[membership]]\nat_ms = 1\naction = "remove"\nnode = "n1"\nvia = "n1"\n')).toContain('key "membership[0].via": expected another member than n1');
    expect(err(base + '[[membership]]\nat_ms = 1\naction = "join"\nnode = "n4"\nvia = "n1"\n')).toContain('key "membership[0].node": a join boots the next spare');
  });
  it("refuses a float where an integer is expected (3.0 is not an integer), as the config reader does", () => {
    expect(err('name = "x"\n[cluster]\nnodes = 3.0\n')).toBe('x.toml: key "cluster.nodes": expected an integer 1-16, got 3.0 (a float)');
    expect(err(base + "[phases]\nfault_ms = 1000.0\n")).toBe('x.toml: key "phases.fault_ms": expected an integer >= 0, got 1000.0 (a float)');
    expect(err(base + "[workload]\nkeys = 2.0\n")).toBe('x.toml: key "workload.keys": expected an integer 1-1000, got 2.0 (a float)');
    expect(err(base + '[[fault]]\nat_ms = 10.5\naction = "heal"\n')).toBe('x.toml: key "fault[0].at_ms": expected an integer >= 0, got 10.5 (a float)');
  });
  it("still takes integers where a number is expected (latency 3 = 3.0)", () => {
    expect(parseScenario(base + "[network]\nlatency_max_ms = 3\n", "x.toml").spec.cluster.latency.baseMaxMs).toBe(3);
    expect(parseScenario(base + "[network]\nlatency_max_ms = 3.5\n", "x.toml").spec.cluster.latency.baseMaxMs).toBe(3.5);
    expect(parseScenario(base + "[workload]\nkeys = 2\n", "x.toml").spec.workload.keys).toEqual(["k0", "k1"]);
  });
});
