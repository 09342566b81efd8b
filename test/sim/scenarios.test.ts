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
    expect(err(base + "colour = 1\n")).toContain("colour: unknown key");
    expect(err('name = "x"\n[cluster]\nnodes = 3\nnodez = 1\n')).toContain("cluster.nodez: unknown key");
    expect(err('name = "x"\n[cluster]\nnodes = "three"\n')).toContain("cluster.nodes: must be an integer");
    expect(err('name = "x"\n[cluster]\nnodes = 3\nn = 4\n')).toContain("cluster.n: must be between 1 and 3");
    expect(err('name = "x"\n[cluster]\nnodes = 3\nmode = "vibes"\n')).toContain("cluster.mode: must be one of");
    expect(err(base + '[[fault]]\nat_ms = 1\naction = "crash"\nnode = "n9"\n')).toContain("fault[0].node: must be a node name");
    expect(err(base + '[[fault]]\nat_ms = 1\naction = "explode"\n')).toContain("fault[0].action: must be one of");
    expect(err(base + '[[fault]]\naction = "heal"\n')).toContain("fault[0].at_ms: missing");
    expect(err(base + '[[expect]]\nevent = "hint-stored"\nmin = "1"\n')).toContain("expect[0].min: must be an integer");
    expect(err(base + '[[expect]]\nviolations = "everything"\n')).toContain("expect[0].violations: must be one of");
    expect(err(base + "[workload]\nmix = { blind = 1, teleport = 2 }\n")).toContain("workload.mix.teleport: unknown key");
    expect(err("name = \n")).toContain("not valid TOML");
    expect(err('[cluster]\nnodes = 3\n')).toContain("name: missing");
  });
});
