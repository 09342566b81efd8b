// Planted bugs prove the checkers can fail: each of the five bugs is caught by the default
// swarm within 300 seeds (scanning stops at the first violation), and each checker is shown
// catching at least one planted failure.
import { describe, expect, it } from "vitest";
import { BUG_NAMES, type BugName } from "../../src/core/types.ts";
import type { Property } from "../../sim/checkers/index.ts";
import { mecdb } from "../../sim/mecdb.ts";
import { loadScenarioFile, runScenario } from "../../sim/scenario.ts";
import { runSeed } from "../../sim/seeds.ts";

const SEEDS_MAX = 300;

/** The first seed (1..300) whose run reports a violation (of `property`, if given). */
function firstFailing(bug: BugName, property?: Property): { seed: number; properties: Set<string> } | null {
  for (let seed = 1; seed <= SEEDS_MAX; seed++) {
    const o = runSeed(mecdb, seed, { bugs: [bug] });
    const props = new Set(o.violations.map((v) => v.property));
    if (property === undefined ? props.size > 0 : props.has(property)) return { seed, properties: props };
  }
  return null;
}

describe("planted bugs are caught by the default swarm within 300 seeds", () => {
  for (const bug of BUG_NAMES) {
    it(`--bug ${bug}`, () => {
      const found = firstFailing(bug);
      expect(found, `${bug} not caught in ${SEEDS_MAX} seeds`).not.toBeNull();
      expect(found!.seed).toBeLessThanOrEqual(SEEDS_MAX);
    }, 120_000);
  }
});

describe("every checker catches a planted failure", () => {
  const cases: [Property, BugName][] = [
    ["lost-write", "lww"],
    ["final-siblings", "overwrite"],
    ["unique-dots", "counter-reset"],
    ["quorum", "duplicate-acks"],
  ];
  for (const [property, bug] of cases) {
    it(`${property} catches --bug ${bug}`, () => {
      expect(firstFailing(bug, property), `${property} never reported under --bug ${bug}`).not.toBeNull();
    }, 120_000);
  }
  it("convergence catches a cluster without anti-entropy whose stale replica nobody reads", () => {
    const r = runScenario(mecdb, loadScenarioFile("scenarios/no_anti_entropy_diverges.toml"));
    expect(r.violations.some((v) => v.property === "convergence")).toBe(true);
  });
  it("determinism catches a node that is not deterministic", () => {
    // A node whose behaviour depends on ambient state (a counter shared across runs) gives
    // different traces for the same seed.
    let calls = 0;
    const leaky = {
      ...mecdb,
      createNode: (config: Parameters<typeof mecdb.createNode>[0]) => mecdb.createNode({ ...config, seed: config.seed + calls++ }),
    };
    const o = runSeed(leaky, 9, { determinism: true });
    expect(o.violations.map((v) => v.property)).toContain("determinism");
  }, 60_000);
});
