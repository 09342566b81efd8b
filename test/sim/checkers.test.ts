// Each checker on small hand-made histories: it passes a correct run and catches the
// specific failure it exists for.
import { describe, expect, it } from "vitest";
import type { NodeId } from "../../src/core/types.ts";
import type { Dot, Sibling, SiblingSet, VClock } from "../../src/core/versioning/types.ts";
import { checkConvergence, checkDeterminism, checkFinalSiblings, checkHintsDrained, checkLostWrites, checkQuorums, checkReads, checkUniqueDots, staleReadCount, type RunRecord } from "../../sim/checkers/index.ts";
import type { MintedDot, QuorumRecord, Suspicion } from "../../sim/cluster.ts";
import type { HistoryOp } from "../../sim/history.ts";

const enc = new TextEncoder();
const clock = (entries: [string, number][]): VClock => new Map(entries.map(([a, c]) => [a, { counter: c, timestamp: BigInt(c) }]));
const sib = (actor: string, counter: number, value: string | null): Sibling => ({ dot: { actor, counter }, value: value === null ? null : enc.encode(value), contentType: "text/plain", timestamp: BigInt(counter) });
const set = (c: [string, number][], ...siblings: Sibling[]): SiblingSet => ({ clock: clock(c), siblings });

// Histories are built in order: an op's id is its index in the history it ends up in, so
// each test starts a fresh one with fresh().
let history: HistoryOp[] = [];
const fresh = (): HistoryOp[] => (history = []);

/**
 * A write. `from` is the answer whose context it was sent with (null: blind); an ok answer
 * shows the client its own write (a 200). `context` is only what the system was sent.
 */
function put(key: string, value: string, outcome: HistoryOp["outcome"], dot: Dot | null, from: HistoryOp | null = null, kind: "put" | "delete" = "put", context: VClock | null = null): HistoryOp {
  const op: HistoryOp = {
    id: history.length,
    client: 0,
    node: "n1",
    kind,
    key,
    value: kind === "put" ? value : null,
    writeId: value,
    contextFrom: from?.id ?? null,
    context,
    invokedAtMs: history.length * 10,
    completedAtMs: history.length * 10 + 5,
    outcome,
    dot,
    readSet: null,
    shown: outcome === "ok" && kind === "put" ? [value] : outcome === "ok" ? [] : null,
    shownTombstones: outcome === "ok" && kind === "delete" && dot !== null ? [dot] : null,
    answerContext: null,
    replicas: null,
    error: outcome === "failed" ? "refused" : null,
  };
  history.push(op);
  return op;
}

/** A read that showed the client these write ids (and tombstones). */
function read(key: string, shown: string[], tombstones: Dot[] = []): HistoryOp {
  const op: HistoryOp = {
    id: history.length,
    client: 1,
    node: "n1",
    kind: "get",
    key,
    value: null,
    writeId: null,
    contextFrom: null,
    context: null,
    invokedAtMs: history.length * 10,
    completedAtMs: history.length * 10 + 5,
    outcome: "ok",
    dot: null,
    readSet: null,
    shown,
    shownTombstones: tombstones,
    answerContext: null,
    replicas: null,
    error: null,
  };
  history.push(op);
  return op;
}

function record(parts: {
  history?: HistoryOp[];
  final?: Record<NodeId, Record<string, SiblingSet>>;
  minted?: MintedDot[];
  quorums?: QuorumRecord[];
  replies?: [string, NodeId[]][];
  refusals?: [string, NodeId[]][];
  suspicions?: Suspicion[];
  primaries?: NodeId[];
  wipes?: Record<NodeId, number[]>;
  flips?: Record<NodeId, { atMs: number; key: string }[]>;
  hints?: Record<NodeId, { target: NodeId; key: string }[]>;
  up?: NodeId[];
  hintDeletes?: RunRecord["hintDeletes"];
  convergence?: RunRecord["convergence"];
  w?: number;
  r?: number;
}): RunRecord {
  const members = ["n1", "n2", "n3"];
  return {
    members,
    n: 3,
    r: parts.r ?? 2,
    w: parts.w ?? 2,
    mode: "dvv",
    history: parts.history ?? history,
    minted: parts.minted ?? [],
    quorums: parts.quorums ?? [],
    suspicions: parts.suspicions ?? [],
    wipes: new Map(Object.entries(parts.wipes ?? {})),
    flips: new Map(Object.entries(parts.flips ?? {})),
    hintsAtEnd: new Map(Object.entries(parts.hints ?? {})),
    upAtEnd: new Set(parts.up ?? members),
    ...(parts.hintDeletes ? { hintDeletes: parts.hintDeletes } : {}),
    ...(parts.convergence ? { convergence: parts.convergence } : {}),
    replies: new Map((parts.replies ?? []).map(([k, v]) => [k, new Set(v)])),
    refusals: new Map((parts.refusals ?? []).map(([k, v]) => [k, new Set(v)])),
    final: new Map(Object.entries(parts.final ?? {}).map(([node, objs]) => [node, new Map(Object.entries(objs))])),
    primariesOf: () => parts.primaries ?? members,
    fallbacksOf: () => members.filter((m) => !(parts.primaries ?? members).includes(m)),
  };
}

const everywhere = (objs: Record<string, SiblingSet>): Record<NodeId, Record<string, SiblingSet>> => ({ n1: objs, n2: objs, n3: objs });

describe("lost acknowledged writes", () => {
  it("passes when the acked value survives, or a later write sent with a context that had shown it replaced it", () => {
    fresh();
    const a = put("k", "a", "ok", { actor: "x", counter: 1 });
    const r = read("k", ["a"]);
    put("k", "b", "ok", { actor: "x", counter: 2 }, r);
    expect(checkLostWrites(record({ final: everywhere({ k: set([["x", 2]], sib("x", 2, "b")) }) }))).toEqual([]);
    // the superseding write's outcome is unknown: still allowed to have replaced a
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    put("k", "b2", "unknown", null, read("k", ["a"]));
    expect(checkLostWrites(record({ final: everywhere({ k: set([["x", 2]], sib("x", 2, "b2")) }) }))).toEqual([]);
    // reusing a's own 200 answer supersedes a
    fresh();
    const a2 = put("k", "a", "ok", { actor: "x", counter: 1 });
    put("k", "b", "ok", { actor: "x", counter: 2 }, a2);
    expect(checkLostWrites(record({ final: everywhere({ k: set([["x", 2]], sib("x", 2, "b")) }) }))).toEqual([]);
    void a;
  });
  it("catches an acked write that vanished (last-writer-wins between concurrent writes)", () => {
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    put("k", "b", "ok", { actor: "y", counter: 1 }); // blind, concurrent with a
    const v = checkLostWrites(record({ final: everywhere({ k: set([["x", 1], ["y", 1]], sib("y", 1, "b")) }) }));
    expect(v).toHaveLength(1);
    expect(v[0]?.property).toBe("lost-write");
    expect(v[0]?.detail).toContain("write a ");
  });
  it("a write held only by a node that is not a primary of the key is lost (a stray copy is not a replica)", () => {
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    const a = { k: set([["x", 1]], sib("x", 1, "a")) };
    expect(checkLostWrites(record({ final: { n1: a }, primaries: ["n1", "n2"] }))).toEqual([]);
    expect(checkLostWrites(record({ final: { n1: {}, n2: {}, n3: a }, primaries: ["n1", "n2"] }))).toHaveLength(1);
  });
  it("a failed write's context does not excuse a loss", () => {
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    put("k", "b", "failed", null, read("k", ["a"]));
    expect(checkLostWrites(record({ final: everywhere({}) }))).toHaveLength(1);
  });
  it("matches a write by its value and its dot: the right dot with another value does not count", () => {
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    expect(checkLostWrites(record({ final: everywhere({ k: set([["x", 1]], sib("x", 1, "not-a")) }) }))).toHaveLength(1);
    expect(checkLostWrites(record({ final: everywhere({ k: set([["x", 2]], sib("x", 2, "a")) }) }))).toHaveLength(1);
  });
  it("causality comes from what the client was shown, not from the clock it was sent", () => {
    // A PUT answer that showed only its own write but whose clock also covered a concurrent
    // sibling of the same actor (the x:2 entry covers x:1): the client reuses it, a vanishes.
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    const b = put("k", "b", "ok", { actor: "x", counter: 2 });
    put("k", "b2", "ok", { actor: "x", counter: 3 }, b, "put", clock([["x", 2]]));
    const v = checkLostWrites(record({ final: everywhere({ k: set([["x", 3]], sib("x", 3, "b2")) }) }));
    expect(v.map((x) => x.detail.slice(0, 27))).toEqual(["acknowledged write a (dot x"]);
  });
  it("a read that returned fewer siblings but the full clock: the write sent with it must not remove the unseen one", () => {
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    put("k", "b", "ok", { actor: "y", counter: 1 });
    const r = read("k", ["b"]); // the system showed only b, with a clock covering a too
    put("k", "c", "ok", { actor: "y", counter: 2 }, r, "put", clock([["x", 1], ["y", 1]]));
    expect(checkLostWrites(record({ final: everywhere({ k: set([["x", 1], ["y", 2]], sib("y", 2, "c")) }) }))).toHaveLength(1);
  });
  it("a 404 with a tombstone context: covers what the identified delete covered", () => {
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    const d = put("k", "del-1", "ok", { actor: "x", counter: 2 }, read("k", ["a"]), "delete");
    const r = read("k", [], [d.dot!]);
    put("k", "c", "ok", { actor: "x", counter: 3 }, r);
    expect(checkLostWrites(record({ final: everywhere({ k: set([["x", 3]], sib("x", 3, "c")) }) }))).toEqual([]);
    // a tombstone whose delete is not identified (dot of no acknowledged delete): nothing covered
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    put("k", "c", "ok", { actor: "x", counter: 3 }, read("k", [], [{ actor: "x", counter: 2 }]));
    expect(checkLostWrites(record({ final: everywhere({ k: set([["x", 3]], sib("x", 3, "c")) }) }))).toHaveLength(1);
  });
});

describe("the final sibling set", () => {
  it("passes concurrent siblings and an unknown-outcome value", () => {
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    put("k", "b", "unknown", null);
    expect(checkFinalSiblings(record({ final: everywhere({ k: set([["x", 1], ["y", 1]], sib("x", 1, "a"), sib("y", 1, "b")) }) }))).toEqual([]);
    expect(checkFinalSiblings(record({ final: everywhere({ k: set([["x", 1]], sib("x", 1, "a")) }) }))).toEqual([]);
  });
  it("catches a superseded value that came back", () => {
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    put("k", "b", "ok", { actor: "x", counter: 2 }, read("k", ["a"]));
    const v = checkFinalSiblings(record({ final: everywhere({ k: set([["x", 2]], sib("x", 1, "a"), sib("x", 2, "b")) }) }));
    expect(v.map((x) => x.property)).toContain("final-siblings");
    expect(v[0]?.detail).toContain("had shown it");
  });
  it("is exact: an acknowledged, unsuperseded write missing from one primary fails", () => {
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    put("k", "b", "ok", { actor: "y", counter: 1 });
    const both = set([["x", 1], ["y", 1]], sib("x", 1, "a"), sib("y", 1, "b"));
    const v = checkFinalSiblings(record({ final: { n1: { k: both }, n2: { k: both }, n3: { k: set([["x", 1], ["y", 1]], sib("y", 1, "b")) } } }));
    expect(v).toHaveLength(1);
    expect(v[0]?.detail).toContain("key k on n3: acknowledged write a");
  });
  it("catches a value never written, a failed write, a wrong dot and a duplicate dot", () => {
    fresh();
    put("k", "a", "ok", { actor: "x", counter: 1 });
    put("k", "f", "failed", null);
    const one = (objs: Record<string, SiblingSet>): Record<NodeId, Record<string, SiblingSet>> => ({ n1: objs });
    const a = sib("x", 1, "a");
    expect(checkFinalSiblings(record({ primaries: ["n1"], final: one({ k: set([["z", 1]], a, sib("z", 1, "ghost")) }) }))[0]?.detail).toContain("never written");
    expect(checkFinalSiblings(record({ primaries: ["n1"], final: one({ k: set([["z", 1]], a, sib("z", 1, "f")) }) }))[0]?.detail).toContain("definitely failed");
    expect(checkFinalSiblings(record({ primaries: ["n1"], final: one({ k: set([["x", 7]], sib("x", 7, "a")) }) }))[0]?.detail).toContain("acknowledged with dot x:1");
    expect(checkFinalSiblings(record({ primaries: ["n1"], final: one({ k: set([["x", 1]], a, sib("x", 1, "a")) }) }))[0]?.detail).toContain("twice");
  });
  it("catches a tombstone nobody wrote, allows one of an unknown delete", () => {
    fresh();
    put("k", "a", "unknown", null);
    const one = (k: SiblingSet): Record<NodeId, Record<string, SiblingSet>> => ({ n1: { k } });
    expect(checkFinalSiblings(record({ primaries: ["n1"], final: one(set([["x", 2]], sib("x", 2, null))) }))).toHaveLength(1);
    put("k", "del", "unknown", null, read("k", ["a"]), "delete");
    expect(checkFinalSiblings(record({ primaries: ["n1"], final: one(set([["x", 2]], sib("x", 2, null))) }))).toEqual([]);
  });
});

describe("every dot issued once", () => {
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
    fresh();
    const a = put("k", "a", "ok", { actor: "x", counter: 1 });
    const b = put("k", "b", "ok", { actor: "x", counter: 1 });
    expect(checkUniqueDots(record({ history: [a, b] }))[0]?.detail).toContain("both got dot x:1");
  });
});

describe("quorum membership", () => {
  const q = (replicas: string[], needed = 2, op: QuorumRecord["op"] = "put"): QuorumRecord => ({ node: "n1", atMs: 5, op, reqId: "n1/a/1", key: "k", needed, replicas });
  /** One client put of key k in flight at 0..5 ms, asking for w (or the default). */
  const inFlight = (w?: number): void => {
    fresh();
    const op = put("k", "v", "ok", { actor: "n1.1", counter: 1 });
    if (w !== undefined) (op as { w?: number }).w = w;
  };
  it("passes a quorum of primaries backed by delivered replies (the coordinator's own replica needs none)", () => {
    inFlight();
    expect(checkQuorums(record({ quorums: [q(["n1", "n2"])], replies: [["n1 n1/a/1", ["n2"]]] }))).toEqual([]);
  });
  it("catches a replica counted twice, too few replicas, and a reply that never arrived", () => {
    inFlight();
    expect(checkQuorums(record({ quorums: [q(["n2", "n2"])], replies: [["n1 n1/a/1", ["n2"]]] }))[0]?.detail).toContain("twice");
    expect(checkQuorums(record({ quorums: [q(["n2"], 2)], replies: [["n1 n1/a/1", ["n2"]]] }))[0]?.detail).toContain("needed 2");
    expect(checkQuorums(record({ quorums: [q(["n2", "n3"])], replies: [["n1 n1/a/1", ["n2"]]] }))[0]?.detail).toContain("no reply from it");
  });
  it("uses each request's own w: a quorum of 1 for a request that asked w=3 fails, for one that asked w=1 passes", () => {
    inFlight(3);
    expect(checkQuorums(record({ quorums: [q(["n2"], 1)], replies: [["n1 n1/a/1", ["n2"]]] }))[0]?.detail).toContain("asked for w=3");
    inFlight(1);
    expect(checkQuorums(record({ quorums: [q(["n2"], 1)], replies: [["n1 n1/a/1", ["n2"]]] }))).toEqual([]);
    inFlight();
    expect(checkQuorums(record({ quorums: [q(["n2", "n3"], 1)], replies: [["n1 n1/a/1", ["n2", "n3"]]] }))[0]?.detail).toContain("asked for w=2");
  });
  it("a fallback counts only for a primary the coordinator suspected during the request", () => {
    inFlight();
    const primaries = ["n1", "n2"];
    const replies: [string, NodeId[]][] = [["n1 n1/a/1", ["n3"]]];
    const v = checkQuorums(record({ primaries, quorums: [q(["n1", "n3"])], replies }));
    expect(v[0]?.detail).toContain("counted fallbacks [n3] but suspected only []");
    const suspicions: Suspicion[] = [{ node: "n1", peer: "n2", fromMs: 0, toMs: 3 }];
    expect(checkQuorums(record({ primaries, quorums: [q(["n1", "n3"])], replies, suspicions }))).toEqual([]);
    // suspected by another node: does not count
    const elsewhere: Suspicion[] = [{ node: "n3", peer: "n2", fromMs: 0, toMs: null }];
    expect(checkQuorums(record({ primaries, quorums: [q(["n1", "n3"])], replies, suspicions: elsewhere }))).toHaveLength(1);
  });
  it("a fallback counts for a primary that refused the request, even when a duplicate of it later succeeded there", () => {
    inFlight();
    const primaries = ["n1", "n2", "n3"];
    const w3 = q(["n1", "n2", "n4"], 3);
    const replies: [string, NodeId[]][] = [["n1 n1/a/1", ["n2", "n4"]]];
    // n2 refused (then acked a duplicate and was counted); n3 neither refused nor was suspected
    expect(checkQuorums(record({ primaries, w: 3, quorums: [w3], replies, refusals: [["n1 n1/a/1", ["n2"]]] }))).toEqual([]);
    // without the refusal on record the fallback n4 stands in for nobody
    expect(checkQuorums(record({ primaries, w: 3, quorums: [w3], replies }))[0]?.detail).toContain("counted fallbacks [n4] but suspected only []");
    // a refusal from a node that is not a primary excuses nothing
    expect(checkQuorums(record({ primaries, w: 3, quorums: [w3], replies, refusals: [["n1 n1/a/1", ["n4"]]] }))).toHaveLength(1);
  });
});

describe("convergence", () => {
  it("passes equal sets and absent-vs-tombstone, catches divergence", () => {
    const s1 = set([["x", 1]], sib("x", 1, "a"));
    expect(checkConvergence(record({ final: everywhere({ k: s1 }) }))).toEqual([]);
    expect(checkConvergence(record({ final: { n1: { k: set([["x", 1]], sib("x", 1, null)) }, n2: {}, n3: {} } }))).toEqual([]);
    const v = checkConvergence(record({ final: { n1: { k: s1 }, n2: { k: s1 }, n3: {} } }));
    expect(v).toHaveLength(1);
    expect(v[0]?.detail).toContain("n3=absent");
    const stated = checkConvergence(record({ final: { n1: { k: s1 }, n2: { k: s1 }, n3: {} }, convergence: { boundMs: 14000, quietMs: 60000, readsAfterHeal: false } }));
    expect(stated[0]?.detail).toContain("within 60000 ms of quiet (bound 14000 ms, no reads after the heal)");
  });
  it("compares sets itself: same siblings but a different clock, or a different value on one dot, diverge", () => {
    const s1 = set([["x", 1]], sib("x", 1, "a"));
    expect(checkConvergence(record({ final: { n1: { k: s1 }, n2: { k: s1 }, n3: { k: set([["x", 1], ["y", 3]], sib("x", 1, "a")) } } }))).toHaveLength(1);
    expect(checkConvergence(record({ final: { n1: { k: s1 }, n2: { k: s1 }, n3: { k: set([["x", 1]], sib("x", 1, "b")) } } }))).toHaveLength(1);
  });
});

describe("reads see earlier acknowledged writes", () => {
  /** An acknowledged put by replicas, then a get through replicas that showed `shown`. */
  const scene = (opts: { putReplicas: NodeId[]; getReplicas: NodeId[]; shown: string[]; r?: number; w?: number }): void => {
    fresh();
    const x = put("k", "x", "ok", { actor: "n1.1", counter: 1 });
    x.replicas = opts.putReplicas;
    if (opts.w !== undefined) (x as { w?: number }).w = opts.w;
    const g = read("k", opts.shown);
    g.replicas = opts.getReplicas;
    if (opts.r !== undefined) (g as { r?: number }).r = opts.r;
  };
  it("passes a read that shows the write, and one that follows a superseding write", () => {
    scene({ putReplicas: ["n1", "n2"], getReplicas: ["n2", "n3"], shown: ["x"] });
    expect(checkReads(record({}))).toEqual([]);
    fresh();
    const x = put("k", "x", "ok", { actor: "n1.1", counter: 1 });
    x.replicas = ["n1", "n2"];
    put("k", "y", "unknown", null, x);
    const g = read("k", ["y"]);
    g.replicas = ["n2", "n3"];
    expect(checkReads(record({}))).toEqual([]);
  });
  it("catches a strict quorum read (R+W>N, primaries only) that missed an earlier acknowledged write", () => {
    scene({ putReplicas: ["n1", "n2"], getReplicas: ["n2", "n3"], shown: [] });
    const v = checkReads(record({}));
    expect(v).toHaveLength(1);
    expect(v[0]?.property).toBe("stale-read");
    expect(v[0]?.detail).toContain("did not return x");
  });
  it("only counts staleness under sloppy quorum, non-overlapping quorums, or after a wipe", () => {
    scene({ putReplicas: ["n1", "n2"], getReplicas: ["n3", "n4"], shown: [] }); // n4 is a fallback
    expect(checkReads(record({ primaries: ["n1", "n2", "n3"] }))).toEqual([]);
    expect(staleReadCount(record({ primaries: ["n1", "n2", "n3"] }))).toBe(1);
    scene({ putReplicas: ["n1"], getReplicas: ["n3"], shown: [], r: 1, w: 1 }); // r + w = 2 <= 3
    expect(checkReads(record({}))).toEqual([]);
    scene({ putReplicas: ["n1", "n2"], getReplicas: ["n2", "n3"], shown: [] });
    expect(checkReads(record({ wipes: { n2: [7] } }))).toEqual([]);
    // a flipped copy of this key on a replica of either quorum excuses it; of another key, not
    expect(checkReads(record({ flips: { n2: [{ atMs: 7, key: "o:0003:k" }] } }))).toEqual([]);
    expect(checkReads(record({ flips: { n2: [{ atMs: 7, key: "o:0003:other" }] } }))).toHaveLength(1);
  });
});

describe("hints drain", () => {
  it("passes no hints, or a hint for a node that is down; catches a hint left for a node that is up", () => {
    expect(checkHintsDrained(record({ hints: { n1: [] } }))).toEqual([]);
    expect(checkHintsDrained(record({ hints: { n1: [{ target: "n3", key: "k" }] }, up: ["n1", "n2"] }))).toEqual([]);
    const v = checkHintsDrained(record({ hints: { n1: [{ target: "n3", key: "k" }] } }));
    expect(v[0]?.property).toBe("hints-drain");
    expect(v[0]?.detail).toContain("hint of key k for n3");
  });
  it("catches a plain object left on a node that is not a primary of the key (a stray copy)", () => {
    const objs = { k: set([["n1", 1]], sib("n1", 1, "k=c1.0")) };
    expect(checkHintsDrained(record({ final: { n1: objs, n2: objs }, primaries: ["n1", "n2"] }))).toEqual([]);
    const v = checkHintsDrained(record({ final: { n1: objs, n2: objs, n3: objs }, primaries: ["n1", "n2"] }));
    expect(v).toHaveLength(1);
    expect(v[0]?.property).toBe("hints-drain");
    expect(v[0]?.detail).toContain("n3 holds a plain object of key k");
  });
  it("catches a hint deleted while its target did not know everything it held (a write merged into it during the handoff)", () => {
    // n3 held a hint for n1 with x:1 (handed off: n1 knows it) and then x:2, merged in meanwhile.
    const handedOff = set([["x", 1]], sib("x", 1, "k=c0.1"));
    const changed = set([["x", 2]], sib("x", 2, "k=c0.2"));
    const del = (hint: SiblingSet | null, targetHeld: SiblingSet | null) => [{ atMs: 50, node: "n3", target: "n1", key: "k", hint, targetHeld }];
    // the target knows what the hint held (holding it, or a later write that superseded it): fine
    expect(checkHintsDrained(record({ hintDeletes: del(handedOff, handedOff) }))).toEqual([]);
    expect(checkHintsDrained(record({ hintDeletes: del(handedOff, set([["x", 3]], sib("x", 3, "k=c0.3"))) }))).toEqual([]);
    // a reaped remnant (clock, no siblings) knows it too
    expect(checkHintsDrained(record({ hintDeletes: del(changed, set([["x", 2]])) }))).toEqual([]);
    // the changed hint was deleted although n1 only knows x:1
    const v = checkHintsDrained(record({ hintDeletes: del(changed, handedOff) }));
    expect(v).toHaveLength(1);
    expect(v[0]?.property).toBe("hints-drain");
    expect(v[0]?.detail).toContain("n3 deleted its hint of key k for n1");
    expect(v[0]?.detail).toContain("[x:2]");
    // the target holds nothing at all: also caught
    expect(checkHintsDrained(record({ hintDeletes: del(changed, null) }))).toHaveLength(1);
    // not judged: a corrupt hint (discarded), or a target that lost data or had a flip shortly before
    expect(checkHintsDrained(record({ hintDeletes: del(null, null) }))).toEqual([]);
    expect(checkHintsDrained(record({ hintDeletes: del(changed, handedOff), wipes: { n1: [40] } }))).toEqual([]);
    expect(checkHintsDrained(record({ hintDeletes: del(changed, handedOff), flips: { n1: [{ atMs: 45, key: "o:0001:k" }] } }))).toEqual([]);
    // a loss on another node, or after the deletion, excuses nothing
    expect(checkHintsDrained(record({ hintDeletes: del(changed, handedOff), wipes: { n2: [40], n1: [60] } }))).toHaveLength(1);
  });
  it("counts what a target that is no longer a primary keeps as hints for the new primaries, and only what they cover", () => {
    const hint = set([["x", 2], ["y", 1]], sib("x", 2, "k=c0.2"), sib("y", 1, "k=c1.1"));
    const del = (targetHinted: SiblingSet[]) => [{ atMs: 50, node: "n3", target: "n1", key: "k", hint, targetHeld: null, targetHinted }];
    // n1 shed its object into hints for the new primaries: it still knows everything
    expect(checkHintsDrained(record({ hintDeletes: del([hint, hint]) }))).toEqual([]);
    // two hints that each know a part: together they cover the hint
    expect(checkHintsDrained(record({ hintDeletes: del([set([["x", 2]], sib("x", 2, "k=c0.2")), set([["y", 1]], sib("y", 1, "k=c1.1"))]) }))).toEqual([]);
    // its hints lack y:1: the copy was dropped
    const v = checkHintsDrained(record({ hintDeletes: del([set([["x", 2]], sib("x", 2, "k=c0.2"))]) }));
    expect(v).toHaveLength(1);
    expect(v[0]?.detail).toContain("[y:1]");
    expect(checkHintsDrained(record({ hintDeletes: del([]) }))).toHaveLength(1);
  });
  it("lets a holder drop a hint for a target that departed for good once its own object covers the hint, and only then", () => {
    const hint = set([["x", 2]], sib("x", 2, "k=c0.2"));
    const older = set([["x", 1]], sib("x", 1, "k=c0.1"));
    const del = (holderHeld: SiblingSet | null) => [{ atMs: 50, node: "n3", target: "n1", key: "k", hint, targetHeld: null, holderHeld }];
    const departed = { changes: [], rings: [], departed: ["n1"] };
    expect(checkHintsDrained({ ...record({ hintDeletes: del(hint) }), membership: departed })).toEqual([]);
    // the holder's own object lacks x:2: the copy was dropped
    expect(checkHintsDrained({ ...record({ hintDeletes: del(older) }), membership: departed })).toHaveLength(1);
    // the target did not depart: its own copy is what counts
    expect(checkHintsDrained(record({ hintDeletes: del(hint) }))).toHaveLength(1);
  });
});

describe("determinism", () => {
  it("equal hashes pass, different hashes are a violation", () => {
    expect(checkDeterminism(1, "ab", "ab")).toEqual([]);
    expect(checkDeterminism(1, "ab", "cd")[0]?.property).toBe("determinism");
  });
});
