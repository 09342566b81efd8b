import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { decodeMessage, encodeMessage, isReplyType } from "../../src/core/messages.ts";
import type { PeerMessage } from "../../src/core/messages.ts";
import { encode } from "@msgpack/msgpack";
import { FailureDetector } from "../../src/core/membership/failure-detector.ts";
import { hintKey, objectKey, parseHintKey, parseObjectKey } from "../../src/core/replica/keys.ts";

const b = (...xs: number[]) => Uint8Array.from(xs);

const samples: PeerMessage[] = [
  { type: "heartbeat", from: "n1", boot: "0000002a" },
  { type: "get", reqId: "n1/00000001/0", from: "n1", partition: 3, key: "k" },
  { type: "get-reply", reqId: "r", from: "n2", set: null },
  { type: "get-reply", reqId: "r", from: "n2", set: b(1, 2, 3) },
  { type: "put", reqId: "r", from: "n1", op: "put", partition: 1, key: "k", value: b(9), contentType: "text/plain", context: null, w: 2, clientId: null, toBoot: null },
  { type: "put", reqId: "r", from: "n1", op: "delete", partition: 1, key: "k", value: null, contentType: "", context: b(4), w: 1, clientId: "c", toBoot: "0000abcd" },
  { type: "put-reply", reqId: "r", from: "n2", boot: "deadbeef", result: { ok: true, set: b(1), dot: { actor: "n2.0000000a", counter: 3 }, replicas: ["n2", "n3"] } },
  { type: "put-reply", reqId: "r", from: "n2", boot: "deadbeef", result: { ok: false, error: "quorum", message: "m", answered: 1, needed: 2, maybeApplied: true } },
  { type: "replicate", reqId: "r", from: "n2", partition: 0, key: "k", set: b(1), hint: "n4" },
  { type: "replicate-ack", reqId: "r", from: "n3" },
  { type: "repair", reqId: "r", from: "n2", partition: 0, key: "k", set: b(1), hint: null },
  { type: "handoff", reqId: "r", from: "n2", partition: 0, key: "k", set: b(1) },
  { type: "handoff-ack", reqId: "r", from: "n3" },
  { type: "reap", reqId: "r", from: "n2", partition: 0, key: "k", set: b(1) },
  { type: "ae-buckets", reqId: "r", from: "n2", partition: 0, buckets: [0, 4294967295] },
  { type: "ae-buckets-reply", reqId: "r", from: "n2", partition: 0, diff: [1], keys: [["a", 5]] },
  { type: "ae-sync", reqId: "r", from: "n2", partition: 0, objects: [["a", b(1)]], want: ["b"] },
  { type: "ae-sync-reply", reqId: "r", from: "n2", partition: 0, objects: [] },
];

describe("messages", () => {
  it("round-trip every message type", () => {
    for (const m of samples) expect(decodeMessage(encodeMessage(m))).toEqual(m);
  });
  it("reply types end in -reply or -ack and echo a reqId", () => {
    const replies = samples.filter((m) => isReplyType(m.type));
    expect([...new Set(replies.map((m) => m.type))]).toEqual(["get-reply", "put-reply", "replicate-ack", "handoff-ack", "ae-buckets-reply", "ae-sync-reply"]);
    for (const m of replies) expect("reqId" in m).toBe(true);
    const others = [...new Set(samples.filter((m) => !isReplyType(m.type)).map((m) => m.type))];
    expect(others).toEqual(["heartbeat", "get", "put", "replicate", "repair", "handoff", "reap", "ae-buckets", "ae-sync"]);
  });
  it("rejects malformed messages with an error, never anything else", () => {
    const bad = [
      b(),
      b(0xc1),
      encode([1, 2]),
      encode({ type: "get", from: "n1" }),
      encode({ type: "nope", from: "n1", reqId: "r" }),
      encode({ type: "get", from: "n1", reqId: "r", partition: -1, key: "k" }),
      encode({ type: "put-reply", from: "n1", reqId: "r", result: { ok: false, error: "weird" } }),
      encode({ type: "replicate", from: "n1", reqId: "r", partition: 1, key: "k", set: "str", hint: null }),
    ];
    for (const x of bad) expect(() => decodeMessage(x)).toThrow(Error);
  });
  it("never throws a non-Error on random bytes", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (xs) => {
        try {
          decodeMessage(xs);
        } catch (e) {
          return e instanceof Error;
        }
        return true;
      }),
    );
  });
});

describe("keys", () => {
  it("object and hint keys round-trip, including ':' in node ids and keys", () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffff }), fc.string(), fc.string({ minLength: 1 }), (p, key, target) => {
        expect(parseObjectKey(objectKey(p, key))).toEqual({ partition: p, key });
        expect(parseHintKey(hintKey(target, p, key))).toEqual({ target, partition: p, key });
      }),
    );
    expect(objectKey(10, "a:b")).toBe("o:000a:a:b");
    expect(parseObjectKey("m:meta")).toBeNull();
    expect(parseHintKey(hintKey("127.0.0.1:7000", 3, "k"))).toEqual({ target: "127.0.0.1:7000", partition: 3, key: "k" });
  });
});

describe("FailureDetector", () => {
  it("suspects silent peers, clears on any message, and takes timeouts as evidence", () => {
    const d = new FailureDetector("a", ["b", "c"], 100);
    d.start(0);
    expect(d.tick(50)).toEqual([]);
    d.heard("b", 60);
    expect(d.tick(120)).toEqual([{ type: "suspect", peer: "c" }]);
    expect(d.isUp("c")).toBe(false);
    expect(d.isUp("b")).toBe(true);
    expect(d.heard("c", 130)).toEqual([{ type: "unsuspect", peer: "c" }]);
    expect(d.timedOut("b")).toEqual([{ type: "suspect", peer: "b" }]);
    expect(d.timedOut("b")).toEqual([]);
    expect(d.isUp("a")).toBe(true);
    expect(d.heard("zz", 1)).toEqual([]);
  });
});
