// Fuzzes the HTTP API with fast-check: random methods, paths (percent escapes, NUL, slashes,
// invalid UTF-8), query strings, X-Mec-Vclock headers (valid, near-valid, garbage),
// Content-Types and bodies. Whatever comes in, the answer is never a 5xx, every error is
// JSON {error, message}, and the server keeps serving.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import fc from "fast-check";
import type { FastifyInstance } from "fastify";
import { buildHttpServer } from "../../../src/adapters/http/server.ts";
import { NodeStats } from "../../../src/adapters/http/stats.ts";
import { encodeVclock } from "../../../src/core/versioning/index.ts";
import { FakeHandle } from "./fake-handle.ts";

let handle: FakeHandle;
let app: FastifyInstance;

beforeAll(() => {
  handle = new FakeHandle({ n: 3, r: 2, w: 2, maxBodyBytes: 256, maxKeyBytes: 16 });
  app = buildHttpServer(handle, new NodeStats({ nodeId: handle.nodeId, name: handle.name }));
});
afterAll(async () => {
  await app.close();
});

const keyPiece = fc.oneof(
  fc.constantFrom("a", "k", "Z", "0", ".", "..", "+", "-", "~", "%", "%2F", "%2f", "%00", "%zz", "%4", "%C3", "%A9", "%C3%A9", "%E0%A4", "%FF", "%F0%9F%90%99", "/", "//", "?", "&", "=", "%25", "%20", "'", "*", "(", ")"),
  fc.string({ unit: fc.constantFrom(..."abcdefxyz0123456789"), maxLength: 20 }),
);
const path = fc.oneof(
  { weight: 8, arbitrary: fc.array(keyPiece, { maxLength: 8 }).map((ps) => `/mec/${ps.join("")}`) },
  { weight: 1, arbitrary: fc.constantFrom("/mec", "/ping", "/stats", "/metrics", "/", "/mec%2Fa", "/nope", "/mec/a/b/c") },
);
const qValue = fc.oneof(fc.constantFrom("1", "2", "3", "0", "4", "-1", "1.5", "", "abc", "99999999999999999999", "%31", "true", "false"), fc.nat(10).map(String));
const query = fc
  .array(fc.tuple(fc.constantFrom("r", "w", "returnbody", "x", "r[]"), qValue), { maxLength: 3 })
  .map((ps) => (ps.length === 0 ? "" : `?${ps.map(([k, v]) => `${k}=${v}`).join("&")}`));
const clock = fc
  .array(fc.tuple(fc.string({ minLength: 1, maxLength: 8 }), fc.integer({ min: 1, max: 2 ** 32 - 1 }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })), { maxLength: 4 })
  .map((entries) => {
    const m = new Map<string, { counter: number; timestamp: bigint }>();
    for (const [a, counter, timestamp] of entries) m.set(a, { counter, timestamp });
    return encodeVclock(m);
  });
const printable = fc.string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 60 });
const vclockHeader = fc.oneof(
  clock,
  clock.map((s) => s.slice(0, Math.max(0, s.length - 4))),
  clock.map((s) => s.replace(/A/g, "B")),
  fc.base64String({ maxLength: 80 }),
  printable,
);
const contentType = fc.oneof(
  fc.constantFrom("text/plain", "application/json", "application/octet-stream", "multipart/form-data", "application/x-www-form-urlencoded", "image/png; x=1", ";", "a/b/c", "*/*"),
  printable,
);
const body = fc.oneof(
  { weight: 5, arbitrary: fc.uint8Array({ maxLength: 300 }) },
  { weight: 1, arbitrary: fc.constant(new Uint8Array(0)) },
  { weight: 1, arbitrary: fc.string({ maxLength: 100 }).map((s) => new TextEncoder().encode(s)) },
);
const request = fc.record({
  method: fc.constantFrom("GET", "PUT", "POST", "DELETE", "PATCH", "HEAD", "OPTIONS"),
  path,
  query,
  vclock: fc.option(vclockHeader, { nil: undefined }),
  contentType: fc.option(contentType, { nil: undefined }),
  body: fc.option(body, { nil: undefined }),
});

describe("HTTP API fuzz", () => {
  it("never answers 5xx, errors are JSON, and it keeps serving", async () => {
    const statuses = new Map<number, number>();
    let skipped = 0;
    await fc.assert(
      fc.asyncProperty(request, async (req) => {
        const headers: Record<string, string> = {};
        if (req.vclock !== undefined) headers["x-mec-vclock"] = req.vclock;
        if (req.contentType !== undefined) headers["content-type"] = req.contentType;
        const withBody = req.body !== undefined && req.method !== "GET" && req.method !== "HEAD";
        let res;
        try {
          res = await app.inject({
            method: req.method as "GET",
            url: req.path + req.query,
            headers,
            ...(withBody ? { payload: Buffer.from(req.body!) } : {}),
          });
        } catch (err) {
          // light-my-request refuses some URLs before they reach the server: not our concern.
          if (err instanceof TypeError && /URL|url|Invalid/.test(String(err))) {
            skipped++;
            return;
          }
          throw err;
        }
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        expect(res.statusCode, `${req.method} ${req.path}${req.query}`).toBeLessThan(500);
        if (res.statusCode >= 400 && req.method !== "HEAD") {
          expect(res.headers["content-type"]).toMatch(/^application\/json/);
          const parsed = JSON.parse(res.body) as { error: unknown; message: unknown };
          expect(typeof parsed.error).toBe("string");
          expect(typeof parsed.message).toBe("string");
        }
      }),
      { numRuns: 400 },
    );
    // The fuzz reached the server and hit both the happy and the error paths.
    expect(skipped).toBeLessThan(40);
    for (const status of [200, 400, 404, 405]) expect(statuses.get(status) ?? 0, `status ${status}`).toBeGreaterThan(0);
    const ping = await app.inject({ method: "GET", url: "/ping" });
    expect(ping.statusCode).toBe(200);
    const w = await app.inject({ method: "PUT", url: "/mec/after-fuzz", payload: "ok", headers: { "content-type": "text/plain" } });
    expect(w.statusCode).toBe(200);
    expect((await app.inject({ method: "GET", url: "/mec/after-fuzz" })).body).toBe("ok");
  });
});
