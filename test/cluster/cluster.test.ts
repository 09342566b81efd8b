// A real 3-node cluster: three `mec --config` processes on loopback, ZeroMQ between them,
// LevelDB in temp dirs, the HTTP API in front. One cluster is shared by the tests of this
// file (each boot costs about a second); the test that kills nodes comes last.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { MecClient, MecError, text } from "../../src/client/index.ts";
import { decodeVclock } from "../../src/core/versioning/index.ts";
import { sleep, spawnMec, startTestCluster, type TestCluster } from "./harness.ts";

let cluster: TestCluster;
let db: MecClient[];

beforeAll(async () => {
  cluster = await startTestCluster(3);
  db = cluster.nodes.map((n) => new MecClient(n.url, { timeoutMs: 5000 }));
}, 60_000);

afterAll(async () => {
  await cluster?.stopAll();
});

const values = (siblings: readonly { value: Uint8Array }[]): string[] => siblings.map((s) => text(s.value)).sort();
let keySeq = 0;
const freshKey = (what: string): string => `${what}-${Date.now().toString(36)}-${keySeq++}`;

/** The node's GET /stats (its actor, and what anti-entropy did). */
interface Stats {
  node: { actor: string | null; incarnation: number | null };
  antiEntropy: { exchanges: number; keysRepaired: number };
  suspectedPeers: string[];
}
async function stats(url: string): Promise<Stats> {
  const res = await fetch(`${url}/stats`, { signal: AbortSignal.timeout(5000) });
  expect(res.status).toBe(200);
  return (await res.json()) as Stats;
}

async function raw(url: string, init: RequestInit = {}): Promise<{ status: number; body: string; headers: Headers }> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(5000) });
  return { status: res.status, body: await res.text(), headers: res.headers };
}

describe("a 3-node cluster of real processes", () => {
  it("PUT then GET round-trips, through another node, with its content type and headers", async () => {
    const key = freshKey("greeting");
    const put = await db[0]!.put(key, "hello", { contentType: "text/plain" });
    expect(put.vclock).toMatch(/^[A-Za-z0-9+/]+=*$/);
    for (const client of db) {
      const got = await client.get(key);
      expect(got.status).toBe("ok");
      expect(values(got.siblings)).toEqual(["hello"]);
      expect(got.siblings[0]!.contentType).toBe("text/plain");
      expect(got.siblings[0]!.timestamp).toBeGreaterThan(0n);
      expect(got.vclock).toBe(put.vclock);
    }
  });

  it("stores binary values byte for byte", async () => {
    const key = freshKey("binary");
    const bytes = new Uint8Array(1000).map((_, i) => (i * 7) & 0xff);
    await db[1]!.put(key, bytes, { contentType: "application/octet-stream" });
    const got = await db[2]!.get(key);
    expect(Array.from(got.siblings[0]!.value)).toEqual(Array.from(bytes));
  });

  it("two blind writes through two nodes give 300 with exactly both; writing back with the vclock resolves to one value", async () => {
    const key = freshKey("guest");
    await db[0]!.put(key, "Mary");
    await db[1]!.put(key, "Peter");
    const res = await raw(`${cluster.node(2).url}/mec/${key}`);
    expect(res.status).toBe(300);
    expect(res.headers.get("content-type")).toMatch(/^multipart\/mixed; boundary=/);
    const got = await db[2]!.get(key);
    expect(got.status).toBe("siblings");
    expect(values(got.siblings)).toEqual(["Mary", "Peter"]);

    await db[0]!.put(key, "Mary and Peter", { vclock: got.vclock });
    for (const client of db) {
      const after = await client.get(key, { r: 3 });
      expect(after.status).toBe("ok");
      expect(values(after.siblings)).toEqual(["Mary and Peter"]);
    }
  });

  it("Mary/Peter: v1 blind, read C1, v2 blind, v3 with C1 -> exactly {v2, v3}", async () => {
    const key = freshKey("marypeter");
    await db[0]!.put(key, "v1");
    const c1 = (await db[1]!.get(key)).vclock;
    expect(c1).not.toBeNull();
    await db[2]!.put(key, "v2");
    await db[1]!.put(key, "v3", { vclock: c1 });
    const got = await db[0]!.get(key, { r: 3 });
    expect(got.status).toBe("siblings");
    expect(values(got.siblings)).toEqual(["v2", "v3"]);
  });

  // All writes through node 1: one coordinator, one actor. A version vector entry
  // node-1.x:2 covers node-1.x:1, so a PUT answer must not hand back a clock that covers a
  // sibling it did not show.
  describe("all writes through one coordinator (node 1)", () => {
    it("the issue's sequence: X blind from-X, Y blind from-Y, GET 300, Y PUTs from-Y-2 with the vclock its PUT returned: from-X survives", async () => {
      const key = freshKey("one-coordinator");
      const url = `${cluster.node(0).url}/mec/${key}`;
      const x = await raw(url, { method: "PUT", body: "from-X", headers: { "content-type": "text/plain" } });
      expect(x.status).toBe(200);
      const y = await raw(url, { method: "PUT", body: "from-Y", headers: { "content-type": "text/plain" } });
      expect(y.status).toBe(200);
      // The old answer was {node-1.x: 2}: it covered from-X, which Y never saw. Now no clock.
      expect(y.headers.get("x-mec-vclock")).toBeNull();
      expect(y.headers.get("x-mec-siblings")).toBe("2");
      const got = await db[0]!.get(key, { r: 3 });
      expect(got.status).toBe("siblings");
      expect(values(got.siblings)).toEqual(["from-X", "from-Y"]);
      const yVclock = y.headers.get("x-mec-vclock");
      const y2 = await raw(url, { method: "PUT", body: "from-Y-2", headers: { "content-type": "text/plain", ...(yVclock === null ? {} : { "x-mec-vclock": yVclock }) } });
      expect(y2.status).toBe(200);
      for (const client of db) {
        const after = await client.get(key, { r: 3 });
        expect(values(after.siblings)).toContain("from-X");
      }
      // X reuses the vclock of its own 200 answer: it replaces from-X only.
      await db[0]!.put(key, "from-X-2", { vclock: x.headers.get("x-mec-vclock") });
      for (const client of db) {
        const after = await client.get(key, { r: 3 });
        expect(values(after.siblings)).toEqual(["from-X-2", "from-Y", "from-Y-2"]);
      }
    });

    it("Mary/Peter through node 1: v1 blind, read C1, v2 blind, v3 with C1 -> exactly {v2, v3}", async () => {
      const key = freshKey("marypeter1");
      await db[0]!.put(key, "v1");
      const c1 = (await db[0]!.get(key)).vclock;
      await db[0]!.put(key, "v2");
      await db[0]!.put(key, "v3", { vclock: c1 });
      const got = await db[0]!.get(key, { r: 3 });
      expect(got.status).toBe("siblings");
      expect(values(got.siblings)).toEqual(["v2", "v3"]);
    });
  });

  it("DELETE then GET is 404 with the tombstone's vclock, and a later write is not shadowed", async () => {
    const key = freshKey("deleted");
    await db[0]!.put(key, "doomed");
    const read = await db[1]!.get(key);
    await db[2]!.delete(key, { vclock: read.vclock });
    const gone = await db[0]!.get(key, { r: 3 });
    expect(gone.status).toBe("not-found");
    expect(gone.vclock).not.toBeNull();
    const res = await raw(`${cluster.node(1).url}/mec/${key}`);
    expect(res.status).toBe(404);
    expect(JSON.parse(res.body)).toMatchObject({ error: "not-found" });

    // A write with the tombstone's context supersedes it.
    await db[1]!.put(key, "reborn", { vclock: gone.vclock });
    const back = await db[2]!.get(key, { r: 3 });
    expect(back.status).toBe("ok");
    expect(values(back.siblings)).toEqual(["reborn"]);

    // A blind write after a delete is not shadowed either.
    const key2 = freshKey("deleted-blind");
    await db[0]!.put(key2, "first");
    await db[0]!.delete(key2, { vclock: (await db[0]!.get(key2)).vclock });
    await db[1]!.put(key2, "second");
    const got2 = await db[2]!.get(key2, { r: 3 });
    expect(got2.status).toBe("ok");
    expect(values(got2.siblings)).toEqual(["second"]);
  });

  it("accepts the sample X-Mec-Vclock header of the original README as a context", async () => {
    const sample = "gapjb3JtYWNyZWxmgqdDb3VudGVyAalUaW1lc3RhbXDPE0nH5/H4nFU=";
    const key = freshKey("original");
    const res = await raw(`${cluster.node(0).url}/mec/${key}`, {
      method: "PUT",
      headers: { "content-type": "application/json", "x-mec-vclock": sample },
      body: '"I am a machine"',
    });
    expect(res.status, res.body).toBe(200);
    const returned = decodeVclock(res.headers.get("x-mec-vclock") ?? "");
    expect(returned.ok).toBe(true);
    if (!returned.ok) return;
    // The context's actor survives with its counter and its uint64 nanosecond timestamp intact.
    const original = decodeVclock(sample);
    expect(original.ok).toBe(true);
    if (!original.ok) return;
    expect(returned.clock.get("cormacrelf")).toEqual(original.clock.get("cormacrelf"));
    const got = await db[1]!.get(key);
    expect(values(got.siblings)).toEqual(['"I am a machine"']);
    expect(got.siblings[0]!.contentType).toBe("application/json");
  });

  it("answers bad inputs with 4xx JSON errors and keeps serving", async () => {
    const url = cluster.node(0).url;
    const longKey = "k".repeat(600);
    const cases: { what: string; path: string; init?: RequestInit }[] = [
      { what: "empty key", path: "/mec/" },
      { what: "key too long", path: `/mec/${longKey}` },
      { what: "NUL in key", path: "/mec/a%00b" },
      { what: "bad percent-encoding", path: "/mec/%zz" },
      { what: "truncated escape", path: "/mec/abc%4" },
      { what: "escape that is not UTF-8", path: "/mec/%C3%28" },
      { what: "slash in key", path: "/mec/a/b" },
      { what: "malformed vclock (not base64)", path: "/mec/vc", init: { method: "PUT", headers: { "x-mec-vclock": "!!!not base64!!!" }, body: "x" } },
      { what: "malformed vclock (not msgpack)", path: "/mec/vc", init: { method: "PUT", headers: { "x-mec-vclock": "aGVsbG8gd29ybGQ=" }, body: "x" } },
      { what: "malformed vclock on delete", path: "/mec/vc", init: { method: "DELETE", headers: { "x-mec-vclock": "gapjb3JtYWNy" } } },
      { what: "r=0", path: "/mec/k?r=0" },
      { what: "r > n", path: "/mec/k?r=4" },
      { what: "r not a number", path: "/mec/k?r=abc" },
      { what: "w negative", path: "/mec/k?w=-1", init: { method: "PUT", body: "x" } },
      { what: "w fractional", path: "/mec/k?w=1.5", init: { method: "PUT", body: "x" } },
      { what: "oversized body", path: "/mec/big", init: { method: "PUT", headers: { "content-type": "application/octet-stream" }, body: new Uint8Array(70_000) } },
    ];
    for (const c of cases) {
      const res = await raw(url + c.path, c.init ?? {});
      expect(res.status, `${c.what}: ${res.status} ${res.body}`).toBeGreaterThanOrEqual(400);
      expect(res.status, `${c.what}: ${res.status} ${res.body}`).toBeLessThan(500);
      const body = JSON.parse(res.body) as { error?: unknown; message?: unknown };
      expect(typeof body.error, c.what).toBe("string");
      expect(typeof body.message, c.what).toBe("string");
    }
    expect((await raw(url + "/mec/big", { method: "PUT", body: new Uint8Array(70_000) })).status).toBe(413);
    expect((await raw(url + "/mec/a%00b")).status).toBe(400);
    // Still serving, and nothing crashed.
    expect(await db[0]!.ping()).toBe(true);
    const key = freshKey("after-bad-input");
    await db[0]!.put(key, "fine");
    expect(values((await db[0]!.get(key)).siblings)).toEqual(["fine"]);
    for (const n of cluster.nodes) expect(n.process?.exit, `${n.name}: ${n.process?.stderr}`).toBeNull();
  });

  it("serves /stats and /metrics", async () => {
    const stats = await db[0]!.stats();
    expect(stats).toMatchObject({ node: { name: "node-1", ready: true } });
    const metrics = await raw(`${cluster.node(0).url}/metrics`);
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain("mec_http_requests_total");
  });

  it("a second process on the same root fails fast with a clear message", async () => {
    const node = cluster.node(0);
    const t0 = Date.now();
    const second = spawnMec(["--config", node.spec.configPath]);
    const exit = await second.waitExit(20_000);
    expect(exit.code).toBe(1);
    expect(second.stderr).toContain(`root ${node.spec.root} is in use by another mec process (LOCK held)`);
    expect(Date.now() - t0).toBeLessThan(20_000);
    // The running node is unaffected.
    expect(await db[0]!.ping()).toBe(true);
  });

  it("SIGKILL one node: reads and W=2 writes still succeed; after restart the node has caught up", async () => {
    const victim = cluster.node(2);
    const before = freshKey("before-kill");
    await db[0]!.put(before, "old", { w: 3 });
    const incarnationBefore = (await stats(victim.url)).node.incarnation;
    expect(typeof incarnationBefore).toBe("number");

    const killed = await victim.kill("SIGKILL");
    expect(killed.signal).toBe("SIGKILL");
    // Let the others suspect it (suspect_after_ms = 500): a bounded poll of their /stats.
    const suspectUntil = Date.now() + 15_000;
    const bothSuspect = async (): Promise<boolean> =>
      (await Promise.all([cluster.node(0).url, cluster.node(1).url].map(async (u) => (await stats(u)).suspectedPeers.length > 0))).every(Boolean);
    while (!(await bothSuspect()) && Date.now() < suspectUntil) await sleep(50);
    expect(await bothSuspect()).toBe(true);

    // Reads and W=2 writes through the two survivors.
    const during = freshKey("during-outage");
    const repaired = freshKey("read-repaired");
    for (const client of [db[0]!, db[1]!]) expect(values((await client.get(before)).siblings)).toEqual(["old"]);
    const c = (await db[0]!.get(before)).vclock;
    await db[0]!.put(before, "new", { w: 2, vclock: c });
    await db[1]!.put(during, "written while node-3 was down", { w: 2 });
    await db[0]!.put(repaired, "repair me", { w: 2 });
    expect(values((await db[1]!.get(before)).siblings)).toEqual(["new"]);
    // W=3 cannot be met: 503 saying how many answered.
    const w3 = await db[0]!.put(freshKey("w3"), "x", { w: 3 }).catch((e: unknown) => e);
    expect(w3).toBeInstanceOf(MecError);
    expect((w3 as MecError).status).toBe(503);

    // Restart (same root): it boots with its old data and catches up.
    victim.start();
    await victim.waitReady();
    // Its old data: every start is a new incarnation, the previous one plus one, read from its
    // meta record (a wiped disk would draw a random one)...
    expect((await stats(victim.url)).node.incarnation).toBe(((incarnationBefore ?? 0) + 1) >>> 0);
    // ...and, before any repair, an r=1 read through it finds the key written before the kill
    // (its own local copy answers first; a peer's faster reply would say "new", never 404).
    const early = await db[2]!.get(before, { r: 1 });
    expect(early.status).toBe("ok");
    expect(values(early.siblings)).toEqual(expect.arrayContaining([expect.stringMatching(/^(old|new)$/)]));
    const exchangesAtRestart = (await stats(victim.url)).antiEntropy.exchanges;
    // Read repair: a read with r=3 needs the restarted node's reply and repairs it.
    const until = Date.now() + 10_000;
    for (const key of [repaired, before]) {
      for (;;) {
        const ok = await db[0]!.get(key, { r: 3 }).then(
          (g) => g.status === "ok",
          () => false,
        );
        if (ok || Date.now() > until) break;
        await sleep(200);
      }
    }
    // Anti-entropy (a partition every 100 ms here, 8 partitions) repairs what nobody read. The
    // restarted node walks its 8 x 2 (partition, peer) pairs once per cycle; wait (bounded) until
    // it has taken part in three cycles' worth of exchanges, whatever the machine's speed.
    const aeUntil = Date.now() + 30_000;
    while ((await stats(victim.url)).antiEntropy.exchanges - exchangesAtRestart < 3 * 16 && Date.now() < aeUntil) await sleep(100);

    // Now look at the restarted node's own data: stop the others and read from it with r=1.
    await cluster.node(0).kill("SIGTERM");
    await cluster.node(1).kill("SIGTERM");
    const alone = new MecClient(victim.url, { timeoutMs: 5000 });
    expect(values((await alone.get(repaired, { r: 1 })).siblings)).toEqual(["repair me"]);
    expect(values((await alone.get(before, { r: 1 })).siblings)).toEqual(["new"]);
    expect(values((await alone.get(during, { r: 1 })).siblings)).toEqual(["written while node-3 was down"]);
    // With the others gone, r=2 cannot be met.
    const r2 = await alone.get(before, { r: 2 }).catch((e: unknown) => e);
    expect((r2 as MecError).status).toBe(503);
  });

  it("nodes stop cleanly on SIGTERM (exit code 0)", async () => {
    const exits = await Promise.all(cluster.nodes.map((n) => n.kill("SIGTERM")));
    for (const e of exits) expect(e.code === 0 || e.signal === "SIGKILL" || e.code === null).toBe(true);
    expect(cluster.node(0).process?.exit).toEqual({ code: 0, signal: null });
    expect(cluster.node(2).process?.exit).toEqual({ code: 0, signal: null });
  });
});
