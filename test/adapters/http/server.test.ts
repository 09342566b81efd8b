// The HTTP API (src/adapters/http/server.ts) through fastify.inject against a fake node
// handle that versions with the real dvvset functions: every status code path, headers,
// multipart parse-back, bad inputs, the README's sample headers, /stats and /metrics.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { FastifyInstance, LightMyRequestResponse } from "fastify";
import { buildHttpServer, decodeKey, httpDate } from "../../../src/adapters/http/server.ts";
import type { Counter } from "prom-client";
import { NodeStats } from "../../../src/adapters/http/stats.ts";
import { decodeVclock, type VClock } from "../../../src/core/versioning/index.ts";
import { boundaryOf, parseMultipart } from "../../../src/http-api/multipart.ts";
import { FakeHandle } from "./fake-handle.ts";

// From the original README: a single-actor clock and the 3-actor clock of its 300 sample.
const README_SINGLE = "gapjb3JtYWNyZWxmgqdDb3VudGVyAalUaW1lc3RhbXDPE0nH5/H4nFU=";
const README_THREE =
  "g6FDgqdDb3VudGVyAalUaW1lc3RhbXDPE0pH93pICm+hQYKnQ291bnRlcgGpVGltZXN0YW1wzxNKR+q4T3ofoUKCp0NvdW50ZXIBqVRpbWVzdGFtcM8TSkf15mgjww==";

let handle: FakeHandle;
let stats: NodeStats;
let app: FastifyInstance;

beforeEach(() => {
  handle = new FakeHandle();
  stats = new NodeStats({ nodeId: handle.nodeId, name: handle.name, clock: () => 1_000 });
  app = buildHttpServer(handle, stats);
});
afterEach(async () => {
  await app.close();
});

function put(key: string, body: string | Buffer, headers: Record<string, string> = {}, query = ""): Promise<LightMyRequestResponse> {
  return app.inject({ method: "PUT", url: `/mec/${key}${query}`, payload: body, headers: { "content-type": "text/plain", ...headers } });
}
function get(key: string, query = ""): Promise<LightMyRequestResponse> {
  return app.inject({ method: "GET", url: `/mec/${key}${query}` });
}
// The header is checked against this file's own reading of its format (base64 of a msgpack map
// actor -> {"Counter": uint, "Timestamp": uint64}), never through the server's codec: a codec
// bug that both encodes and decodes wrongly must still show here.
function clockOf(header: unknown): VClock {
  expect(typeof header).toBe("string");
  const b = Buffer.from(header as string, "base64");
  let i = 0;
  const uint = (): number | bigint => {
    const t = b[i++]!;
    if (t <= 0x7f) return t;
    if (t === 0xcc) return b[i++]!;
    if (t === 0xcd) return (i += 2), b.readUInt16BE(i - 2);
    if (t === 0xce) return (i += 4), b.readUInt32BE(i - 4);
    if (t === 0xcf) return (i += 8), b.readBigUInt64BE(i - 8);
    throw new Error(`not a uint: 0x${t.toString(16)} at ${i - 1}`);
  };
  const str = (): string => {
    const t = b[i++]!;
    const n = t >= 0xa0 && t <= 0xbf ? t - 0xa0 : t === 0xd9 ? b[i++]! : -1;
    if (n < 0) throw new Error(`not a str: 0x${t.toString(16)}`);
    return (i += n), b.toString("utf8", i - n, i);
  };
  const mapLen = (): number => {
    const t = b[i++]!;
    if (t >= 0x80 && t <= 0x8f) return t - 0x80;
    if (t === 0xde) return (i += 2), b.readUInt16BE(i - 2);
    throw new Error(`not a map: 0x${t.toString(16)}`);
  };
  const clock = new Map<string, { counter: number; timestamp: bigint }>();
  for (let n = mapLen(); n > 0; n--) {
    const actor = str();
    expect(mapLen()).toBe(2);
    expect(str()).toBe("Counter");
    const counter = Number(uint());
    expect(str()).toBe("Timestamp");
    expect(b[i]).toBe(0xcf); // the timestamp is always a uint64
    clock.set(actor, { counter, timestamp: BigInt(uint()) });
  }
  expect(i).toBe(b.length);
  return clock;
}
/** Counters only, for comparing a header with the clock it should carry. */
const counters = (c: VClock): Record<string, number> => Object.fromEntries([...c].map(([a, e]) => [a, e.counter]));
/** A header this file writes itself (a context a client sends): one actor, small counter. */
function header1(actor: string, counter: number, timestamp: bigint): string {
  const ts = Buffer.alloc(8);
  ts.writeBigUInt64BE(timestamp);
  const a = Buffer.from(actor);
  return Buffer.concat([Buffer.from([0x81, 0xa0 + a.length]), a, Buffer.from([0x82, 0xa7]), Buffer.from("Counter"), Buffer.from([counter, 0xa9]), Buffer.from("Timestamp"), Buffer.from([0xcf]), ts]).toString("base64");
}
function parts(res: LightMyRequestResponse) {
  const boundary = boundaryOf(String(res.headers["content-type"]));
  expect(boundary).not.toBeNull();
  return parseMultipart(new Uint8Array(res.rawPayload), boundary!);
}
function errorBody(res: LightMyRequestResponse): { error: string; message: string } {
  expect(res.headers["content-type"]).toMatch(/^application\/json/);
  const body = JSON.parse(res.body) as { error: string; message: string };
  expect(typeof body.error).toBe("string");
  expect(typeof body.message).toBe("string");
  return body;
}

describe("GET and PUT /mec/:key", () => {
  it("stores text byte-exact and returns it with Content-Type, Last-Modified, X-Mec-Timestamp and X-Mec-Vclock", async () => {
    const w = await put("greeting", "héllo, world\n", { "content-type": "text/plain; charset=utf-8" });
    expect(w.statusCode).toBe(200);
    expect(w.headers["content-length"]).toBe("0");
    expect(w.body).toBe("");
    const writeClock = clockOf(w.headers["x-mec-vclock"]);
    expect([...writeClock.keys()]).toEqual(["fake.1"]);

    const r = await get("greeting");
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe("héllo, world\n");
    expect(r.headers["content-type"]).toBe("text/plain; charset=utf-8");
    const stored = handle.store.get("greeting")!;
    const sib = stored.siblings[0]!;
    expect(r.headers["x-mec-timestamp"]).toBe(sib.timestamp.toString());
    expect(r.headers["last-modified"]).toBe(httpDate(sib.timestamp));
    expect(r.headers["last-modified"]).toMatch(/^[A-Z][a-z]{2}, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT$/);
    // Written out by hand: {"fake.1": {"Counter": 1, "Timestamp": 1390002509437355039}}.
    expect(r.headers["x-mec-vclock"]).toBe("gaZmYWtlLjGCp0NvdW50ZXIBqVRpbWVzdGFtcM8TSkfq8+pEHw==");
    expect(clockOf(r.headers["x-mec-vclock"])).toEqual(stored.clock);
    expect(r.headers["x-mec-vclock"]).toBe(w.headers["x-mec-vclock"]);
  });

  it("stores any content type as raw bytes: binary, JSON (never reparsed), none at all", async () => {
    const binary = Buffer.from([0, 255, 13, 10, 45, 45, 0x80, 0xfe]);
    expect((await put("bin", binary, { "content-type": "image/png" })).statusCode).toBe(200);
    const rb = await get("bin");
    expect(rb.statusCode).toBe(200);
    expect(Buffer.compare(rb.rawPayload, binary)).toBe(0);
    expect(rb.headers["content-type"]).toBe("image/png");

    const json = '{"a": 1,   "b":[1,2]}';
    expect((await put("j", json, { "content-type": "application/json" })).statusCode).toBe(200);
    expect((await get("j")).body).toBe(json);
    expect((await put("bad-json", "{not json", { "content-type": "application/json" })).statusCode).toBe(200);
    expect((await get("bad-json")).body).toBe("{not json");

    const none = await app.inject({ method: "PUT", url: "/mec/none", payload: Buffer.from("xyz") });
    expect(none.statusCode).toBe(200);
    const rn = await get("none");
    expect(rn.body).toBe("xyz");
    expect(rn.headers["content-type"]).toBe("application/octet-stream");

    const empty = await app.inject({ method: "PUT", url: "/mec/empty", headers: { "content-type": "text/plain" } });
    expect(empty.statusCode).toBe(200);
    const re = await get("empty");
    expect(re.statusCode).toBe(200);
    expect(re.body).toBe("");
  });

  it("HEAD answers GET's status and headers without a body", async () => {
    await put("h", "hello");
    const r = await app.inject({ method: "HEAD", url: "/mec/h" });
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe("");
    expect(r.headers["content-length"]).toBe("5");
    expect(clockOf(r.headers["x-mec-vclock"])).toEqual(handle.store.get("h")!.clock);
    expect((await app.inject({ method: "HEAD", url: "/mec/nothing" })).statusCode).toBe(404);
  });

  it("POST is a write like PUT", async () => {
    const w = await app.inject({ method: "POST", url: "/mec/p", payload: "posted", headers: { "content-type": "text/plain" } });
    expect(w.statusCode).toBe(200);
    expect((await get("p")).body).toBe("posted");
  });

  it("passes ?r= and ?w= to the node, and the client's context", async () => {
    await get("k", "?r=1");
    const ctx = header1("other.1", 3, 5n);
    await put("k", "v", { "x-mec-vclock": ctx }, "?w=3");
    await app.inject({ method: "DELETE", url: "/mec/k?w=2", headers: { "x-mec-vclock": ctx } });
    expect(handle.ops[0]).toEqual({ type: "get", key: "k", r: 1 });
    const p = handle.ops[1]!;
    expect(p.type === "put" && p.w).toBe(3);
    expect(p.type === "put" && p.context?.get("other.1")).toEqual({ counter: 3, timestamp: 5n });
    const d = handle.ops[2]!;
    expect(d.type === "delete" && d.w).toBe(2);
    expect(d.type === "delete" && d.context?.get("other.1")?.counter).toBe(3);
    await get("k");
    expect(handle.ops[3]).toEqual({ type: "get", key: "k" });
  });

  it("404 with a JSON body for a key never written, and no vclock", async () => {
    const r = await get("missing");
    expect(r.statusCode).toBe(404);
    expect(r.headers["x-mec-vclock"]).toBeUndefined();
    expect(errorBody(r).error).toBe("not-found");
  });
});

describe("siblings", () => {
  it("two blind writes through different coordinators give 300 with exactly both, parsed back from multipart/mixed", async () => {
    handle.actor = "a.1";
    await put("k", "version 1", { "content-type": "application/json; charset=utf-8" });
    handle.actor = "b.1";
    await put("k", Buffer.from([0, 1, 2, 3]), { "content-type": "application/octet-stream" });
    const r = await get("k");
    expect(r.statusCode).toBe(300);
    expect(r.headers["content-type"]).toMatch(/^multipart\/mixed; boundary=[0-9a-z-]+$/);
    const ps = parts(r);
    expect(ps).toHaveLength(2);
    const set = handle.store.get("k")!;
    const byType = new Map(ps.map((p) => [p.headers.get("content-type"), p]));
    expect(Buffer.from(byType.get("application/json; charset=utf-8")!.body).toString()).toBe("version 1");
    expect([...byType.get("application/octet-stream")!.body]).toEqual([0, 1, 2, 3]);
    for (const p of ps) {
      const ts = p.headers.get("x-mec-timestamp")!;
      expect(set.siblings.map((s) => s.timestamp.toString())).toContain(ts);
      expect(p.headers.get("last-modified")).toBe(httpDate(BigInt(ts)));
    }
    // One vclock that descends both siblings.
    const clock = clockOf(r.headers["x-mec-vclock"]);
    expect(clock.get("a.1")?.counter).toBe(1);
    expect(clock.get("b.1")?.counter).toBe(1);

    // Writing back with it resolves to one value.
    const w = await put("k", "merged", { "x-mec-vclock": String(r.headers["x-mec-vclock"]) });
    expect(w.statusCode).toBe(200);
    const r2 = await get("k");
    expect(r2.statusCode).toBe(200);
    expect(r2.body).toBe("merged");
  });

  it("Mary and Peter: v1 blind, read C1, v2 blind, v3 with C1 -> exactly {v2, v3}", async () => {
    handle.actor = "n1.1";
    await put("cart", "v1");
    const c1 = String((await get("cart")).headers["x-mec-vclock"]);
    handle.actor = "n2.1";
    await put("cart", "v2");
    handle.actor = "n3.1";
    await put("cart", "v3", { "x-mec-vclock": c1 });
    const r = await get("cart");
    expect(r.statusCode).toBe(300);
    expect(parts(r).map((p) => Buffer.from(p.body).toString()).sort()).toEqual(["v2", "v3"]);
  });

  it("Mary and Peter through one coordinator (one actor): v1 blind, read C1, v2 blind, v3 with C1 -> exactly {v2, v3}", async () => {
    handle.actor = "n1.1";
    await put("cart1", "v1");
    const c1 = String((await get("cart1")).headers["x-mec-vclock"]);
    expect(counters(clockOf(c1))).toEqual({ "n1.1": 1 });
    await put("cart1", "v2");
    await put("cart1", "v3", { "x-mec-vclock": c1 });
    const r = await get("cart1");
    expect(r.statusCode).toBe(300);
    expect(parts(r).map((p) => Buffer.from(p.body).toString()).sort()).toEqual(["v2", "v3"]);
    expect(counters(clockOf(r.headers["x-mec-vclock"]))).toEqual({ "n1.1": 3 });
  });

  it("a part body that contains the boundary-like text and CRLFs survives byte-exact", async () => {
    handle.actor = "a.1";
    const tricky = Buffer.from("\r\n--mec-\r\n--\r\n\r\nContent-Type: x\r\n");
    await put("t", tricky);
    handle.actor = "b.1";
    await put("t", "");
    const ps = parts(await get("t"));
    expect(ps.map((p) => Buffer.from(p.body).toString()).sort()).toEqual(["", tricky.toString()].sort());
  });

  it("a PUT that leaves siblings answers 200 with no vclock and the sibling count (two coordinators)", async () => {
    handle.actor = "a.1";
    expect((await put("k", "from a")).statusCode).toBe(200);
    handle.actor = "b.1";
    const w = await put("k", "from b");
    expect(w.statusCode).toBe(200);
    expect(w.headers["x-mec-vclock"]).toBeUndefined();
    expect(w.headers["x-mec-siblings"]).toBe("2");
    // Resolving takes a read: its clock covers exactly what it showed.
    const r = await get("k");
    expect(r.statusCode).toBe(300);
    expect((await put("k", "b resolved", { "x-mec-vclock": String(r.headers["x-mec-vclock"]) })).statusCode).toBe(200);
    expect((await get("k")).body).toBe("b resolved");
  });

  // One coordinator (one actor) minting every write: a version vector entry n1:2 covers
  // n1:1, so a PUT answer's clock must never cover a concurrent sibling it did not show.
  describe("all writes through one coordinator", () => {
    it("X blind, Y blind, Y writes again with what its PUT returned: from-X survives; reusing X's 200 vclock replaces only from-X", async () => {
      handle.actor = "node-1.1";
      const x = await put("one", "from-X");
      expect(x.statusCode).toBe(200);
      const y = await put("one", "from-Y");
      expect(y.statusCode).toBe(200);
      // A clock covering node-1.1:2 would cover node-1.1:1 (from-X), which Y was never shown.
      expect(y.headers["x-mec-vclock"]).toBeUndefined();
      expect(y.headers["x-mec-siblings"]).toBe("2");
      const y2 = await put("one", "from-Y-2", y.headers["x-mec-vclock"] === undefined ? {} : { "x-mec-vclock": String(y.headers["x-mec-vclock"]) });
      expect(y2.statusCode).toBe(200);
      let r = await get("one");
      expect(parts(r).map((p) => Buffer.from(p.body).toString()).sort()).toEqual(["from-X", "from-Y", "from-Y-2"]);
      // X reuses the vclock of its own 200 answer: it covers only from-X.
      await put("one", "from-X-2", { "x-mec-vclock": String(x.headers["x-mec-vclock"]) });
      r = await get("one");
      expect(parts(r).map((p) => Buffer.from(p.body).toString()).sort()).toEqual(["from-X-2", "from-Y", "from-Y-2"]);
    });

    it("Mary and Peter through one coordinator: v1 blind, read C1, v2 blind, v3 with C1 -> exactly {v2, v3}", async () => {
      handle.actor = "node-1.1";
      await put("cart1", "v1");
      const c1 = String((await get("cart1")).headers["x-mec-vclock"]);
      await put("cart1", "v2");
      await put("cart1", "v3", { "x-mec-vclock": c1 });
      const r = await get("cart1");
      expect(r.statusCode).toBe(300);
      expect(parts(r).map((p) => Buffer.from(p.body).toString()).sort()).toEqual(["v2", "v3"]);
    });

    it("a DELETE that leaves a concurrent value answers 204 with no vclock, and the value stays", async () => {
      handle.actor = "node-1.1";
      const a = await put("d1", "a");
      await put("d1", "b"); // blind: concurrent with a
      const del = await app.inject({ method: "DELETE", url: "/mec/d1", headers: { "x-mec-vclock": String(a.headers["x-mec-vclock"]) } });
      expect(del.statusCode).toBe(204);
      expect(del.headers["x-mec-vclock"]).toBeUndefined();
      expect(del.headers["x-mec-siblings"]).toBe("1");
      expect((await get("d1")).body).toBe("b");
    });
  });

  it("?returnbody=true answers a write like GET (value, or siblings)", async () => {
    const one = await put("rb", "only", {}, "?returnbody=true");
    expect(one.statusCode).toBe(200);
    expect(one.body).toBe("only");
    expect(clockOf(one.headers["x-mec-vclock"])).toEqual(handle.store.get("rb")!.clock);
    handle.actor = "b.1";
    const two = await put("rb", "second", {}, "?returnbody=true");
    expect(two.statusCode).toBe(300);
    expect(parts(two).map((p) => Buffer.from(p.body).toString()).sort()).toEqual(["only", "second"]);
  });
});

describe("DELETE", () => {
  it("204 with a vclock; GET is then 404 with the tombstone's vclock, and a later write with it is not shadowed", async () => {
    const w = await put("d", "doomed");
    const del = await app.inject({ method: "DELETE", url: "/mec/d", headers: { "x-mec-vclock": String(w.headers["x-mec-vclock"]) } });
    expect(del.statusCode).toBe(204);
    expect(del.body).toBe("");
    const delClock = clockOf(del.headers["x-mec-vclock"]);
    expect(delClock.get("fake.1")?.counter).toBe(2);

    const r = await get("d");
    expect(r.statusCode).toBe(404);
    expect(errorBody(r).error).toBe("not-found");
    expect(clockOf(r.headers["x-mec-vclock"])).toEqual(handle.store.get("d")!.clock);

    const again = await put("d", "reborn", { "x-mec-vclock": String(r.headers["x-mec-vclock"]) });
    expect(again.statusCode).toBe(200);
    const r2 = await get("d");
    expect(r2.statusCode).toBe(200);
    expect(r2.body).toBe("reborn");
    expect(handle.store.get("d")!.siblings).toHaveLength(1);
  });

  it("a blind delete is concurrent with the value it did not see: the value stays (the DELETE answers 204 without a vclock)", async () => {
    handle.actor = "a.1";
    await put("d2", "kept");
    handle.actor = "b.1";
    const del = await app.inject({ method: "DELETE", url: "/mec/d2" });
    expect(del.statusCode).toBe(204);
    expect(del.headers["x-mec-vclock"]).toBeUndefined();
    const r = await get("d2");
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe("kept");
  });
});

describe("the node cannot answer", () => {
  it("503 starting before the node is ready, without asking it", async () => {
    handle.ready = false;
    const r = await get("k");
    expect(r.statusCode).toBe(503);
    expect(errorBody(r).error).toBe("starting");
    expect(handle.ops).toHaveLength(0);
  });

  it("object limits: 409 too-many-siblings and 413 object-too-large, with the node's message naming the limit", async () => {
    handle.failNext = { ok: false, type: "put", error: "too-many-siblings", message: "above max_siblings = 100: read, merge, write back", answered: 0, needed: 2, maybeApplied: false };
    const s = await put("k", "v");
    expect(s.statusCode).toBe(409);
    expect(errorBody(s)).toEqual({ error: "too-many-siblings", message: "above max_siblings = 100: read, merge, write back" });
    handle.failNext = { ok: false, type: "put", error: "object-too-large", message: "above max_object_bytes = 8388608", answered: 0, needed: 2, maybeApplied: false };
    const b = await put("k", "v");
    expect(b.statusCode).toBe(413);
    expect(errorBody(b).error).toBe("object-too-large");
  });

  it("503 quorum says how many answered, and for writes that the write may still be applied", async () => {
    handle.failNext = { ok: false, type: "put", error: "quorum", message: "timeout", answered: 1, needed: 2, maybeApplied: true };
    const w = await put("k", "v");
    expect(w.statusCode).toBe(503);
    expect(JSON.parse(w.body)).toEqual({
      error: "quorum",
      message: "only 1 of 2 replicas answered (the write may still be applied)",
      answered: 1,
      needed: 2,
      detail: "timeout",
    });
    handle.failNext = { ok: false, type: "get", error: "quorum", message: "timeout", answered: 0, needed: 2, maybeApplied: false };
    const r = await get("k");
    expect(r.statusCode).toBe(503);
    expect(errorBody(r).message).toBe("only 0 of 2 replicas answered");
  });

  it("503 unavailable, 400 bad-request from the node, 500 only for a bug (the handle throwing)", async () => {
    handle.failNext = { ok: false, type: "get", error: "unavailable", message: "no replica reachable", answered: 0, needed: 2, maybeApplied: false };
    const u = await get("k");
    expect(u.statusCode).toBe(503);
    expect(errorBody(u)).toMatchObject({ error: "unavailable", message: "no replica reachable" });
    handle.failNext = { ok: false, type: "get", error: "bad-request", message: "r > n", answered: 0, needed: 0, maybeApplied: false };
    const b = await get("k");
    expect(b.statusCode).toBe(400);
    expect(errorBody(b).message).toBe("r > n");
    handle.throwNext = true;
    const x = await get("k");
    expect(x.statusCode).toBe(500);
    expect(errorBody(x).error).toBe("internal");
    expect((await get("k")).statusCode).toBe(404); // and it keeps serving
  });
});

describe("bad input is a 4xx with a JSON error", () => {
  it.each([
    ["/mec/", "bad-key"],
    ["/mec", "bad-key"],
    ["/mec/%00", "bad-key"],
    ["/mec/a%00b", "bad-key"],
    ["/mec/%zz", "bad-key"],
    ["/mec/%4", "bad-key"],
    ["/mec/%E0%A4", "bad-key"],
    ["/mec/%C0%AF", "bad-key"],
    ["/mec/a/b", "bad-key"],
    [`/mec/${"x".repeat(65)}`, "bad-key"],
    [`/mec/${"%C3%A9".repeat(33)}`, "bad-key"],
    ["/mec/k?r=0", "bad-param"],
    ["/mec/k?r=4", "bad-param"],
    ["/mec/k?r=abc", "bad-param"],
    ["/mec/k?r=1.5", "bad-param"],
    ["/mec/k?r=-1", "bad-param"],
    ["/mec/k?r=", "bad-param"],
    ["/mec/k?r=1&r=2", "bad-param"],
    ["/mec/k?w=99999999999", "bad-param"],
  ])("GET %s -> 400 %s", async (url, code) => {
    const r = await app.inject({ method: "GET", url });
    expect(r.statusCode).toBe(400);
    expect(errorBody(r).error).toBe(code);
    expect(handle.ops).toHaveLength(0);
  });

  it("accepts keys at the limits: 64 bytes, multi-byte UTF-8, %2F, dots, '+'", async () => {
    for (const [raw, key] of [
      ["x".repeat(64), "x".repeat(64)],
      ["%C3%A9".repeat(32), "é".repeat(32)],
      ["a%2Fb", "a/b"],
      ["a..b", "a..b"], // /mec/.. itself is normalised away by inject's URL parser; test/client tests it on a socket
      ["a+b", "a+b"],
      ["%25", "%"],
      ["%F0%9F%90%99", "🐙"],
    ] as const) {
      const w = await put(raw, `value of ${key}`);
      expect(w.statusCode, raw).toBe(200);
      const op = handle.ops[handle.ops.length - 1]!;
      expect(op.key).toBe(key);
      expect((await get(raw)).body).toBe(`value of ${key}`);
    }
  });

  it("decodeKey is strict and decodes exactly once", () => {
    expect(decodeKey("a%252F", 64)).toEqual({ ok: true, key: "a%2F" });
    expect(decodeKey("caf%C3%A9", 64)).toEqual({ ok: true, key: "café" });
    expect(decodeKey("a b", 64).ok).toBe(false);
    expect(decodeKey("é", 64).ok).toBe(false);
    expect(decodeKey("%ED%A0%80", 64).ok).toBe(false); // a UTF-16 surrogate encoded as UTF-8
  });

  it("malformed X-Mec-Vclock -> 400 bad-vclock with the decoder's message, on PUT and DELETE", async () => {
    for (const header of ["garbage!!", "AAAA", "gaFhgqdDb3VudGVyAA==", "////"]) {
      const w = await put("k", "v", { "x-mec-vclock": header });
      expect(w.statusCode, header).toBe(400);
      const body = errorBody(w);
      expect(body.error).toBe("bad-vclock");
      const d = decodeVclock(header);
      expect(d.ok).toBe(false);
      if (!d.ok) expect(body.message).toContain(d.error.message);
      const del = await app.inject({ method: "DELETE", url: "/mec/k", headers: { "x-mec-vclock": header } });
      expect(del.statusCode).toBe(400);
    }
    expect(handle.ops).toHaveLength(0);
  });

  it("the original README's sample headers are accepted as a context", async () => {
    const w1 = await put("readme", "x", { "x-mec-vclock": README_SINGLE });
    expect(w1.statusCode).toBe(200);
    const op1 = handle.ops[0]!;
    expect(op1.type === "put" && op1.context?.get("cormacrelf")?.timestamp).toBe(0x1349c7e7f1f89c55n);
    const w3 = await put("readme3", "y", { "x-mec-vclock": README_THREE });
    expect(w3.statusCode).toBe(200);
    const op3 = handle.ops[1]!;
    expect(op3.type === "put" && [...op3.context!.keys()].sort()).toEqual(["A", "B", "C"]);
    // The answer's clock is the stored set's: the client's context (re-encoded canonically) plus the new dot.
    const back = clockOf(w3.headers["x-mec-vclock"]);
    expect([...back.keys()]).toEqual(["A", "B", "C", "fake.1"]);
  });

  it("X-Mec-Client-Id is passed on (client-vclock teaching mode); a bad one is 400", async () => {
    expect((await put("c", "v", { "x-mec-client-id": "cormacrelf" })).statusCode).toBe(200);
    const op = handle.ops[0]!;
    expect(op.type === "put" && op.clientId).toBe("cormacrelf");
    expect((await put("c2", "v")).statusCode).toBe(200);
    expect("clientId" in handle.ops[1]!).toBe(false);
    const bad = await put("c", "v", { "x-mec-client-id": "has space" });
    expect(bad.statusCode).toBe(400);
    expect(errorBody(bad).error).toBe("bad-request");
  });

  it("an empty X-Mec-Vclock is a blind write", async () => {
    expect((await put("k", "v", { "x-mec-vclock": "" })).statusCode).toBe(200);
    const op = handle.ops[0]!;
    expect(op.type === "put" && op.context).toBeNull();
  });

  it("oversized body -> 413; exactly the limit is fine", async () => {
    const limit = handle.limits.maxBodyBytes;
    const big = await put("k", Buffer.alloc(limit + 1, 97));
    expect(big.statusCode).toBe(413);
    expect(errorBody(big).error).toBe("too-large");
    const json = await put("k", Buffer.alloc(limit + 1, 97), { "content-type": "application/json" });
    expect(json.statusCode).toBe(413);
    const ok = await put("k", Buffer.alloc(limit, 97));
    expect(ok.statusCode).toBe(200);
  });

  it("bad returnbody -> 400; unsupported methods -> 405 with Allow; unknown paths -> 404 JSON", async () => {
    expect((await put("k", "v", {}, "?returnbody=maybe")).statusCode).toBe(400);
    for (const method of ["PATCH", "OPTIONS"] as const) {
      const r = await app.inject({ method, url: "/mec/k" });
      expect(r.statusCode).toBe(405);
      expect(r.headers.allow).toContain("GET");
      expect(errorBody(r).error).toBe("method-not-allowed");
    }
    expect((await app.inject({ method: "POST", url: "/ping" })).statusCode).toBe(405);
    const nf = await app.inject({ method: "GET", url: "/nope" });
    expect(nf.statusCode).toBe(404);
    expect(errorBody(nf).error).toBe("not-found");
  });
});

describe("/ping, /stats, /metrics", () => {
  it("/ping answers pong", async () => {
    const r = await app.inject({ method: "GET", url: "/ping" });
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe("pong");
  });

  it("/health answers identity and readiness: 200 when ready, 503 while starting; /ping is 503 then", async () => {
    const ok = await app.inject({ method: "GET", url: "/health" });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers["content-type"]).toMatch(/^application\/json/);
    expect(JSON.parse(ok.body)).toEqual({ status: "ok", id: "127.0.0.1:7000", name: "fake", actor: "fake.1", ready: true });
    handle.ready = false;
    const starting = await app.inject({ method: "GET", url: "/health" });
    expect(starting.statusCode).toBe(503);
    expect(JSON.parse(starting.body)).toEqual({ status: "starting", id: "127.0.0.1:7000", name: "fake", actor: null, ready: false });
    const ping = await app.inject({ method: "GET", url: "/ping" });
    expect(ping.statusCode).toBe(503);
    expect(JSON.parse(ping.body)).toMatchObject({ error: "starting" });
    expect((await app.inject({ method: "POST", url: "/health" })).statusCode).toBe(405);
  });

  it("/stats counts requests per op and status, latencies, and node events", async () => {
    await put("a", "1");
    await get("a");
    await get("missing");
    await get("%zz");
    stats.onEvent({ type: "ready", actor: "fake.7", incarnation: 7 }, 0);
    stats.onEvent({ type: "read-repair", key: "a", to: "n2" }, 0);
    stats.onEvent({ type: "read-repair", key: "a", to: "n3" }, 0);
    stats.onEvent({ type: "hint-stored", key: "a", forNode: "n2" }, 0);
    stats.onEvent({ type: "handoff", key: "a", to: "n2" }, 0);
    stats.onEvent({ type: "anti-entropy", partition: 3, peer: "n2", keysRepaired: 4 }, 0);
    stats.onEvent({ type: "siblings", key: "a", count: 3 }, 0);
    stats.onEvent({ type: "siblings", key: "b", count: 2 }, 0);
    stats.onEvent({ type: "reap", key: "a" }, 0);
    stats.onEvent({ type: "suspect", peer: "n3" }, 0);
    stats.onEvent({ type: "suspect", peer: "n2" }, 0);
    stats.onEvent({ type: "unsuspect", peer: "n3" }, 0);
    stats.onEvent({ type: "quorum", op: "put", reqId: "1", key: "a", needed: 2, replicas: ["n1", "n2"] }, 0);
    stats.onEvent({ type: "dot-minted", key: "a", actor: "fake.7", counter: 1 }, 0);
    const r = await app.inject({ method: "GET", url: "/stats" });
    expect(r.statusCode).toBe(200);
    const s = JSON.parse(r.body);
    expect(s.node).toMatchObject({ id: handle.nodeId, name: "fake", ready: true, actor: "fake.7", incarnation: 7 });
    expect(s.requests.total).toBe(4);
    expect(s.requests.byOp.put.count).toBe(1);
    expect(s.requests.byOp.put.byStatus).toEqual({ "200": 1 });
    expect(s.requests.byOp.get.byStatus).toEqual({ "200": 1, "400": 1, "404": 1 });
    expect(s.requests.byOp.get.latency.count).toBe(3);
    expect(s.requests.byOp.get.latency.p99Ms).toBeGreaterThan(0);
    expect(s.requests.byOp.get.latency.p50Ms).toBeLessThanOrEqual(s.requests.byOp.get.latency.p99Ms);
    expect(s.readRepairs).toBe(2);
    expect(s.hintsStored).toBe(1);
    expect(s.handoffs).toBe(1);
    expect(s.antiEntropy).toEqual({ exchanges: 1, keysRepaired: 4 });
    expect(s.siblings).toEqual({ events: 2, maxCount: 3, lastCount: 2 });
    expect(s.reaps).toBe(1);
    expect(s.suspects).toBe(2);
    expect(s.suspectedPeers).toEqual(["n2"]);
    expect(s.quorums).toEqual({ get: 0, put: 1, delete: 0 });
    expect(s.dotsMinted).toBe(1);
    expect(s.limits).toEqual(handle.limits);
  });

  it("/stats is read back from the prom-client registry (one set of counts, not two)", async () => {
    await put("a", "1");
    // Counts added to the registry's metrics directly show up in /stats: it keeps no counters of its own.
    const events = stats.registry.getSingleMetric("mec_node_events_total") as Counter<"event">;
    events.inc({ event: "read-repair" }, 5);
    events.inc({ event: "handoff" }, 2);
    (stats.registry.getSingleMetric("mec_http_requests_total") as Counter<"op" | "status">).inc({ op: "get", status: "503" }, 3);
    const s = JSON.parse((await app.inject({ method: "GET", url: "/stats" })).body);
    expect(s.readRepairs).toBe(5);
    expect(s.handoffs).toBe(2);
    expect(s.requests.byOp.get.byStatus).toEqual({ "503": 3 });
    expect(s.requests.byOp.get.count).toBe(3);
    expect(s.requests.total).toBe(4);
    // And the two views agree on what the server counted itself.
    const metrics = (await app.inject({ method: "GET", url: "/metrics" })).body;
    expect(metrics).toContain('mec_http_requests_total{op="put",status="200",node="fake"} 1');
    expect(s.requests.byOp.put).toMatchObject({ count: 1, byStatus: { "200": 1 } });
  });

  it("/metrics serves Prometheus text from the node's own registry", async () => {
    await put("a", "1");
    await get("a");
    stats.onEvent({ type: "read-repair", key: "a", to: "n2" }, 0);
    stats.onEvent({ type: "anti-entropy", partition: 1, peer: "n2", keysRepaired: 5 }, 0);
    const r = await app.inject({ method: "GET", url: "/metrics" });
    expect(r.statusCode).toBe(200);
    expect(r.headers["content-type"]).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(r.body).toContain('mec_http_requests_total{op="put",status="200",node="fake"} 1');
    expect(r.body).toContain('mec_http_requests_total{op="get",status="200",node="fake"} 1');
    expect(r.body).toContain('mec_node_events_total{event="read-repair",node="fake"} 1');
    expect(r.body).toContain('mec_anti_entropy_keys_repaired_total{node="fake"} 5');
    expect(r.body).toMatch(/mec_http_request_duration_seconds_count\{node="fake",op="get"\} 1/);
    // Per-node registry: a second server in the same process starts at zero.
    const other = new NodeStats({ nodeId: "x", name: "other" });
    expect(await other.metrics()).toContain('mec_node_events_total{event="read-repair",node="other"} 0');
  });
});
