// The msgpack peeker reads the same type and reqId as a full decode, for any message shape.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encode } from "@msgpack/msgpack";
import { peekStrings, peekTypeAndReqId } from "../../sim/msgpack-peek.ts";
import { decodeMessage, encodeMessage } from "../../src/core/messages.ts";
import { mecdb } from "../../sim/mecdb.ts";

describe("peekStrings", () => {
  it("finds string fields after values of every msgpack kind", () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string().filter((k) => k !== "type" && k !== "reqId"), fc.jsonValue()), fc.string(), fc.string(), fc.uint8Array(), (rest, type, reqId, bin) => {
        const bytes = encode({ ...rest, bin, big: 2n ** 60n, neg: -5, f: 1.5, type, reqId }, { useBigInt64: true });
        const got = peekStrings(bytes, ["type", "reqId"]);
        expect(got?.get("type")).toBe(type);
        expect(got?.get("reqId")).toBe(reqId);
        expect(peekTypeAndReqId(bytes)).toEqual({ type, reqId });
      }),
    );
  });
  it("returns null on garbage, never throws", () => {
    fc.assert(fc.property(fc.uint8Array(), (bytes) => void (peekStrings(bytes, ["type"]), peekTypeAndReqId(bytes))));
    expect(peekStrings(new Uint8Array([0x93, 1, 2, 3]), ["type"])).toBeNull();
  });
  it("agrees with decodeMessage on real peer messages", () => {
    const msgs = [
      encodeMessage({ type: "heartbeat", from: "n1", boot: "0000002a" }),
      encodeMessage({ type: "replicate-ack", reqId: "n1/ab/3", from: "n2" }),
      encodeMessage({ type: "get", reqId: "n1/ab/4", from: "n1", partition: 3, key: "k" }),
    ];
    for (const bytes of msgs) {
      const m = decodeMessage(bytes);
      const info = mecdb.describeMessage(bytes);
      expect(info?.type).toBe(m.type);
      expect(info?.reqId).toBe("reqId" in m ? m.reqId : null);
    }
  });
});
