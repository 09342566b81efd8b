// The anti-entropy exchange checker and the availability checker on hand-made records: each
// passes a correct run and catches the failure it exists for (and excuses what it must).
import { describe, expect, it } from "vitest";
import type { Sibling, SiblingSet, VClock } from "../../src/core/versioning/types.ts";
import { checkAntiEntropy, checkAvailability, type FaultSpan, type RunRecord } from "../../sim/checkers/index.ts";
import type { AeExchangeRecord, AeKeyStates, StoredState } from "../../sim/ae-exchanges.ts";
import type { HistoryOp } from "../../sim/history.ts";

const enc = new TextEncoder();
const clock = (entries: [string, number][]): VClock => new Map(entries.map(([a, c]) => [a, { counter: c, timestamp: BigInt(c) }]));
const sib = (actor: string, counter: number, value: string | null): Sibling => ({ dot: { actor, counter }, value: value === null ? null : enc.encode(value), contentType: "text/plain", timestamp: BigInt(counter) });
const set = (c: [string, number][], ...siblings: Sibling[]): SiblingSet => ({ clock: clock(c), siblings });

const X = sib("A", 1, "k=c1.1");
const Y = sib("B", 1, "k=c2.1");
const Z = sib("C", 1, "k=c3.1");
const setX = set([["A", 1]], X);
const setY = set([["B", 1]], Y);
const setXY = set([["A", 1], ["B", 1]], X, Y);

function keyStates(a0: StoredState, b0: StoredState, a1: StoredState, b1: StoredState, deleted = false): AeKeyStates {
  return { key: "k", a0, b0, a1, b1, deleted };
}

function exchange(keys: AeKeyStates[], lossy: string | null = null, differing = keys.length): AeExchangeRecord {
  return { initiator: "n1", responder: "n2", partition: 3, reqId: "n1/0a0b0c0d/7", beginMs: 1000, endMs: 1040, differing, keys, lossy };
}

function record(parts: { exchanges?: AeExchangeRecord[]; history?: HistoryOp[]; probes?: HistoryOp[]; spans?: FaultSpan[]; corruptions?: { atMs: number; node: string; key: string }[] }): RunRecord {
  const members = ["n1", "n2", "n3"];
  return {
    members,
    n: 3,
    r: 2,
    w: 2,
    mode: "dvv",
    history: parts.history ?? [],
    ...(parts.probes ? { probes: parts.probes } : {}),
    minted: [],
    quorums: [],
    suspicions: [],
    replies: new Map(),
    final: new Map(),
    exchanges: parts.exchanges ?? [],
    faults: { settleMs: 500, spans: parts.spans ?? [], corruptions: parts.corruptions ?? [] },
    startMs: 0,
    primariesOf: () => members,
    fallbacksOf: () => [],
  };
}

describe("anti-entropy at the exchange level", () => {
  it("passes an exchange that left both sides with the union", () => {
    expect(checkAntiEntropy(record({ exchanges: [exchange([keyStates(setX, setY, setXY, setXY), keyStates(setX, null, setX, setX)])] }))).toEqual([]);
  });

  it("catches a one-way exchange: the initiator never got what the responder held", () => {
    const v = checkAntiEntropy(record({ exchanges: [exchange([keyStates(setX, setY, setX, setXY)])] }));
    expect(v).toHaveLength(1);
    expect(v[0]?.property).toBe("anti-entropy");
    expect(v[0]?.detail).toContain("key k is not repaired: n1 ends without B:1 that n2 held at the begin");
    expect(v[0]?.detail).toContain("n1 -> n2, partition 3");
  });

  it("catches a key left unrepaired although the exchange completed (nothing else touched it)", () => {
    const v = checkAntiEntropy(record({ exchanges: [exchange([keyStates(null, setY, null, setY)])] }));
    expect(v[0]?.detail).toContain("n1 ends without B:1");
    // Clocks joined but a sibling dropped on one side: the inclusion holds, the equality does not.
    const dropped = set([["A", 1], ["B", 1]], Y);
    const w = checkAntiEntropy(record({ exchanges: [exchange([keyStates(setX, setY, setXY, dropped)])] }));
    expect(w[0]?.detail).toContain("the two copies still differ and nothing else wrote the key meanwhile");
  });

  it("excuses unequal ends when other writes reached the key during the exchange, but still wants the inclusion", () => {
    const withZ = set([["A", 1], ["B", 1], ["C", 1]], X, Y, Z);
    expect(checkAntiEntropy(record({ exchanges: [exchange([keyStates(setX, setY, withZ, setXY)])] }))).toEqual([]);
    const zOnly = set([["A", 1], ["C", 1]], X, Z);
    expect(checkAntiEntropy(record({ exchanges: [exchange([keyStates(setX, setY, zOnly, setXY)])] }))[0]?.detail).toContain("n1 ends without B:1");
  });

  it("does not judge exchanges that lost stored knowledge, reaped or unreadable keys, dot conflicts, or more keys than one exchange repairs", () => {
    const broken = keyStates(setX, setY, setX, setXY);
    expect(checkAntiEntropy(record({ exchanges: [exchange([broken], "n2 crashed or restarted")] }))).toEqual([]);
    expect(checkAntiEntropy(record({ exchanges: [exchange([keyStates(setX, setY, setX, setXY, true)])] }))).toEqual([]);
    expect(checkAntiEntropy(record({ exchanges: [exchange([keyStates(setX, "corrupt", setX, setXY)])] }))).toEqual([]);
    const conflict = set([["A", 1]], sib("A", 1, "k=c9.9"));
    expect(checkAntiEntropy(record({ exchanges: [exchange([keyStates(setX, conflict, setX, conflict)])] }))).toEqual([]);
    expect(checkAntiEntropy(record({ exchanges: [exchange([broken], null, 300)] }))).toEqual([]);
    // Absent and tombstone-only are the same content (reaping removes tombstones one replica at a time).
    const tomb = set([["A", 2]], sib("A", 2, null));
    expect(checkAntiEntropy(record({ exchanges: [exchange([keyStates(null, tomb, null, tomb)])] }))).toEqual([]);
  });
});

let nextId = 0;
function op(kind: HistoryOp["kind"], invokedAtMs: number, completedAtMs: number, outcome: HistoryOp["outcome"], error: string | null = null, key = "k1"): HistoryOp {
  return {
    id: nextId++,
    client: 0,
    node: "n2",
    kind,
    key,
    value: kind === "put" ? `${key}=c0.${nextId}` : null,
    writeId: kind === "get" ? null : `${key}=c0.${nextId}`,
    contextFrom: null,
    context: null,
    invokedAtMs,
    completedAtMs,
    outcome,
    dot: null,
    readSet: null,
    shown: null,
    shownTombstones: null,
    answerContext: null,
    replicas: null,
    error,
  };
}

describe("availability in fault-free windows", () => {
  const crash: FaultSpan = { fromMs: 1000, toMs: 2000, what: "crash n3" };

  it("passes requests that succeeded, and failures during or right after a fault", () => {
    const history = [op("put", 3000, 3010, "ok"), op("get", 1500, 2600, "failed", "quorum"), op("put", 2300, 2400, "unknown", "quorum"), op("put", 500, 1200, "unknown", "quorum")];
    expect(checkAvailability(record({ history, spans: [crash] }))).toEqual([]);
  });

  it("catches a request that failed with every node up and no fault for longer than the settle time", () => {
    const v = checkAvailability(record({ history: [op("put", 2600, 3600, "unknown", "quorum")], spans: [crash] }));
    expect(v).toHaveLength(1);
    expect(v[0]?.property).toBe("availability");
    expect(v[0]?.detail).toContain("put of k1 at n2");
    expect(v[0]?.detail).toContain("ended unknown (quorum) although no fault was active since +2100 ms (settle 500 ms)");
    expect(checkAvailability(record({ history: [op("get", 100, 150, "failed", "unavailable")] }))[0]?.property).toBe("availability");
  });

  it("does not judge a request to a node the operator had told to leave (it refuses new requests once it has left), only requests before the command", () => {
    const history = [op("put", 3000, 3010, "failed", "unavailable"), op("get", 2300, 2400, "failed", "unavailable")];
    const leave = { membership: { changes: [{ kind: "leave" as const, node: "n2", askedAtMs: 2500, acceptedAtMs: 2550 }], rings: [], departed: ["n2"] } };
    const v = checkAvailability({ ...record({ history }), ...leave });
    expect(v.map((x) => x.detail.slice(0, 20))).toEqual(["get of k1 at n2 (op "]);
    expect(checkAvailability(record({ history }))).toHaveLength(2);
  });

  it("catches a failed availability probe after the quiet period", () => {
    expect(checkAvailability(record({ probes: [op("put", 9000, 13000, "unknown", "client timeout", "probe-n1")], spans: [crash] }))[0]?.detail).toContain("put of probe-n1");
  });

  it("does not judge refusals the request earned, or keys whose stored copy was bit-flipped", () => {
    expect(checkAvailability(record({ history: [op("put", 3000, 3010, "failed", "too-many-siblings"), op("put", 3000, 3010, "failed", "bad-request")] }))).toEqual([]);
    const flipped = [{ atMs: 2900, node: "n1", key: "o:0003:k1" }];
    expect(checkAvailability(record({ history: [op("put", 3000, 3010, "failed", "storage-error")], corruptions: flipped }))).toEqual([]);
    expect(checkAvailability(record({ history: [op("put", 3000, 3010, "failed", "storage-error", "k11")], corruptions: flipped }))).toHaveLength(1);
  });
});

describe("on a real run", () => {
  it("records completed exchanges with the keys that differed, and judges requests in fault-free windows", async () => {
    const { mecdb } = await import("../../sim/mecdb.ts");
    const { runSimulation } = await import("../../sim/run.ts");
    const { drawWorld, worldSchedule } = await import("../../sim/swarm.ts");
    const { availabilityJudged } = await import("../../sim/checkers/index.ts");
    const world = drawWorld(6);
    const run = runSimulation(mecdb, world.spec, worldSchedule(world));
    expect(run.violations).toEqual([]);
    const withKeys = (run.record.exchanges ?? []).filter((e) => e.lossy === null && e.keys.length > 0);
    expect(withKeys.length).toBeGreaterThan(0);
    for (const e of withKeys) expect(e.endMs).toBeGreaterThanOrEqual(e.beginMs);
    // Every member's probe put and get after the quiet period, at least, are judged (and succeeded).
    const judged = availabilityJudged(run.record);
    expect(judged.filter((o) => o.key.startsWith("probe-") && o.outcome === "ok")).toHaveLength(2 * run.cluster.activeMembers().length); // a joiner probes too
  });
});
