// Clock skew on real processes: a 3-node cluster (n = 2, so writes are forwarded to the
// minting primary) whose node-2 runs 5 s ahead under libfaketime (Date.now() shifted;
// monotonic time and timers untouched). More than the request timeout apart, the nodes must
// still answer every write forwarded to node-2 and every write node-2 forwards.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existsSync } from "node:fs";
import { createRing, partitionOf, preferenceList } from "../../src/core/ring/index.ts";
import { TEST_TOML, startTestCluster, type TestCluster } from "./harness.ts";

const LIBFAKETIME = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
const SKEW_MS = 5000;
const PARTITIONS = 8;
const haveFaketime = existsSync(LIBFAKETIME);

let cluster: TestCluster;

beforeAll(async () => {
  if (!haveFaketime) return;
  // request_timeout_ms 4000 (TEST_TOML) < the 5 s skew.
  const toml = { ...TEST_TOML, partitions: PARTITIONS, n: 2, r: 2, w: 2 };
  cluster = await startTestCluster(3, toml, {
    env: (i) => (i === 1 ? { LD_PRELOAD: LIBFAKETIME, FAKETIME: `+${SKEW_MS / 1000}s`, FAKETIME_DONT_FAKE_MONOTONIC: "1", FAKETIME_NO_CACHE: "1" } : {}),
  });
}, 60_000);

afterAll(async () => {
  await cluster?.stopAll();
});

/** Keys whose minting replica, for a write through `via`, is `mint` (via is not a primary: the write is forwarded). */
function forwardedKeys(prefix: string, via: number, mint: number, count: number): string[] {
  const ids = cluster.nodes.map((n) => n.id);
  const ring = createRing([...ids].sort(), PARTITIONS);
  const out: string[] = [];
  for (let i = 0; out.length < count && i < 100_000; i++) {
    const key = `${prefix}-${via}-${mint}-${i}`;
    const primaries = preferenceList(ring, partitionOf(key, PARTITIONS), 2).primaries;
    if (!primaries.includes(ids[via]!) && primaries[0] === ids[mint]) out.push(key);
  }
  expect(out).toHaveLength(count);
  return out;
}

async function put(url: string, key: string, value: string): Promise<{ status: number; timestampNs: bigint | null }> {
  const res = await fetch(`${url}/mec/${key}?returnbody=true`, { method: "PUT", headers: { "content-type": "text/plain" }, body: value, signal: AbortSignal.timeout(15_000) });
  await res.arrayBuffer();
  const ts = res.headers.get("x-mec-timestamp");
  return { status: res.status, timestampNs: ts === null ? null : BigInt(ts) };
}

describe.skipIf(!haveFaketime)("clock skew on real processes (libfaketime)", () => {
  it("node-2 really runs 5 s ahead: the timestamps it mints say so", async () => {
    const [key] = forwardedKeys("when", 0, 1, 1);
    const before = BigInt(Date.now()) * 1_000_000n;
    const r = await put(cluster.node(0).url, key!, "when");
    expect(r.status).toBe(200);
    const aheadMs = Number((r.timestampNs! - before) / 1_000_000n);
    expect(aheadMs).toBeGreaterThan(SKEW_MS - 1000);
    expect(aheadMs).toBeLessThan(SKEW_MS + 5000);
  });

  it("every write forwarded to the node ahead, and from it, succeeds and reads back", async () => {
    const cases = [
      { via: 0, mint: 1 }, // node-1 (on time) forwards to node-2 (5 s ahead)
      { via: 2, mint: 1 }, // node-3 (on time) forwards to node-2
      { via: 1, mint: 0 }, // node-2 forwards to node-1
      { via: 1, mint: 2 }, // node-2 forwards to node-3
    ];
    const failures: string[] = [];
    for (const { via, mint } of cases) {
      for (const key of forwardedKeys("skew", via, mint, 10)) {
        const r = await put(cluster.node(via).url, key, `v-${key}`);
        if (r.status !== 200) failures.push(`${key} via node-${via + 1} minted on node-${mint + 1}: ${r.status}`);
        const got = await fetch(`${cluster.node((via + 1) % 3).url}/mec/${key}`, { signal: AbortSignal.timeout(15_000) });
        const body = await got.text();
        if (got.status !== 200 || body !== `v-${key}`) failures.push(`${key}: read ${got.status} ${body.slice(0, 40)}`);
      }
    }
    expect(failures).toEqual([]);
  }, 120_000);
});
