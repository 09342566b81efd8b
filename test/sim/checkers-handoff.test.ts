// The handoff checker on hand-made runs: a 3-node cluster where n4 joins and takes the key's
// partition from n3 (primaries n1,n2,n3 before, n1,n2,n4 after). It must reject a new primary
// missing an acknowledged write, a partition left without a replica, an object left behind on
// the old owner, a departed primary and an unacknowledged change, and pass the clean handoff.
import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/core/types.ts";
import type { Sibling, SiblingSet, VClock } from "../../src/core/versioning/types.ts";
import { checkHandoff, type RunRecord } from "../../sim/checkers/index.ts";
import type { HistoryOp } from "../../sim/history.ts";

const enc = new TextEncoder();
const clock = (entries: [string, number][]): VClock => new Map(entries.map(([a, c]) => [a, { counter: c, timestamp: BigInt(c) }]));
const sib = (actor: string, counter: number, value: string): Sibling => ({ dot: { actor, counter }, value: enc.encode(value), contentType: "text/plain", timestamp: BigInt(counter) });

function put(id: number, key: string, value: string, counter: number): HistoryOp {
  return {
    id, client: id, node: "n1", kind: "put", key, value, writeId: value, contextFrom: null, context: null,
    invokedAtMs: id * 10, completedAtMs: id * 10 + 5, outcome: "ok", dot: { actor: "n1.1", counter }, readSet: null,
    shown: [value], shownTombstones: null, answerContext: null, replicas: null, error: null,
  };
}

// Two concurrent blind writes: both stay siblings.
const history = [put(0, "k", "k=c0.1", 1), put(1, "k", "k=c1.1", 2)];
const full: SiblingSet = { clock: clock([["n1.1", 2]]), siblings: [sib("n1.1", 1, "k=c0.1"), sib("n1.1", 2, "k=c1.1")] };
const half: SiblingSet = { clock: clock([["n1.1", 1]]), siblings: [sib("n1.1", 1, "k=c0.1")] };
const before = ["n1", "n2", "n3"];
const after = ["n1", "n2", "n4"];

function run(final: Record<NodeId, Record<string, SiblingSet>>, opts: { accepted?: number | null; departed?: NodeId[]; finalPrimaries?: NodeId[] } = {}): RunRecord {
  const accepted = opts.accepted === undefined ? 100 : opts.accepted;
  const finalPrimaries = opts.finalPrimaries ?? (accepted === null ? before : after);
  return {
    members: ["n1", "n2", "n3", "n4"], n: 3, r: 2, w: 2, mode: "dvv", history, minted: [], quorums: [], suspicions: [], replies: new Map(),
    final: new Map(Object.entries(final).map(([n, objs]) => [n, new Map(Object.entries(objs))])),
    membership: {
      changes: [{ kind: "join", node: "n4", askedAtMs: 50, acceptedAtMs: accepted }],
      rings: accepted === null ? [{ fromMs: -Infinity, owners: [] }] : [{ fromMs: -Infinity, owners: [] }, { fromMs: accepted, owners: [] }],
      departed: opts.departed ?? [],
    },
    primariesOf: () => finalPrimaries,
    primariesUpTo: (_k, at) => (accepted === null || at < accepted ? before : [...before, "n4"]),
    fallbacksOf: () => [],
  };
}

const props = (r: RunRecord): string[] => checkHandoff(r).map((v) => `${v.property}: ${v.detail}`);

describe("handoff checker", () => {
  it("passes a clean handoff: the new primary holds the full set, the old owner dropped it", () => {
    expect(props(run({ n1: { k: full }, n2: { k: full }, n3: {}, n4: { k: full } }))).toEqual([]);
  });

  it("passes a run without membership changes", () => {
    const r = run({ n1: { k: full } });
    expect(checkHandoff({ ...r, membership: { changes: [], rings: r.membership!.rings, departed: [] } })).toEqual([]);
  });

  it("rejects a new primary that misses an acknowledged write", () => {
    expect(props(run({ n1: { k: full }, n2: { k: full }, n4: { k: half } }))).toEqual([expect.stringContaining("key k on n4 (a primary under the final ring): acknowledged writes k=c1.1")]);
  });

  it("rejects a partition left without its replica on the new primary", () => {
    expect(props(run({ n1: { k: full }, n2: { k: full }, n4: {} }))).toEqual([expect.stringContaining("key k on n4")]);
  });

  it("rejects an object left on the node its partition moved away from", () => {
    expect(props(run({ n1: { k: full }, n2: { k: full }, n3: { k: full }, n4: { k: full } }))).toEqual([expect.stringContaining("n3 still holds a plain object of key k after its partition moved away")]);
  });

  it("rejects a change no node ever acknowledged", () => {
    expect(props(run({ n1: { k: full }, n2: { k: full }, n3: { k: full } }, { accepted: null }))).toEqual([expect.stringContaining("the join of n4 asked at +50 ms was never acknowledged")]);
  });

  it("rejects a departed node that the final ring still counts as a primary", () => {
    expect(props(run({ n1: { k: full }, n2: { k: full } }, { departed: ["n4"] }))).toEqual([expect.stringContaining("n4 is a primary under the final ring but left the cluster")]);
  });
});
