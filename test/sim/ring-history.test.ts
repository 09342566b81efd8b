// The oracle's ring history: a ring is in use from the first report of it by a node other than
// the change's subject (else from its acknowledgement), and a change never acknowledged (lost
// with the only node that knew it) never enters the history.
import { describe, expect, it } from "vitest";
import { ringHistory } from "../../sim/oracle/ring-history.ts";

const START = Array.from({ length: 16 }, (_, i) => ["n1", "n2", "n3"][i % 3]!);

describe("ring history", () => {
  it("dates a ring from the taker's report, not from the later acknowledgement", () => {
    const epochs = ringHistory(START, [{ kind: "join", node: "n4", acceptedAtMs: 200, carriedAtMs: 150 }]);
    expect(epochs.map((e) => e.fromMs)).toEqual([-Infinity, 150]);
    expect(epochs[1]!.owners).toContain("n4");
    expect(ringHistory(START, [{ kind: "join", node: "n4", acceptedAtMs: 200 }]).map((e) => e.fromMs)).toEqual([-Infinity, 200]);
  });

  it("leaves out a change that was never acknowledged", () => {
    const epochs = ringHistory(START, [{ kind: "join", node: "n4", acceptedAtMs: null, carriedAtMs: 150 }]);
    expect(epochs).toHaveLength(1);
    expect(epochs[0]!.owners).toEqual(START);
  });
});
