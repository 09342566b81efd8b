// Randomised runs of the in-test harness (a smoke test; the real exploration is the simulator).
import { describe, expect, it } from "vitest";
import { run } from "./fuzz-run.ts";

describe("randomised harness runs", () => {
  it("no violations across seeds", () => {
    let acked = 0;
    for (let seed = 1; seed <= 12; seed++) {
      const r = run(seed);
      expect(r.violations, `seed ${seed}`).toEqual([]);
      acked += r.acked;
    }
    expect(acked).toBeGreaterThan(50);
  });
  it("the overwrite bug is caught within a few seeds", () => {
    let caught = 0;
    for (let seed = 1; seed <= 25 && caught === 0; seed++) if (run(seed, { bugs: ["overwrite"] }).violations.length > 0) caught++;
    expect(caught).toBe(1);
  });
});
