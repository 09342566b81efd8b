// fast-check fuzzing of the peer-message path: the decoder never throws anything but an Error
// and never returns a message that does not re-encode; the node, fed arbitrary well-typed
// messages, keeps running, drops (and counts) every message not from the member its transport
// names, changes nothing and answers nothing for those, and still serves afterwards.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encode } from "@msgpack/msgpack";
import { decodeMessage, encodeMessage, type PeerMessage } from "../../src/core/messages.ts";
import { validatePeerMessage } from "../../src/core/validate.ts";
import { partitionOf } from "../../src/core/ring/index.ts";
import { applyWrite, emptySet, encodeSiblingSet } from "../../src/core/versioning/index.ts";
import { Harness, bytes, values } from "./harness.ts";

const MEMBERS = ["n1", "n2", "n3", "n4"];
const PARTITIONS = 16; // baseConfig's partition count

const sender = fc.constantFrom(...MEMBERS, "x", "", "n1 ", "\ud800");
const key = fc.oneof(fc.constantFrom("a", "b", "c", "k0"), fc.string({ maxLength: 8 }), fc.string({ unit: "binary", maxLength: 4 }));
const partition = fc.oneof(fc.integer({ min: 0, max: PARTITIONS - 1 }), fc.constantFrom(PARTITIONS, 1 << 20));
const reqId = fc.oneof(sender.map((s) => `${s}/00000001/7`), fc.string({ maxLength: 12 }));
const setBytes = fc.oneof(
  fc.uint8Array({ maxLength: 24 }),
  fc.string({ maxLength: 6 }).map((v) => {
    const { set } = applyWrite("dvv", emptySet(), new Map([["evil.00000000", { counter: 99, timestamp: 0n }]]), "evil.00000000", { value: bytes(v), contentType: "text/plain", timestamp: 1n });
    return encodeSiblingSet(set);
  }),
);
const u32 = fc.integer({ min: 0, max: 0xffffffff });

/** Arbitrary well-typed peer messages (any field values the decoder accepts). */
const message: fc.Arbitrary<PeerMessage> = fc.oneof(
  fc.record({ type: fc.constant("heartbeat" as const), from: sender, boot: fc.constantFrom("00000001", "0000002a") }),
  fc.record({ type: fc.constant("get" as const), reqId, from: sender, partition, key }),
  fc.record({ type: fc.constant("get-reply" as const), reqId, from: sender, set: fc.option(setBytes, { nil: null }) }),
  fc.record({
    type: fc.constant("put" as const), reqId, from: sender, op: fc.constantFrom("put" as const, "delete" as const), partition, key,
    value: fc.option(fc.uint8Array({ maxLength: 8 }), { nil: null }), contentType: fc.string({ maxLength: 8 }),
    context: fc.option(setBytes, { nil: null }), w: fc.integer({ min: 1, max: 5 }), clientId: fc.option(fc.string({ maxLength: 4 }), { nil: null }),
    toBoot: fc.option(fc.constantFrom("00000000", "0000002a", "zz"), { nil: null }),
  }),
  fc.record({ type: fc.constantFrom("replicate" as const, "repair" as const), reqId, from: sender, partition, key, set: setBytes, hint: fc.option(sender, { nil: null }) }),
  fc.record({ type: fc.constantFrom("handoff" as const, "reap" as const), reqId, from: sender, partition, key, set: setBytes }),
  fc.record({ type: fc.constantFrom("replicate-ack" as const, "handoff-ack" as const, "probe" as const, "probe-ack" as const), reqId, from: sender }),
  fc.record({ type: fc.constant("ae-buckets" as const), reqId, from: sender, partition, buckets: fc.array(u32, { maxLength: 70 }) }),
  fc.record({ type: fc.constant("ae-buckets-reply" as const), reqId, from: sender, partition, diff: fc.array(u32, { maxLength: 4 }), keys: fc.array(fc.tuple(key, u32), { maxLength: 4 }) }),
  fc.record({ type: fc.constant("ae-sync" as const), reqId, from: sender, partition, objects: fc.array(fc.tuple(key, setBytes), { maxLength: 3 }), want: fc.array(key, { maxLength: 3 }) }),
  fc.record({ type: fc.constant("ae-sync-reply" as const), reqId, from: sender, partition, objects: fc.array(fc.tuple(key, setBytes), { maxLength: 3 }) }),
);

/** A message as it would really be addressed: partitions matching keys, often (so validation lets some through). */
const plausible = message.map((m) => ("key" in m && "partition" in m ? ({ ...m, partition: partitionOf(m.key, PARTITIONS) } as PeerMessage) : m));

describe("decodeMessage under fuzzing", () => {
  it("throws only Errors on arbitrary bytes and arbitrary msgpack, and what it returns re-encodes", () => {
    const input = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.anything().map((v) => encode(v)),
      message.chain((m) => fc.tuple(fc.constant(encodeMessage(m)), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, i, x]) => {
        const out = b.slice();
        if (out.length > 0) out[i % out.length] = x; // one corrupted byte
        return out;
      })),
    );
    fc.assert(
      fc.property(input, (b) => {
        let msg: PeerMessage;
        try {
          msg = decodeMessage(b);
        } catch (e) {
          expect(e).toBeInstanceOf(Error);
          return;
        }
        expect(decodeMessage(encodeMessage(msg))).toEqual(msg);
      }),
      { numRuns: 3000 },
    );
  });

  it("never lets a lone surrogate through (it would throw in encodeURIComponent)", () => {
    const withSurrogate = encodeMessage({ type: "replicate", reqId: "n2/0/1", from: "n2", partition: 0, key: "k", set: bytes("x"), hint: "ZQX" });
    const at = Buffer.from(withSurrogate).indexOf(Buffer.from([0xa3, 0x5a, 0x51, 0x58]));
    withSurrogate.set([0xed, 0xa0, 0x80], at + 1);
    expect(() => decodeMessage(withSurrogate)).toThrow(/not valid UTF-8/);
  });
});

describe("the node under fuzzed peer messages", () => {
  function cluster(): { h: Harness; deliver: (from: string, b: Uint8Array) => void } {
    const h = new Harness(4);
    h.startAll();
    for (const k of ["a", "b", "c"]) expect(h.request("n2", { type: "put", key: k, value: bytes(`v-${k}`), contentType: "text/plain", context: null }).ok).toBe(true);
    h.runFor(100);
    const n1 = h.node("n1") as unknown as { deliver: (from: string, b: Uint8Array) => void };
    return { h, deliver: (from, b) => n1.deliver(from, b) };
  }

  it("messages not from the member the transport names change nothing and get no answer; each is counted", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(sender, plausible), { minLength: 1, maxLength: 15 }), (batch) => {
        const { h, deliver } = cluster();
        const before = new Map(h.node("n1").storage);
        const sentBefore = h.sent.length;
        const dropsBefore = h.node("n1").events.filter((e) => e.type === "peer-message-dropped").length;
        let forged = 0;
        for (const [transportFrom, m] of batch) {
          const authentic = m.from === transportFrom && MEMBERS.includes(transportFrom) && transportFrom !== "n1";
          if (authentic) continue; // only forged ones in this property
          forged++;
          deliver(transportFrom, encodeMessage(m));
        }
        h.runFor(50);
        expect(new Map(h.node("n1").storage)).toEqual(before);
        expect(h.sent.slice(sentBefore).filter((s) => s.from === "n1" && s.msg.type !== "heartbeat")).toEqual([]);
        expect(h.node("n1").events.filter((e) => e.type === "peer-message-dropped").length - dropsBefore).toBe(forged);
      }),
      { numRuns: 60, seed: 20261201 },
    );
  });

  it("a member's request id naming a boot that is not its own misleads forwards one heartbeat interval at most", () => {
    // Found by the property below: n1 took n2's current boot from this id, retired the real one
    // and addressed every later forward to a process that does not exist (the write then answers
    // "the minting replica restarted" for ever, heartbeats did not say which boot is current).
    const { h, deliver } = cluster();
    deliver("n2", encodeMessage({ type: "ae-buckets", reqId: "n2/00000001/7", from: "n2", partition: 0, buckets: [] }));
    h.runFor(3000);
    for (let i = 0; i < 8; i++) {
      const put = h.request("n1", { type: "put", key: `after-${i}`, value: bytes("v"), contentType: "text/plain", context: null });
      expect(put.ok, JSON.stringify(put, (_k, v) => (typeof v === "bigint" ? String(v) : v))).toBe(true);
    }
  });

  it("any well-typed message from a member never crashes the node, and it still serves", () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.constantFrom("n2", "n3", "n4"), plausible), { minLength: 1, maxLength: 20 }), (batch) => {
        const { h, deliver } = cluster();
        for (const [from, m] of batch) deliver(from, encodeMessage({ ...m, from } as PeerMessage));
        h.runFor(3000);
        const fresh = `fresh-${batch.length}`;
        expect(h.request("n1", { type: "put", key: fresh, value: bytes("after"), contentType: "text/plain", context: null }).ok).toBe(true);
        const got = h.request("n3", { type: "get", key: fresh });
        expect(got.ok && got.type === "get" ? values(got.set) : []).toEqual(["after"]);
      }),
      { numRuns: 40, seed: 20261201 },
    );
  });
});

describe("validatePeerMessage", () => {
  const vc = { self: "n1", members: MEMBERS, partitionCount: PARTITIONS, n: 3, maxKeyBytes: 8 };
  const get = (over: Partial<Extract<PeerMessage, { type: "get" }>> = {}): PeerMessage => ({ type: "get", reqId: "n2/0/1", from: "n2", partition: partitionOf("k", PARTITIONS), key: "k", ...over });
  it.each([
    ["a valid get", get(), "n2", null],
    ["a from that is not the connection", get(), "n3", "forged-sender"],
    ["a non-member", get({ from: "x", reqId: "x/0/1" }), "x", "unknown-sender"],
    ["this node itself", get({ from: "n1", reqId: "n1/0/1" }), "n1", "unknown-sender"],
    ["a request id of another node", get({ reqId: "n3/0/1" }), "n2", "bad-request-id"],
    ["a partition outside the ring", get({ partition: PARTITIONS }), "n2", "bad-partition"],
    ["a key outside its partition", get({ partition: (partitionOf("k", PARTITIONS) + 1) % PARTITIONS }), "n2", "bad-key"],
    ["a key with NUL (no HTTP request can name it)", get({ key: "a\0", partition: partitionOf("a\0", PARTITIONS) }), "n2", "bad-key"],
    ["a key over the limit", get({ key: "123456789", partition: partitionOf("123456789", PARTITIONS) }), "n2", "bad-key"],
    ["a reply to a request that is not ours", { type: "replicate-ack", reqId: "n2/0/1", from: "n2" } as PeerMessage, "n2", "bad-request-id"],
    ["a hint naming a non-member", { type: "replicate", reqId: "n2/0/1", from: "n2", partition: partitionOf("k", PARTITIONS), key: "k", set: bytes("x"), hint: "x" } as PeerMessage, "n2", "bad-field"],
  ] as const)("%s", (_what, msg, transportFrom, reason) => {
    const v = validatePeerMessage(msg, transportFrom, vc);
    expect(v.ok ? null : v.reason).toBe(reason);
  });
});
