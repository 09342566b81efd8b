import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { fnv1a32, mix32 } from "../../../src/core/hash.ts";

describe("fnv1a32", () => {
  it("matches the published FNV-1a 32-bit test vectors", () => {
    expect(fnv1a32("")).toBe(0x811c9dc5);
    expect(fnv1a32("a")).toBe(0xe40c292c);
    expect(fnv1a32("foobar")).toBe(0xbf9cf968);
  });

  it("hashes a string as its UTF-8 bytes", () => {
    fc.assert(
      fc.property(fc.string({ unit: "grapheme" }), (s) => {
        expect(fnv1a32(s)).toBe(fnv1a32(new TextEncoder().encode(s)));
      }),
    );
    // "é" is two UTF-8 bytes (c3 a9), not one UTF-16 unit.
    expect(fnv1a32("é")).toBe(fnv1a32(Uint8Array.of(0xc3, 0xa9)));
  });

  it("is an unsigned 32-bit integer", () => {
    fc.assert(
      fc.property(fc.uint8Array(), (b) => {
        const h = fnv1a32(b);
        expect(Number.isInteger(h) && h >= 0 && h < 2 ** 32).toBe(true);
      }),
    );
  });
});

describe("mix32", () => {
  it("is murmur3's fmix32 (pinned values)", () => {
    expect(mix32(0)).toBe(0);
    expect(mix32(1)).toBe(1364076727);
    expect(mix32(0xdeadbeef)).toBe(233162409);
  });

  it("avalanches: flipping one input bit flips about half the output bits", () => {
    let flipped = 0;
    let trials = 0;
    for (let x = 1; x < 2000; x++) {
      const seed = Math.imul(x, 0x9e3779b9) >>> 0;
      for (let bit = 0; bit < 32; bit++) {
        let d = (mix32(seed) ^ mix32((seed ^ (1 << bit)) >>> 0)) >>> 0;
        while (d !== 0) { flipped += d & 1; d >>>= 1; }
        trials++;
      }
    }
    const meanFlipped = flipped / trials;
    expect(meanFlipped).toBeGreaterThan(15.5);
    expect(meanFlipped).toBeLessThan(16.5);
  });
});
