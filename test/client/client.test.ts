// MecClient against a real Fastify server on an ephemeral loopback port, backed by the fake
// node handle (real dvvset versioning): get / put / delete, siblings parsed from multipart,
// resolve, and MecError for error answers. Also a raw socket, to send paths (/mec/..,
// %2F, %00) that fetch and curl would normalise.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { connect } from "node:net";
import type { FastifyInstance } from "fastify";
import { buildHttpServer } from "../../src/adapters/http/server.ts";
import { NodeStats } from "../../src/adapters/http/stats.ts";
import { MecClient, MecError, text } from "../../src/client/index.ts";
import { FakeHandle } from "../adapters/http/fake-handle.ts";

let handle: FakeHandle;
let app: FastifyInstance;
let baseUrl: string;
let port: number;
let db: MecClient;

beforeAll(async () => {
  handle = new FakeHandle({ n: 3, r: 2, w: 2, maxBodyBytes: 4096, maxKeyBytes: 64 });
  app = buildHttpServer(handle, new NodeStats({ nodeId: handle.nodeId, name: handle.name }));
  await app.listen({ host: "127.0.0.1", port: 0 });
  const addr = app.server.address();
  if (addr === null || typeof addr === "string") throw new Error("no port");
  port = addr.port;
  baseUrl = `http://127.0.0.1:${port}`;
  db = new MecClient(baseUrl, { timeoutMs: 5000 });
});
afterAll(async () => {
  await app.close();
});
beforeEach(() => {
  handle.store.clear();
  handle.ops.length = 0;
  handle.actor = "fake.1";
  handle.ready = true;
});

/** One raw HTTP/1.1 request; returns the status line's code and the body. */
function raw(requestLine: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sock = connect(port, "127.0.0.1");
    let data = "";
    sock.setEncoding("latin1");
    sock.on("data", (d) => (data += d));
    sock.on("error", reject);
    sock.on("end", () => {
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(data)?.[1] ?? 0);
      resolve({ status, body: data.slice(data.indexOf("\r\n\r\n") + 4) });
    });
    sock.write(`${requestLine}\r\nHost: 127.0.0.1\r\nConnection: close\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\nabc`);
  });
}

describe("MecClient", () => {
  it("a PUT that left siblings gives the caller no context, only the count; returnBody shows them with one (one coordinator)", async () => {
    const x = await db.put("one", "from-X");
    expect(x.status).toBe("ok");
    expect(x.siblings).toEqual([]);
    const y = await db.put("one", "from-Y");
    expect(y.status).toBe("siblings");
    expect(y.vclock).toBeNull();
    expect(y.siblingCount).toBe(2);
    // Y writes again with what its PUT returned (nothing): from-X is kept.
    await db.put("one", "from-Y-2", { vclock: y.vclock });
    expect((await db.get("one")).siblings.map((s) => text(s.value)).sort()).toEqual(["from-X", "from-Y", "from-Y-2"]);
    // X's own 200 vclock covers only from-X: reusing it keeps the others.
    const x2 = await db.put("one", "from-X-2", { vclock: x.vclock, returnBody: true });
    expect(x2.status).toBe("siblings");
    expect(x2.siblings.map((s) => text(s.value)).sort()).toEqual(["from-X-2", "from-Y", "from-Y-2"]);
    // returnBody showed every sibling: writing back with its context resolves exactly those.
    const z = await db.put("one", "merged", { vclock: x2.vclock });
    expect(z.status).toBe("ok");
    expect((await db.get("one")).siblings.map((s) => text(s.value))).toEqual(["merged"]);
  });

  it("a DELETE that leaves a value answers status siblings without a context", async () => {
    const a = await db.put("dk", "a");
    await db.put("dk", "b");
    const del = await db.delete("dk", { vclock: a.vclock });
    expect(del.status).toBe("siblings");
    expect(del.vclock).toBeNull();
    expect(del.siblingCount).toBe(1);
    expect((await db.get("dk")).siblings.map((s) => text(s.value))).toEqual(["b"]);
  });

  it("put then get round-trips text and bytes, with timestamps and a vclock", async () => {
    const w = await db.put("greeting", "hello");
    expect(w.vclock).toMatch(/^[A-Za-z0-9+/]+=*$/);
    const g = await db.get("greeting");
    expect(g.status).toBe("ok");
    expect(g.siblings).toHaveLength(1);
    const s = g.siblings[0]!;
    expect(text(s.value)).toBe("hello");
    expect(s.contentType).toBe("text/plain; charset=utf-8");
    expect(s.timestamp).toBe(handle.store.get("greeting")!.siblings[0]!.timestamp);
    expect(s.lastModified).toMatch(/GMT$/);
    expect(g.vclock).toBe(w.vclock);

    const bytes = new Uint8Array([0, 1, 2, 254, 255, 13, 10]);
    await db.put("bin", bytes, { contentType: "application/x-thing" });
    const b = await db.get("bin");
    expect([...b.siblings[0]!.value]).toEqual([...bytes]);
    expect(b.siblings[0]!.contentType).toBe("application/x-thing");
  });

  it("encodes keys as one segment: '/', spaces, unicode, '%' and '?' survive", async () => {
    for (const key of ["a/b", "with space", "ünï©ødé 🐙", "100%", "what?", "#hash"]) {
      await db.put(key, `v:${key}`);
      expect(handle.ops[handle.ops.length - 1]!.key).toBe(key);
      expect(text((await db.get(key)).siblings[0]!.value)).toBe(`v:${key}`);
    }
  });

  it("siblings come back parsed from multipart/mixed; resolve merges them and writes back with the context", async () => {
    handle.actor = "a.1";
    await db.put("cart", "apples");
    handle.actor = "b.1";
    await db.put("cart", "pears");
    const g = await db.get("cart");
    expect(g.status).toBe("siblings");
    expect(g.siblings.map((s) => text(s.value)).sort()).toEqual(["apples", "pears"]);
    expect(g.siblings.every((s) => s.timestamp > 0n && s.lastModified !== null)).toBe(true);

    let seen: string[] = [];
    const r = await db.resolve("cart", (siblings) => {
      seen = siblings.map((s) => text(s.value)).sort();
      return { value: seen.join("+"), contentType: "text/plain" };
    });
    expect(seen).toEqual(["apples", "pears"]);
    expect(r.status).toBe("resolved");
    const after = await db.get("cart");
    expect(after.status).toBe("ok");
    expect(text(after.siblings[0]!.value)).toBe("apples+pears");
    expect(after.siblings[0]!.contentType).toBe("text/plain");

    const again = await db.resolve("cart", () => {
      throw new Error("must not be called for a single value");
    });
    expect(again.status).toBe("single");
    expect((await db.resolve("nothing-here", () => ({ value: "" }))).status).toBe("not-found");
  });

  it("put with the read's vclock supersedes; delete gives not-found with the tombstone's vclock; a later write is not shadowed", async () => {
    await db.put("k", "one");
    const g = await db.get("k");
    await db.put("k", "two", { vclock: g.vclock });
    const g2 = await db.get("k");
    expect(g2.status).toBe("ok");
    expect(text(g2.siblings[0]!.value)).toBe("two");
    const d = await db.delete("k", { vclock: g2.vclock, w: 3 });
    expect(d.vclock).not.toBeNull();
    const gone = await db.get("k", { r: 1 });
    expect(gone.status).toBe("not-found");
    expect(gone.vclock).not.toBeNull();
    await db.put("k", "three", { vclock: gone.vclock });
    const back = await db.get("k");
    expect(back.status).toBe("ok");
    expect(text(back.siblings[0]!.value)).toBe("three");
    expect(handle.ops.filter((o) => o.type === "get").map((o) => o.type === "get" && o.r)).toContain(1);
  });

  it("a missing key is not-found without a vclock", async () => {
    const g = await db.get("never");
    expect(g).toEqual({ status: "not-found", siblings: [], vclock: null });
  });

  it("errors throw MecError with status, code and message", async () => {
    await expect(db.get("k", { r: 7 })).rejects.toMatchObject({ status: 400, code: "bad-param" });
    await expect(db.put("k", "x", { vclock: "not a clock" })).rejects.toMatchObject({ status: 400, code: "bad-vclock" });
    await expect(db.put("k", new Uint8Array(5000))).rejects.toMatchObject({ status: 413, code: "too-large" });
    await expect(db.get("x".repeat(65))).rejects.toMatchObject({ status: 400, code: "bad-key" });
    handle.failNext = { ok: false, type: "put", error: "quorum", message: "", answered: 1, needed: 2, maybeApplied: true };
    const err = await db.put("k", "x").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(MecError);
    expect(err).toMatchObject({ status: 503, code: "quorum", message: "HTTP 503 quorum: only 1 of 2 replicas answered (the write may still be applied)" });
    handle.ready = false;
    await expect(db.get("k")).rejects.toMatchObject({ status: 503, code: "starting" });
    await expect(db.get("")).rejects.toMatchObject({ status: 0, code: "bad-key" });
    const dead = new MecClient("http://127.0.0.1:1", { timeoutMs: 2000 });
    await expect(dead.ping()).rejects.toMatchObject({ status: 0, code: "unreachable" });
  });

  it("sends its clientId on writes", async () => {
    const named = new MecClient(baseUrl, { clientId: "mary" });
    await named.put("k", "v");
    await named.delete("k");
    expect(handle.ops.map((o) => (o.type === "get" ? null : o.clientId))).toEqual(["mary", "mary"]);
  });

  it("ping and stats", async () => {
    expect(await db.ping()).toBe(true);
    const s = await db.stats();
    expect((s.node as { name: string }).name).toBe("fake");
  });
});

describe("raw paths that clients normalise reach the key decoder", () => {
  it("/mec/.. is the key '..'; %2F is a '/' in the key; %00 and a literal second '/' are 400", async () => {
    const dots = await raw("PUT /mec/.. HTTP/1.1");
    expect(dots.status).toBe(200);
    expect(handle.ops[0]!.key).toBe("..");
    const slash = await raw("PUT /mec/a%2F..%2Fb HTTP/1.1");
    expect(slash.status).toBe(200);
    expect(handle.ops[1]!.key).toBe("a/../b");
    const nul = await raw("GET /mec/a%00 HTTP/1.1");
    expect(nul.status).toBe(400);
    expect(JSON.parse(nul.body).error).toBe("bad-key");
    const two = await raw("GET /mec/../etc/passwd HTTP/1.1");
    expect(two.status).toBe(400);
    const bad = await raw("GET /mec/%zz HTTP/1.1");
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body).error).toBe("bad-key");
    expect(handle.ops).toHaveLength(2);
  });
});
