// Membership on real processes: three nodes hold 300 keys while a writer keeps writing; a
// fourth node that knows only one member joins, transfers finish, and every acknowledged key
// reads back through the new node with r = 3; then an original node leaves with POST
// /cluster/leave (its process exits 0), transfers finish, and every acknowledged key is still
// there. Zero lost.
import { writeFileSync } from "node:fs";
import { afterEach, describe, expect, it } from "vitest";
import { MecClient, text, type ClusterInfo } from "../../src/client/index.ts";
import { CLUSTER_PORT_STEP, clusterNodeToml, clusterSpecs } from "../../src/dev-cluster/cluster.ts";
import { freePortBlock } from "../adapters/free-ports.ts";
import { TEST_TOML, TestNode, sleep, startTestCluster, type TestCluster } from "./harness.ts";

let cluster: TestCluster | null = null;

afterEach(async () => {
  await cluster?.stopAll();
  cluster = null;
});

/** Polls until every client's GET /cluster shows the same settled state (epoch >= min, no transfer left). */
async function settled(clients: readonly MecClient[], minEpoch: number, members: number, ms = 60_000): Promise<ClusterInfo> {
  const until = Date.now() + ms;
  let last: unknown = null;
  for (;;) {
    const views = await Promise.all(clients.map((c) => c.cluster().catch((e: Error) => e)));
    last = views;
    const ok = views.every((v): v is ClusterInfo => !(v instanceof Error) && v.ring.epoch >= minEpoch && v.transfers.pending === 0 && v.members.filter((m) => m.status === "valid").length === members);
    if (ok && new Set(views.map((v) => JSON.stringify([v.ring, v.members.map((m) => [m.id, m.status])]))).size === 1) return views[0] as ClusterInfo;
    if (Date.now() > until) throw new Error(`cluster did not settle: ${JSON.stringify(last).slice(0, 3000)}`);
    await sleep(100);
  }
}

/** Writes keys w-0, w-1, ... one at a time until stopped; returns the acknowledged ones. */
function startWriter(client: MecClient): { stop(): Promise<string[]> } {
  const acked: string[] = [];
  let running = true;
  const loop = (async () => {
    for (let i = 0; running; i++) {
      const key = `w-${i}`;
      try {
        await client.put(key, `value-${key}`);
        acked.push(key);
      } catch {
        // not acknowledged: not counted
      }
      await sleep(5);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return acked;
    },
  };
}

async function expectAll(client: MecClient, keys: readonly string[], r: number): Promise<void> {
  const lost: string[] = [];
  for (const key of keys) {
    const got = await client.get(key, { r });
    if (!got.siblings.map((s) => text(s.value)).includes(`value-${key}`)) lost.push(`${key} (${got.status})`);
  }
  expect(lost).toEqual([]);
}

describe("membership on real processes", () => {
  it("a node joins through one member and an original node leaves, with a writer running: zero acknowledged writes lost", async () => {
    const toml = { ...TEST_TOML, partitions: 16 };
    cluster = await startTestCluster(3, toml);
    const [n1, n2, n3] = cluster.nodes.map((n) => new MecClient(n.url)) as [MecClient, MecClient, MecClient];
    const initial = Array.from({ length: 300 }, (_, i) => `k-${i}`);
    for (const key of initial) await n2.put(key, `value-${key}`);
    const writer = startWriter(n2);

    // The fourth node knows only node-1, and says so (join = true).
    const base = await freePortBlock(CLUSTER_PORT_STEP + 1);
    const spec = { ...clusterSpecs({ nodes: 1, dir: cluster.dir, basePort: base, httpBasePort: base + CLUSTER_PORT_STEP })[0]!, name: "node-4" };
    const fourthSpec = { ...spec, configPath: `${cluster.dir}/node-4.toml`, root: `${cluster.dir}/node-4`, logPath: `${cluster.dir}/node-4.log` };
    writeFileSync(fourthSpec.configPath, clusterNodeToml(fourthSpec, [fourthSpec, cluster.nodes[0]!.spec], "127.0.0.1", { ...toml, join: true }));
    const fourthNode = new TestNode(fourthSpec);
    fourthNode.start();
    await fourthNode.waitReady();
    const n4 = new MecClient(fourthNode.url);
    const joined = await settled([n1, n2, n3, n4], 1, 4);
    expect(joined.members.map((m) => m.name).sort()).toContain("node-4");
    expect(joined.ring.owners).toContain(fourthNode.id);

    const duringJoin = await writer.stop();
    expect(duringJoin.length).toBeGreaterThan(0);
    const ackedDuringJoin = [...initial, ...duringJoin];
    await expectAll(n4, ackedDuringJoin, 3);

    // node-3 leaves while the writer runs again.
    const writer2 = startWriter(n2);
    await sleep(200);
    const answer = await n3.leave();
    expect(answer.members.find((m) => m.id === cluster!.node(2).id)?.status).toBe("leaving");
    const exit = await cluster.node(2).process!.waitExit(40_000);
    expect(exit.code).toBe(0);
    const left = await settled([n1, n2, n4], 2, 3);
    expect(left.ring.owners).not.toContain(cluster.node(2).id);
    const duringLeave = await writer2.stop();
    expect(duringLeave.length).toBeGreaterThan(0);
    const acked = [...ackedDuringJoin, ...duringLeave];
    // The second writer reused key names w-0...: its values are the same strings, so reading each is enough.
    await expectAll(n4, [...new Set(acked)], 3);
    const metrics = await Promise.all([cluster.node(0).url, cluster.node(1).url, fourthNode.url].map(async (u) => (await fetch(`${u}/metrics`)).text()));
    expect(metrics.some((m) => /mec_transfers_total\{[^}]*\} [1-9]/.test(m))).toBe(true);
  }, 180_000);
});
