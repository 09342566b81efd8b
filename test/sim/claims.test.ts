// The oracle's claim model (sim/oracle/claims.ts) against the ring under test: for random
// member sets, partition counts and sequences of joins and leaves, the model's claim table
// equals src/core/ring's joinRing / leaveRing (the test may call the implementation; the
// checkers may not).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { createRing, joinRing, leaveRing } from "../../src/core/ring/index.ts";
import { claimsAfter, claimsAfterJoin, claimsAfterLeave } from "../../sim/oracle/claims.ts";

const name = fc.stringMatching(/^[a-z][a-z0-9:.]{0,6}$/);

describe("oracle claim model", () => {
  it("a join gives the claims src/core/ring gives", () => {
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 2, maxLength: 9 }), fc.integer({ min: 9, max: 80 }), (names, P) => {
        const [joiner, ...members] = names;
        const ring = createRing(members, P);
        expect(claimsAfterJoin(ring.owners, joiner!)).toEqual(joinRing(ring, joiner!).owners);
      }),
      { numRuns: 300 },
    );
  });

  it("a leave gives the claims src/core/ring gives", () => {
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 2, maxLength: 9 }), fc.integer({ min: 9, max: 80 }), fc.nat(), (members, P, pick) => {
        const ring = createRing(members, P);
        const leaver = members[pick % members.length]!;
        expect(claimsAfterLeave(ring.owners, leaver)).toEqual(leaveRing(ring, leaver).owners);
      }),
      { numRuns: 300 },
    );
  });

  it("a sequence of joins and leaves stays equal to the ring's", () => {
    const step = fc.record({ join: fc.boolean(), who: name, pick: fc.nat() });
    fc.assert(
      fc.property(fc.uniqueArray(name, { minLength: 1, maxLength: 5 }), fc.integer({ min: 8, max: 64 }), fc.array(step, { maxLength: 8 }), (members, P, steps) => {
        let ring = createRing(members, P);
        let model = [...ring.owners];
        for (const s of steps) {
          const present = [...new Set(ring.owners)].sort();
          if (s.join && !present.includes(s.who) && present.length < P) {
            ring = joinRing(ring, s.who);
            model = claimsAfter(model, { kind: "join", node: s.who });
          } else if (!s.join && present.length > 1) {
            const leaver = present[s.pick % present.length]!;
            ring = leaveRing(ring, leaver);
            model = claimsAfter(model, { kind: "leave", node: leaver });
          }
          expect(model).toEqual(ring.owners);
        }
      }),
      { numRuns: 200 },
    );
  });
});
