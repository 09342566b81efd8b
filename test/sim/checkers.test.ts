// Each checker on small hand-made histories: it passes a correct run and catches the
// specific failure it exists for.
import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/core/types.ts";
import type { Dot, Sibling, SiblingSet, VClock } from "../../src/core/versioning/types.ts";
import { setsEqual } from "../../src/core/versioning/index.ts";
import { checkConvergence, checkDeterminism, checkFinalSiblings, checkLostWrites, checkQuorums, checkUniqueDots, type RunRecord } from "../../sim/checkers/index.ts";
import type { MintedDot, QuorumRecord } from "../../sim/cluster.ts";
import type { HistoryOp } from "../../sim/history.ts";

const enc = new TextEncoder();
const clock = (entries: [string, number][]): VClock => new Map(entries.map(([a, c]) => [a, { counter: c, timestamp: BigInt(c) }]));
const sib = (actor: string, counter: number, value: string | null): Sibling => ({ dot: { actor, counter }, value: value === null ? null : enc.encode(value), contentType: "text/plain", timestamp: BigInt(counter) });
const set = (c: [string, number][], ...siblings: Sibling[]): SiblingSet => ({ clock: clock(c), siblings });

let nextId = 0;
function put(key: string, value: string, outcome: HistoryOp["outcome"], dot: Dot | null, context: VClock | null = null, kind: "put" | "delete" = "put"): HistoryOp {
  return { id: nextId++, client: 0, node: "n1", kind, key, value: kind === "put" ? value : null, context, invokedAtMs: 0, completedAtMs: 1, outcome, dot, readSet: null, error: null };
}

function record(parts: {
  history?: HistoryOp[];
  final?: Record<NodeId, Record<string, SiblingSet>>;
  minted?: MintedDot[];
  quorums?: QuorumRecord[];
  replies?: [string, NodeId[]][];
  w?: number;
  r?: number;
  /** The key's primaries (default: every member). */
  primaries?: NodeId[];
}): RunRecord {
  const members = ["n1", "n2", "n3"];
  const primaries = parts.primaries ?? members;
  return {
    members,
    n: 3,
    r: parts.r ?? 2,
    w: parts.w ?? 2,
    mode: "dvv",
    history: parts.history ?? [],
    minted: parts.minted ?? [],
    quorums: parts.quorums ?? [],
    replies: new Map((parts.replies ?? []).map(([k, v]) => [k, new Set(v)])),
    final: new Map(Object.entries(parts.final ?? {}).map(([node, objs]) => [node, new Map(Object.entries(objs))])),
    primariesOf: () => primaries,
    setsEqual,
  };
}

const everywhere = (objs: Record<string, SiblingSet>): Record<NodeId, Record<string, SiblingSet>> => ({ n1: objs, n2: objs, n3: objs });

describe("checker 1: lost acknowledged writes", () => {
  it("passes when the acked value survives, or a later write's context covers it", () => {
    const a = put("k", "a", "ok", { actor: "x", counter: 1 });
    const b = put("k", "b", "ok", { actor: "x", counter: 2 }, clock([["x", 1]]));
    expect(checkLostWrites(record({ history: [a, b], final: everywhere({ k: set([["x", 2]], sib("x", 2, "b")) }) }))).toEqual([]);
    // the superseding write's outcome is unknown: still allowed to have replaced a
    const b2 = put("k", "b", "unknown", null, clock([["x", 1]]));
    expect(checkLostWrites(record({ history: [a, b2], final: everywhere({ k: set([["x", 2]], sib("x", 2, "b")) }) }))).toEqual([]);
  });
  it("catches an acked write that vanished (last-writer-wins between concurrent writes)", () => {
    const a = put("k", "a", "ok", { actor: "x", counter: 1 });
    const b = put("k", "b", "ok", { actor: "y", counter: 1 }); // blind, concurrent with a
    const v = checkLostWrites(record({ history: [a, b], final: everywhere({ k: set([["x", 1], ["y", 1]], sib("y", 1, "b")) }) }));
    expect(v).toHaveLength(1);
    expect(v[0]?.property).toBe("lost-write");
    expect(v[0]?.detail).toContain('"a"');
  });
  it("catches a surviving dot that holds another value (a write is matched by dot and value)", () => {
    const a = put("k", "a", "ok", { actor: "x", counter: 1 });
    const v = checkLostWrites(record({ history: [a], final: everywhere({ k: set([["x", 1]], sib("x", 1, "not a")) }) }));
    expect(v).toHaveLength(1);
    expect(v[0]?.detail).toContain('"a"');
  });
  it("looks only at the key's primaries: a copy left on a fallback does not count", () => {
    const a = put("k", "a", "ok", { actor: "x", counter: 1 });
    const onFallback = { n3: { k: set([["x", 1]], sib("x", 1, "a")) } };
    expect(checkLostWrites(record({ history: [a], primaries: ["n1", "n2"], final: onFallback }))).toHaveLength(1);
    expect(checkLostWrites(record({ history: [a], primaries: ["n1", "n3"], final: onFallback }))).toEqual([]);
  });
  it("a failed write's context does not excuse a loss", () => {
    const a = put("k", "a", "ok", { actor: "x", counter: 1 });
    const b = put("k", "b", "failed", null, clock([["x", 1]]));
    expect(checkLostWrites(record({ history: [a, b], final: everywhere({}) }))).toHaveLength(1);
  });
});

describe("checker 2: the final sibling set", () => {
  it("passes concurrent siblings and an unknown-outcome value", () => {
    const a = put("k", "a", "ok", { actor: "x", counter: 1 });
    const b = put("k", "b", "unknown", null);
    expect(checkFinalSiblings(record({ history: [a, b], final: everywhere({ k: set([["x", 1], ["y", 1]], sib("x", 1, "a"), sib("y", 1, "b")) }) }))).toEqual([]);
  });
  it("catches a superseded value that came back", () => {
    const a = put("k", "a", "ok", { actor: "x", counter: 1 });
    const b = put("k", "b", "ok", { actor: "x", counter: 2 }, clock([["x", 1]]));
    const v = checkFinalSiblings(record({ history: [a, b], final: everywhere({ k: set([["x", 2]], sib("x", 1, "a"), sib("x", 2, "b")) }) }));
    expect(v.map((x) => x.property)).toContain("final-siblings");
    expect(v[0]?.detail).toContain("covering");
  });
  it("catches a value never written, a failed write, a wrong dot and a duplicate dot", () => {
    const a = put("k", "a", "ok", { actor: "x", counter: 1 });
    const f = put("k", "f", "failed", null);
    expect(checkFinalSiblings(record({ history: [a], final: { n1: { k: set([["z", 1]], sib("z", 1, "ghost")) } } }))[0]?.detail).toContain("never written");
    expect(checkFinalSiblings(record({ history: [a, f], final: { n1: { k: set([["z", 1]], sib("z", 1, "f")) } } }))[0]?.detail).toContain("definitely failed");
    expect(checkFinalSiblings(record({ history: [a], final: { n1: { k: set([["x", 7]], sib("x", 7, "a")) } } }))[0]?.detail).toContain("acknowledged with dot x:1");
    expect(checkFinalSiblings(record({ history: [a], final: { n1: { k: set([["x", 1]], sib("x", 1, "a"), sib("x", 1, "a")) } } }))[0]?.detail).toContain("twice");
  });
  it("catches a tombstone nobody wrote, allows one of an unknown delete", () => {
    const a = put("k", "a", "ok", { actor: "x", counter: 1 });
    expect(checkFinalSiblings(record({ history: [a], final: { n1: { k: set([["x", 2]], sib("x", 2, null)) } } }))).toHaveLength(1);
    const d = put("k", "", "unknown", null, clock([["x", 1]]), "delete");
    expect(checkFinalSiblings(record({ history: [a, d], final: { n1: { k: set([["x", 2]], sib("x", 2, null)) } } }))).toEqual([]);
  });
});

describe("checker 3: every dot issued once", () => {
  it("passes distinct dots, catches a re-issued one", () => {
    const m = (node: string, counter: number, actor = "n1.1"): MintedDot => ({ node, atMs: 0, key: "k", actor, counter });
    expect(checkUniqueDots(record({ minted: [m("n1", 1), m("n1", 2), m("n2", 1, "n2.1")] }))).toEqual([]);
    const v = checkUniqueDots(record({ minted: [m("n1", 1), m("n1", 2), m("n1", 1)] }));
    expect(v).toHaveLength(1);
    expect(v[0]?.detail).toContain("minted twice");
  });
  it("ignores a mint retracted by a machine crash (the dot never left the node's memory)", () => {
    const first: MintedDot = { node: "n1", atMs: 0, key: "k", actor: "n1.1", counter: 1, retracted: true };
    const again: MintedDot = { node: "n1", atMs: 5, key: "k", actor: "n1.1", counter: 1 };
    expect(checkUniqueDots(record({ minted: [first, again] }))).toEqual([]);
    expect(checkUniqueDots(record({ minted: [{ ...first, retracted: false }, again] }))).toHaveLength(1);
  });
  it("catches two acknowledged writes with one dot", () => {
    const a = put("k", "a", "ok", { actor: "x", counter: 1 });
    const b = put("k", "b", "ok", { actor: "x", counter: 1 });
    expect(checkUniqueDots(record({ history: [a, b] }))[0]?.detail).toContain("both got dot x:1");
  });
});

describe("checker 4: quorums are distinct replicas of the same request", () => {
  const q = (replicas: string[], needed = 2, op: QuorumRecord["op"] = "put"): QuorumRecord => ({ node: "n1", atMs: 0, op, reqId: "n1/a/1", key: "k", needed, replicas });
  it("passes a quorum backed by delivered replies (the coordinator's own replica needs none)", () => {
    expect(checkQuorums(record({ quorums: [q(["n1", "n2"])], replies: [["n1 n1/a/1", ["n2"]]] }))).toEqual([]);
  });
  it("catches a replica counted twice, too few replicas, and a reply that never arrived", () => {
    expect(checkQuorums(record({ quorums: [q(["n2", "n2"])], replies: [["n1 n1/a/1", ["n2"]]] }))[0]?.detail).toContain("twice");
    expect(checkQuorums(record({ quorums: [q(["n2"], 2)], replies: [["n1 n1/a/1", ["n2"]]] }))[0]?.detail).toContain("needed 2");
    expect(checkQuorums(record({ quorums: [q(["n2", "n3"])], replies: [["n1 n1/a/1", ["n2"]]] }))[0]?.detail).toContain("no reply from it");
    expect(checkQuorums(record({ quorums: [q(["n2", "n3"], 1)], replies: [["n1 n1/a/1", ["n2", "n3"]]] }))[0]?.detail).toContain("W=2");
  });
});

describe("checker 5: convergence", () => {
  it("passes equal sets and absent-vs-tombstone, catches divergence", () => {
    const s1 = set([["x", 1]], sib("x", 1, "a"));
    expect(checkConvergence(record({ final: everywhere({ k: s1 }) }))).toEqual([]);
    expect(checkConvergence(record({ final: { n1: { k: set([["x", 1]], sib("x", 1, null)) }, n2: {}, n3: {} } }))).toEqual([]);
    const v = checkConvergence(record({ final: { n1: { k: s1 }, n2: { k: s1 }, n3: {} } }));
    expect(v).toHaveLength(1);
    expect(v[0]?.detail).toContain("n3=absent");
  });
});

describe("checker 6: determinism", () => {
  it("equal hashes pass, different hashes are a violation", () => {
    expect(checkDeterminism(1, "ab", "ab")).toEqual([]);
    expect(checkDeterminism(1, "ab", "cd")[0]?.property).toBe("determinism");
  });
});
