// Forged X-Mec-Vclock headers against real node processes (bin/mec.js, LevelDB, ZeroMQ): a
// context that gives the node's own actor the largest counter, with and without ?w=1, and
// PUTs that name 180 invented actors each. Each is a 400 naming the limit; the node keeps
// running, the key stays readable and writable, and no dot is re-issued.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { VCLOCK_COUNTER_MAX, decodeVclock, encodeVclock } from "../../src/core/versioning/index.ts";
import { startTestCluster, type TestCluster } from "./harness.ts";

let cluster: TestCluster;

beforeAll(async () => {
  cluster = await startTestCluster(3);
}, 60_000);

afterAll(async () => {
  await cluster?.stopAll();
});

async function http(url: string, init: RequestInit = {}): Promise<{ status: number; body: string; vclock: string | null }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(8000) });
  return { status: res.status, body: await res.text(), vclock: res.headers.get("x-mec-vclock") };
}

const putVia = (base: string, key: string, value: string, vclock?: string, query = "") =>
  http(`${base}/mec/${key}${query}`, { method: "PUT", body: value, headers: { "content-type": "text/plain", ...(vclock === undefined ? {} : { "x-mec-vclock": vclock }) } });

describe("forged X-Mec-Vclock headers on a real cluster", () => {
  it("the node's own actor at 2^32-1: 400 naming the limit (also with ?w=1), the node keeps serving, no counter is reused", async () => {
    const node = cluster.node(0);
    const stats = JSON.parse((await http(`${node.url}/stats`)).body) as { node: { actor: string } };
    const actor = stats.node.actor;
    expect(actor).toMatch(/\./);
    for (const query of ["?w=1", ""]) {
      const key = `forged-own${query === "" ? "" : "-w1"}-${Date.now().toString(36)}`;
      expect((await putVia(node.url, key, "first", undefined, "?w=3")).status).toBe(200);
      const forged = encodeVclock(new Map([[actor, { counter: VCLOCK_COUNTER_MAX, timestamp: 1n }]]));
      const res = await putVia(node.url, key, "forged", forged, query);
      expect(res.status, res.body).toBe(400);
      expect(res.body).toContain(String(VCLOCK_COUNTER_MAX));
      expect(node.process?.exit).toBeNull(); // still running
      const g = await http(`${node.url}/mec/${key}?r=3`);
      expect(g.status).toBe(200);
      expect(g.body).toBe("first");
      // A blind write is a sibling with the next counter (2), never a reused 1.
      expect((await putVia(node.url, key, "second")).status).toBe(200);
      const after = await http(`${cluster.node(1).url}/mec/${key}?r=3`);
      expect(after.status).toBe(300);
      const clock = decodeVclock(after.vclock ?? "");
      expect(clock.ok && clock.clock.get(actor)?.counter).toBe(2);
    }
  }, 60_000);

  it("six PUTs naming 180 invented actors each: 400s, and the key stays readable and resolvable", async () => {
    const node = cluster.node(1);
    const key = `invented-${Date.now().toString(36)}`;
    expect((await putVia(node.url, key, "base")).status).toBe(200);
    for (let round = 0; round < 6; round++) {
      const ctx = new Map(Array.from({ length: 180 }, (_, i) => [`inv${round}-${i}`, { counter: 1 + i, timestamp: 5n }] as const));
      const res = await putVia(node.url, key, `v${round}`, encodeVclock(ctx));
      expect(res.status, res.body).toBe(400);
    }
    const g = await http(`${node.url}/mec/${key}`);
    expect(g.status).toBe(200);
    const w = await putVia(node.url, key, "resolved", g.vclock ?? undefined);
    expect(w.status, w.body).toBe(200);
    expect((await http(`${cluster.node(2).url}/mec/${key}?r=3`)).body).toBe("resolved");
  }, 60_000);
});
