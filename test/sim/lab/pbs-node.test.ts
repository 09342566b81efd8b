// The quorum lab on the real node code: sanity properties that must hold whatever the fit,
// the agreement of each real read with the staleness computed from its events, and the WARS
// configuration matching the model. Small trial counts (seeded): these check shape, not precision;
// the generous timeouts are for a loaded machine, not a speed budget.
import { afterEach, describe, expect, it, vi } from "vitest";
import { Command } from "commander";
import { fitByName } from "../../../sim/lab/fits.ts";
import { measureModel, measureOnNode, type LabRequest } from "../../../sim/lab/summary.ts";
import { registerLab } from "../../../src/cli/lab.ts";
import type { CommandOutcome } from "../../../src/cli/errors.ts";

const req = (r: number, w: number, trials = 800): LabRequest => ({ fit: fitByName("LNKD-SSD"), n: 3, r, w, p: 0.999, trials, seed: 11 });

describe("mec lab pbs on the real node", () => {
  it("R + W > N: never stale, t-visibility 0, on both paths", () => {
    for (const path of ["wars", "native"] as const) {
      const s = measureOnNode(req(2, 2, 500), path);
      expect(s.tVisibilityMs).toBe(0);
      expect(s.pConsistentAtCommit).toBe(1);
      expect(s.staleReads).toBe(0);
      expect(s.mismatches).toBe(0);
    }
  }, 600_000);

  it("R = W = 1: real reads return stale values, each agreeing with its events", () => {
    for (const path of ["wars", "native"] as const) {
      const s = measureOnNode(req(1, 1), path);
      expect(s.staleReads).toBeGreaterThan(0);
      expect(s.mismatches).toBe(0);
      expect(s.pConsistentAtCommit).toBeLessThan(1);
      expect(s.tVisibilityMs).toBeGreaterThan(0);
    }
  }, 600_000);

  it("the wars configuration reproduces the WARS model", () => {
    const node = measureOnNode(req(1, 1, 2000), "wars");
    const model = measureModel({ ...req(1, 1, 40000), seed: 5 });
    expect(Math.abs(node.pConsistentAtCommit - model.pConsistentAtCommit)).toBeLessThan(0.015);
    expect(node.writeP999Ms).toBeGreaterThan(model.writeP999Ms * 0.6);
    expect(node.writeP999Ms).toBeLessThan(model.writeP999Ms * 1.4);
  }, 600_000);

  it("larger quorums are never less consistent at the commit", () => {
    const p11 = measureOnNode(req(1, 1), "wars").pConsistentAtCommit;
    const p12 = measureOnNode(req(1, 2), "wars").pConsistentAtCommit;
    expect(p12).toBeGreaterThanOrEqual(p11);
  }, 600_000);
});

describe("mec lab pbs (CLI contract)", () => {
  afterEach(() => vi.restoreAllMocks());

  async function run(argv: string[]): Promise<{ code: number; out: string; err: string }> {
    let out = "";
    let err = "";
    vi.spyOn(process.stdout, "write").mockImplementation((s) => ((out += String(s)), true));
    vi.spyOn(process.stderr, "write").mockImplementation((s) => ((err += String(s)), true));
    const outcome: CommandOutcome = { exitCode: 0 };
    const program = new Command("mec").exitOverride();
    registerLab(program, outcome);
    try {
      await program.parseAsync(argv, { from: "user" });
    } catch (e) {
      return { code: 2, out, err: err + String(e) };
    }
    return { code: outcome.exitCode, out, err };
  }

  it("--json prints one object with tVisibilityMs, readP999Ms, writeP999Ms, trials and the native path", async () => {
    const { code, out } = await run(["lab", "pbs", "--fit", "LNKD-SSD", "--n", "3", "--r", "1", "--w", "2", "--trials", "1000", "--json"]);
    expect(code).toBe(0);
    const obj = JSON.parse(out) as Record<string, unknown>;
    for (const k of ["tVisibilityMs", "readP999Ms", "writeP999Ms", "trials"]) expect(typeof obj[k]).toBe("number");
    expect(obj.trials).toBe(1000);
    expect(obj.fit).toBe("LNKD-SSD");
    expect((obj.native as Record<string, unknown>).path).toBe("native");
  }, 600_000);

  it("rejects an unknown fit and r > n", async () => {
    const badFit = await run(["lab", "pbs", "--fit", "NOPE", "--r", "1", "--w", "1"]);
    expect(badFit.code).toBe(2);
    expect(badFit.err).toMatch(/--fit must be one of LNKD-SSD, LNKD-DISK, YMMR, WAN/);
    const badR = await run(["lab", "pbs", "--fit", "YMMR", "--r", "4", "--w", "1"]);
    expect(badR.code).toBe(2);
    expect(badR.err).toMatch(/--r must be an integer from 1 to 3/);
  });
});

describe("native path staleness comes from the replicate delays", () => {
  it("R = W = 1: t-visibility is the tail of W seen by the 2 of 3 readers that did not mint", async () => {
    const { sample } = await import("../../../sim/lab/fits.ts");
    const { Rng } = await import("../../../sim/rng.ts");
    const fit = fitByName("LNKD-DISK");
    const rng = new Rng(99);
    const draws = Array.from({ length: 200_000 }, () => sample(fit.legs.W, rng)).sort((a, b) => a - b);
    // P(stale at t) = 2/3 P(W > t) <= 0.001  <=>  t = the (1 - 0.0015) quantile of W.
    const expected = draws[Math.ceil((1 - 0.0015) * draws.length) - 1]!;
    const s = measureOnNode({ fit, n: 3, r: 1, w: 1, p: 0.999, trials: 2000, seed: 4 }, "native");
    expect(s.mismatches).toBe(0);
    expect(s.tVisibilityMs).toBeGreaterThan(expected * 0.6);
    expect(s.tVisibilityMs).toBeLessThan(expected * 1.4);
  }, 600_000);
});
