// Forged X-Mec-Vclock contexts against the HTTP API of a real node: the Fastify server in
// process, in front of a NodeHost running the real node on real LevelDB (a single-node
// cluster, so the node mints every write itself). Counters near every limit, the node's own
// actor with a forged counter, many invented actors: no context may make the node throw,
// answer 500, store a record it cannot read, re-issue a dot, or leave a key that cannot be
// read and resolved.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import fc from "fast-check";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildHttpServer } from "../../../src/adapters/http/server.ts";
import { NodeStats } from "../../../src/adapters/http/stats.ts";
import { LevelStorage } from "../../../src/adapters/level-storage.ts";
import { SystemClock } from "../../../src/adapters/system-clock.ts";
import { createNode } from "../../../src/core/node.ts";
import type { NodeConfig } from "../../../src/core/types.ts";
import { KEY_ACTORS_MAX } from "../../../src/core/replica/write-guard.ts";
import { VCLOCK_COUNTER_MAX, VCLOCK_HEADER_MAX_BYTES, decodeVclock, encodeVclock, type VClock } from "../../../src/core/versioning/index.ts";
import { NodeHost } from "../../../src/host/host.ts";

const ID = "127.0.0.1:7000";
let dir: string;
let storage: LevelStorage;
let host: NodeHost;
let app: FastifyInstance;
let actor = "";
const errors: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "mec-forged-"));
  storage = await LevelStorage.open(dir, { sync: false });
  const config: NodeConfig = {
    id: ID, name: "forge", members: [ID], n: 1, r: 1, w: 1, partitionCount: 8, mode: "dvv", seed: 7,
    requestTimeoutMs: 2000, heartbeatIntervalMs: 1000, suspectAfterMs: 5000, handoffIntervalMs: 1000,
    antiEntropyIntervalMs: 0, reapDelayMs: null, syncWrites: false, bugs: [],
  };
  let ready: () => void = () => {};
  const booted = new Promise<void>((r) => (ready = r));
  host = new NodeHost(
    createNode(config),
    { clock: new SystemClock(), transport: { send: () => {}, onMessage: () => {} }, storage, log: { log: (level, msg) => void (level === "error" && errors.push(msg)) } },
    { onEvent: (e) => void (e.type === "ready" && ((actor = e.actor), ready())) },
  );
  host.start();
  await booted;
  const handle = {
    request: (op: Parameters<NodeHost["requestAsync"]>[0]) => host.requestAsync(op),
    nodeId: ID, name: "forge", isReady: () => !host.isStopped,
    health: () => ({ status: "ok" as const, actor }),
    limits: { n: 1, r: 1, w: 1, maxBodyBytes: 65536, maxKeyBytes: 512 },
  };
  app = buildHttpServer(handle, new NodeStats({ nodeId: ID, name: "forge" }));
});

afterAll(async () => {
  await app?.close();
  host?.stop();
  await storage?.close();
  rmSync(dir, { recursive: true, force: true });
});

const put = (key: string, value: string, vclock?: string, query = ""): Promise<LightMyRequestResponse> =>
  app.inject({ method: "PUT", url: `/mec/${key}${query}`, payload: value, headers: { "content-type": "text/plain", ...(vclock === undefined ? {} : { "x-mec-vclock": vclock }) } });
const get = (key: string): Promise<LightMyRequestResponse> => app.inject({ method: "GET", url: `/mec/${key}` });

function clockOf(res: LightMyRequestResponse): VClock {
  const h = res.headers["x-mec-vclock"];
  expect(typeof h).toBe("string");
  const d = decodeVclock(h as string);
  if (!d.ok) throw new Error(d.error.message);
  return d.clock;
}

/** A key must answer GET with 200/300/404, a header within the limit, and accept its own clock back. */
async function assertResolvable(key: string): Promise<void> {
  const g = await get(key);
  expect([200, 300, 404]).toContain(g.statusCode);
  if (g.statusCode === 404 && g.headers["x-mec-vclock"] === undefined) return;
  const header = g.headers["x-mec-vclock"] as string;
  expect(header.length).toBeLessThanOrEqual(VCLOCK_HEADER_MAX_BYTES);
  const w = await put(key, "resolved", header);
  expect(w.statusCode, w.body).toBe(200);
  const after = await get(key);
  expect(after.statusCode).toBe(200);
  expect(after.body).toBe("resolved");
}

const nearLimits = fc.constantFrom(1, 2, VCLOCK_COUNTER_MAX - 2, VCLOCK_COUNTER_MAX - 1, VCLOCK_COUNTER_MAX, 2 ** 31, 2 ** 16);
const counter = fc.oneof(nearLimits, fc.integer({ min: 1, max: VCLOCK_COUNTER_MAX }));
const timestamp = fc.oneof(fc.constantFrom(0n, 2n ** 64n - 1n, 2n ** 63n), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }));
const inventedActor = fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 12 }).map((s) => `x-${s}`);

/** A forged context: maybe the node's own actor with a forged counter, plus invented actors. */
const forged = fc.record({
  own: fc.option(counter, { nil: undefined }),
  invented: fc.oneof(
    fc.array(fc.tuple(inventedActor, counter), { maxLength: 8 }),
    fc.integer({ min: KEY_ACTORS_MAX - 5, max: 180 }).map((n) => Array.from({ length: n }, (_, i) => [`forged-${i}`, 1 + i] as [string, number])),
  ),
  ts: timestamp,
  w1: fc.boolean(),
});

let keySeq = 0;

describe("forged X-Mec-Vclock contexts against a real node", () => {
  it("a context that would push the node's own counter past 2^32-1 is a 400 naming the limit; the key stays writable and nothing is re-minted", async () => {
    for (const query of ["", "?w=1"]) {
      const key = `own-max-${keySeq++}`;
      expect((await put(key, "first")).statusCode).toBe(200);
      const forgedHeader = encodeVclock(new Map([[actor, { counter: VCLOCK_COUNTER_MAX, timestamp: 1n }]]));
      const res = await put(key, "forged", forgedHeader, query);
      expect(res.statusCode, res.body).toBe(400);
      expect(res.body).toContain(String(VCLOCK_COUNTER_MAX));
      expect(res.body).toContain("forged");
      // The key still reads, and the next blind write gets counter 2, not a reused counter 1.
      const g = await get(key);
      expect(g.statusCode).toBe(200);
      expect(g.body).toBe("first");
      expect((await put(key, "second")).statusCode).toBe(200);
      const after = await get(key);
      expect(after.statusCode).toBe(300);
      expect(clockOf(after).get(actor)?.counter).toBe(2);
    }
    expect(errors).toEqual([]);
  });

  it("six PUTs naming 180 invented actors each leave the key readable and resolvable", async () => {
    const key = `invented-${keySeq++}`;
    for (let round = 0; round < 6; round++) {
      const ctx = new Map(Array.from({ length: 180 }, (_, i) => [`inv${round}-${i}`, { counter: 1 + i, timestamp: 5n }] as const));
      const res = await put(key, `v${round}`, encodeVclock(ctx));
      expect(res.statusCode, res.body).toBe(400);
      expect(JSON.parse(res.body)).toMatchObject({ error: "bad-vclock" }); // longer than the header limit
      expect(res.body).toContain(String(VCLOCK_HEADER_MAX_BYTES));
    }
    // Within the header limit but more actors than a key's clock may hold.
    const many = new Map(Array.from({ length: KEY_ACTORS_MAX + 1 }, (_, i) => [`m${i}`, { counter: 1, timestamp: 5n }] as const));
    const tooMany = await put(key, "many", encodeVclock(many));
    expect(tooMany.statusCode, tooMany.body).toBe(400);
    expect(tooMany.body).toContain(String(KEY_ACTORS_MAX));
    // Just under the per-request limit: the key's clock still cannot grow past the limit.
    for (let round = 0; round < 6; round++) {
      const ctx = new Map(Array.from({ length: KEY_ACTORS_MAX - 10 }, (_, i) => [`few${round}-${i}`, { counter: 1, timestamp: 5n }] as const));
      const res = await put(key, `w${round}`, encodeVclock(ctx));
      expect([200, 300, 400]).toContain(res.statusCode);
    }
    const g = await get(key);
    expect(clockOf(g).size).toBeLessThanOrEqual(KEY_ACTORS_MAX + 1);
    await assertResolvable(key);
    expect(errors).toEqual([]);
  });

  it("property: any forged context gets 200/300 or a 400, never 500; the node's dots stay unique and the key resolvable", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(forged, { minLength: 1, maxLength: 6 }), async (writes) => {
        const key = `prop-${keySeq++}`;
        const ownCounters: number[] = [];
        for (const [i, f] of writes.entries()) {
          const ctx: [string, { counter: number; timestamp: bigint }][] = f.invented.map(([a, c]) => [a, { counter: c, timestamp: f.ts }]);
          if (f.own !== undefined) ctx.push([actor, { counter: f.own, timestamp: f.ts }]);
          const header = ctx.length === 0 ? undefined : encodeVclock(new Map(ctx));
          const res = await put(key, `v${i}`, header, f.w1 ? "?w=1" : "");
          expect([200, 400], res.body).toContain(res.statusCode);
          if (res.statusCode === 400) expect(JSON.parse(res.body)).toMatchObject({ error: expect.stringMatching(/^bad-/) });
          const g = await get(key);
          expect([200, 300, 404], g.body).toContain(g.statusCode);
          if (g.statusCode !== 404) {
            const c = clockOf(g).get(actor)?.counter;
            if (c !== undefined) ownCounters.push(c);
          }
        }
        // The node's counter for the key never goes back (a re-mint would restart it).
        for (let i = 1; i < ownCounters.length; i++) expect(ownCounters[i]!).toBeGreaterThanOrEqual(ownCounters[i - 1]!);
        await assertResolvable(key);
      }),
      { numRuns: 60, seed: 20261201 },
    );
    expect(errors).toEqual([]);
  }, 120_000);
});
