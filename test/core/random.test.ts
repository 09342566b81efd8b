// The one seeded generator (seedrandom's alea): deterministic per seed, resumable from its
// saved state, and the node keeps that state (inspect().rng) so its later draws follow from it.
import alea from "seedrandom/lib/alea.js";
import { describe, expect, it } from "vitest";
import { Rng } from "../../src/core/random.ts";
import { createNode } from "../../src/core/node.ts";
import { baseConfig, T0 } from "./harness.ts";

const draws = (rng: Rng, n = 8): number[] => Array.from({ length: n }, () => rng.nextU32());

describe("Rng", () => {
  it("is deterministic per seed and differs across seeds", () => {
    const xs = draws(new Rng(1, 2));
    expect(draws(new Rng(1, 2))).toEqual(xs);
    expect(draws(new Rng(1, 3))).not.toEqual(xs);
    expect(draws(new Rng(1, 2.5))).not.toEqual(xs);
    const a = new Rng(9);
    for (let i = 0; i < 200; i++) {
      const v = a.nextInt(7);
      const w = a.int(-2, 2);
      expect(v >= 0 && v < 7 && Number.isInteger(v)).toBe(true);
      expect(w >= -2 && w <= 2 && Number.isInteger(w)).toBe(true);
    }
    expect(() => a.nextInt(0)).toThrow(RangeError);
    expect(() => a.pick([])).toThrow(RangeError);
  });

  it("is seedrandom's alea seeded by the words joined with spaces", () => {
    const ref = alea("7 3", { state: true });
    const rng = new Rng(7, 3);
    expect([rng.next(), rng.next(), rng.nextU32()]).toEqual([ref(), ref(), ref.int32() >>> 0]);
  });

  it("resumes from a saved state exactly where it left off", () => {
    const rng = new Rng(42);
    draws(rng, 5);
    const saved = rng.state();
    const resumed = Rng.restore(saved);
    expect(draws(resumed, 20)).toEqual(draws(rng, 20));
    expect(resumed.state()).toEqual(rng.state());
    // the saved state is a copy: drawing on does not change it
    expect(Rng.restore(saved).state()).toEqual(saved);
  });

  it("forks named streams: same parent state and label, same stream", () => {
    const a = new Rng(5).fork("net");
    const b = new Rng(5).fork("net");
    const c = new Rng(5).fork("disk");
    const xs = draws(a);
    expect(draws(b)).toEqual(xs);
    expect(draws(c)).not.toEqual(xs);
  });
});

describe("the node's generator state", () => {
  it("is node state: inspect() shows it, a start moves it, and the same seed and start time give the same state", () => {
    const run = (): unknown[] => {
      const node = createNode(baseConfig("n1", ["n1", "n2", "n3"]));
      const before = node.inspect!().rng;
      node.step({ now: T0 + 0.25, monotonic: 0, input: { kind: "start" } });
      return [before, node.inspect!().rng];
    };
    const [before, after] = run();
    expect(after).not.toEqual(before);
    expect(run()).toEqual([before, after]);
    // the start re-seeds from (seed, start time) and draws the boot nonce: the state says so
    const expected = new Rng(baseConfig("n1", ["n1"]).seed, T0 + 0.25);
    expected.nextU32();
    expect(after).toEqual(expected.state());
  });
});
