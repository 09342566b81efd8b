// Shared fast-check generators for the versioning tests.
import fc from "fast-check";
import type { Actor, ClockEntry, Sibling, SiblingSet, VClock } from "../../../src/core/versioning/types.ts";

/** A few actors, so that clocks overlap often. */
export const actorArb = fc.constantFrom("a", "b", "c", "d", "n1.0001", "n2.0001");

/** Small counters and timestamps, so that equal counters with different timestamps happen. */
export const entryArb: fc.Arbitrary<ClockEntry> = fc.record({
  counter: fc.integer({ min: 1, max: 5 }),
  timestamp: fc.bigInt({ min: 0n, max: 3n }),
});

/** A clock with actors in random (unsorted) order. */
export const clockArb: fc.Arbitrary<VClock> = fc
  .uniqueArray(fc.tuple(actorArb, entryArb), { selector: ([a]) => a, maxLength: 6 })
  .map((entries) => new Map<Actor, ClockEntry>(entries));

/** Clocks within the codec's full value ranges, with arbitrary (well-formed) actor names. */
export const wideClockArb: fc.Arbitrary<VClock> = fc
  .uniqueArray(
    fc.tuple(
      fc.string({ minLength: 1, maxLength: 40, unit: "grapheme" }).filter((a) => new TextEncoder().encode(a).length <= 255),
      fc.record({
        counter: fc.oneof(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 0xffff_ffff })),
        timestamp: fc.oneof(fc.bigInt({ min: 0n, max: 300n }), fc.bigInt({ min: 0n, max: 0xffff_ffff_ffff_ffffn })),
      }),
    ),
    { selector: ([a]) => a, maxLength: 20 },
  )
  .map((entries) => new Map<Actor, ClockEntry>(entries));

const encoder = new TextEncoder();

/**
 * A well-formed sibling set: a clock, and siblings at distinct dots the clock covers. Content
 * is a function of the dot (as in dvv mode, where a dot names exactly one write), with a
 * tombstone now and then.
 */
export const siblingSetArb: fc.Arbitrary<SiblingSet> = clockArb.chain((clock) => {
  const dots: Array<{ actor: Actor; counter: number }> = [];
  for (const [actor, e] of clock) for (let n = 1; n <= e.counter; n++) dots.push({ actor, counter: n });
  return fc.subarray(dots).map((chosen) => ({
    clock,
    siblings: chosen
      .map((dot): Sibling => ({
        dot,
        value: dot.counter === 3 ? null : encoder.encode(`${dot.actor}:${dot.counter}`),
        contentType: "text/plain",
        timestamp: BigInt(dot.counter * 10),
      }))
      .sort((x, y) => (x.dot.actor < y.dot.actor ? -1 : x.dot.actor > y.dot.actor ? 1 : x.dot.counter - y.dot.counter)),
  }));
});

export function shuffledClock(clock: VClock, seed: number): VClock {
  const entries = [...clock];
  // deterministic Fisher-Yates driven by the seed
  let s = seed >>> 0 || 1;
  for (let i = entries.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) >>> 0;
    const j = s % (i + 1);
    const t = entries[i]!;
    entries[i] = entries[j]!;
    entries[j] = t;
  }
  return new Map(entries);
}

/** Like siblingSetArb, but each sibling's content is drawn at random (one dot, several values). */
export const anyContentSiblingSetArb: fc.Arbitrary<SiblingSet> = clockArb.chain((clock) => {
  const dots: Array<{ actor: Actor; counter: number }> = [];
  for (const [actor, e] of clock) for (let n = 1; n <= e.counter; n++) dots.push({ actor, counter: n });
  return fc.subarray(dots).chain((chosen) =>
    fc
      .tuple(
        ...chosen.map((dot) =>
          fc.record({
            value: fc.oneof(fc.constant(null), fc.uint8Array({ maxLength: 2 })),
            contentType: fc.constantFrom("text/plain", "application/json"),
            timestamp: fc.bigInt({ min: 0n, max: 2n }),
          }).map((c): Sibling => ({ dot, ...c })),
        ),
      )
      .map((siblings) => ({ clock, siblings })),
  );
});
