import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encode as msgpackEncode } from "@msgpack/msgpack";
import {
  clockFromWire,
  clockToWire,
  clocksEqual,
  decodeClock,
  decodeSiblingSet,
  encodeClock,
  encodeSiblingSet,
  setsEqual,
  siblingSetFromWire,
  siblingSetToWire,
} from "../../../src/core/versioning/index.ts";
import { anyContentSiblingSetArb, siblingSetArb, wideClockArb } from "./arbitraries.ts";

const setArb = fc.oneof(siblingSetArb, anyContentSiblingSetArb);

describe("wire forms", () => {
  it("sibling sets round trip through msgpack bytes", () => {
    fc.assert(
      fc.property(setArb, (s) => {
        const bytes = encodeSiblingSet(s);
        expect(setsEqual(decodeSiblingSet(bytes), s)).toBe(true);
        expect(setsEqual(siblingSetFromWire(siblingSetToWire(s)), s)).toBe(true);
        // deterministic bytes
        expect(Array.from(encodeSiblingSet(s))).toEqual(Array.from(bytes));
      }),
    );
  });

  it("clocks round trip with full uint64 timestamps", () => {
    fc.assert(
      fc.property(wideClockArb, (c) => {
        expect(clocksEqual(clockFromWire(clockToWire(c)), c)).toBe(true);
        expect(clocksEqual(decodeClock(encodeClock(c)), c)).toBe(true);
      }),
    );
  });

  it("returns fresh bytes: encoding again does not change earlier results; decoded values do not alias the input", () => {
    const s1 = { clock: new Map([["a", { counter: 1, timestamp: 2n ** 63n + 5n }]]), siblings: [
      { dot: { actor: "a", counter: 1 }, value: new Uint8Array([1, 2, 3]), contentType: "x", timestamp: 7n },
    ] };
    const b1 = encodeSiblingSet(s1);
    const copy = Array.from(b1);
    encodeSiblingSet({ clock: new Map([["zzzz", { counter: 9, timestamp: 9n }]]), siblings: [] });
    expect(Array.from(b1)).toEqual(copy);
    const d = decodeSiblingSet(b1);
    b1.fill(0);
    expect(Array.from(d.siblings[0]!.value!)).toEqual([1, 2, 3]);
    expect(d.clock.get("a")?.timestamp).toBe(2n ** 63n + 5n);
  });

  it.each([
    ["not msgpack", new Uint8Array([0xc1])],
    ["not an array", msgpackEncode({ a: 1 }).slice()],
    ["clock not an array", msgpackEncode([1, []]).slice()],
    ["counter zero", msgpackEncode([[["a", 0, 1]], []]).slice()],
    ["duplicate actor", msgpackEncode([[["a", 1, 1], ["a", 2, 1]], []]).slice()],
    ["dot not covered", msgpackEncode([[["a", 1, 1]], [["a", 2, 1, "t", null]]]).slice()],
    ["dot twice", msgpackEncode([[["a", 2, 1]], [["a", 1, 1, "t", null], ["a", 1, 1, "t", null]]]).slice()],
    ["value not binary", msgpackEncode([[["a", 1, 1]], [["a", 1, 1, "t", "str"]]]).slice()],
    ["negative timestamp", msgpackEncode([[["a", 1, -1]], []]).slice()],
  ])("rejects %s with a clear Error", (_name, bytes) => {
    expect(() => decodeSiblingSet(bytes)).toThrow(/^malformed /);
  });

  it("never throws anything but Error on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        try {
          decodeSiblingSet(b);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          expect((e as Error).message).toMatch(/^malformed /);
        }
      }),
      { numRuns: 500 },
    );
  });
});
