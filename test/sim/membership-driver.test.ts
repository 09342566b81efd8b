// The membership driver's acknowledgement: a change counts as acknowledged only when a member
// other than the node that took it (and other than the node being joined) reports a ring that
// carries it, as an operator checks through another member.
import { describe, expect, it } from "vitest";
import { MembershipDriver } from "../../sim/membership.ts";
import type { SimCluster } from "../../sim/cluster.ts";
import type { NodeEvent, NodeId } from "../../src/core/types.ts";

type RingChanged = Extract<NodeEvent, { type: "ring-changed" }>;

/** Just what the driver touches of a SimCluster: a clock, timers that never fire, members and one spare. */
function fakeCluster(): { cluster: SimCluster; admins: { to: NodeId; op: unknown }[]; report: (node: NodeId, members: RingChanged["members"]) => void } {
  const admins: { to: NodeId; op: unknown }[] = [];
  const joining = new Map<NodeId, NodeId>();
  const fake = {
    sched: { now: 100, at: () => {}, after: () => {} },
    members: ["n1", "n2", "n3"],
    processes: new Map([["n1", {}], ["n2", {}], ["n3", {}], ["n4", {}]]),
    joining,
    departed: new Set<NodeId>(),
    onRingChanged: null as ((node: NodeId, ev: RingChanged) => void) | null,
    bootJoiner: (id: NodeId, via: NodeId) => joining.set(id, via),
    process: (to: NodeId) => ({ admin: (op: unknown) => admins.push({ to, op }) }),
    noteFault: () => {},
    depart: () => {},
  };
  const report = (node: NodeId, members: RingChanged["members"]): void => fake.onRingChanged?.(node, { type: "ring-changed", epoch: 1, owners: [], members, pending: [] });
  return { cluster: fake as unknown as SimCluster, admins, report };
}

const ALL_VALID = ["n1", "n2", "n3", "n4"].map((id) => ({ id, status: "valid" as const }));

describe("membership driver acknowledgements", () => {
  it("a join is not acknowledged by the joiner's and the acceptor's reports, only by another member's", () => {
    const { cluster, report } = fakeCluster();
    const driver = new MembershipDriver(cluster, 1e9);
    driver.start({ kind: "join", atMs: 0, node: 0, via: 0 }); // n4 joins through n1
    expect(driver.changes).toEqual([{ kind: "join", node: "n4", askedAtMs: 100, acceptedAtMs: null }]);
    report("n4", ALL_VALID);
    expect(driver.changes[0]!.carriedAtMs).toBeUndefined(); // the joiner's own report is no evidence
    (cluster.sched as { now: number }).now = 150;
    report("n1", ALL_VALID);
    expect(driver.changes[0]!.acceptedAtMs).toBeNull();
    expect(driver.changes[0]!.carriedAtMs).toBe(150); // the acceptor routes by it from here on
    (cluster.sched as { now: number }).now = 200;
    report("n3", ALL_VALID);
    expect(driver.changes[0]!.acceptedAtMs).toBe(200);
    expect(driver.changes[0]!.carriedAtMs).toBe(150);
  });

  it("a leave is not acknowledged by the leaver's own report", () => {
    const { cluster, admins, report } = fakeCluster();
    const driver = new MembershipDriver(cluster, 1e9);
    driver.start({ kind: "leave", atMs: 0, node: 1, via: 0 }); // n2 leaves
    expect(admins).toEqual([{ to: "n2", op: { type: "leave" } }]);
    const leaving = ALL_VALID.slice(0, 3).map((m) => (m.id === "n2" ? { id: m.id, status: "leaving" as const } : m));
    report("n2", leaving);
    expect(driver.changes[0]!.acceptedAtMs).toBeNull();
    report("n1", leaving);
    expect(driver.changes[0]!.acceptedAtMs).toBe(100);
  });
});
