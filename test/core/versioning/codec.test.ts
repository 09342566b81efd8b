import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { encode as msgpackEncode } from "@msgpack/msgpack";
import {
  clockFromJson,
  clockToJson,
  clockToJsonText,
  clocksEqual,
  decodeBase64,
  decodeVclock,
  encodeBase64,
  encodeVclock,
  encodeVclockBytes,
  VCLOCK_ACTORS_MAX,
  VCLOCK_HEADER_MAX_BYTES,
  type VclockErrorCode,
} from "../../../src/core/versioning/index.ts";
import type { VClock } from "../../../src/core/versioning/types.ts";
import { shuffledClock, wideClockArb } from "./arbitraries.ts";

// The three headers of the original MecDB README (GET 200, GET 300 with siblings, PUT 200).
const SAMPLE_GET = "gapjb3JtYWNyZWxmgqdDb3VudGVyAalUaW1lc3RhbXDPE0nH5/H4nFU=";
const SAMPLE_SIBLINGS =
  "g6FDgqdDb3VudGVyAalUaW1lc3RhbXDPE0pH93pICm+hQYKnQ291bnRlcgGpVGltZXN0YW1wzxNKR+q4T3ofoUKCp0NvdW50ZXIBqVRpbWVzdGFtcM8TSkf15mgjww==";
const SAMPLE_PUT = "gapjb3JtYWNyZWxmgqdDb3VudGVyAqlUaW1lc3RhbXDPE0nIbta/ck0=";

const CODES: readonly VclockErrorCode[] = [
  "empty", "too-large", "bad-base64", "not-msgpack", "wrong-shape", "empty-actor", "bad-counter", "bad-timestamp", "duplicate-actor",
];

function decoded(header: string): VClock {
  const r = decodeVclock(header);
  if (!r.ok) throw new Error(`expected ok, got ${r.error.code}: ${r.error.message}`);
  return r.clock;
}

function errorCode(header: string): VclockErrorCode | "ok" {
  const r = decodeVclock(header);
  return r.ok ? "ok" : r.error.code;
}

const hex = (h: string): Uint8Array => new Uint8Array(h.match(/../g)!.map((b) => parseInt(b, 16)));
const b64 = (bytes: Uint8Array): string => encodeBase64(bytes);
const mp = (x: unknown): string => b64(msgpackEncode(x, { useBigInt64: true }).slice());

describe("X-Mec-Vclock: the README samples", () => {
  it("decodes the GET sample exactly", () => {
    expect([...decoded(SAMPLE_GET)]).toEqual([["cormacrelf", { counter: 1, timestamp: 1389861759031483477n }]]);
    // 0x1349c7e7f1f89c55, read from the bytes
    expect(1389861759031483477n).toBe(0x1349c7e7f1f89c55n);
  });

  it("decodes the sibling sample exactly, keeping the wire order C, A, B", () => {
    expect([...decoded(SAMPLE_SIBLINGS)]).toEqual([
      ["C", { counter: 1, timestamp: 1390002563231255151n }],
      ["A", { counter: 1, timestamp: 1390002508437355039n }],
      ["B", { counter: 1, timestamp: 1390002556455363523n }],
    ]);
    // the timestamps are the X-Mec-Timestamp values of versions 3, 1 and 2 in the README
  });

  it("decodes the PUT sample exactly", () => {
    expect([...decoded(SAMPLE_PUT)]).toEqual([["cormacrelf", { counter: 2, timestamp: 1389862338395337293n }]]);
  });

  it("re-encodes each sample to the identical string (order-preserving)", () => {
    for (const h of [SAMPLE_GET, SAMPLE_SIBLINGS, SAMPLE_PUT]) expect(encodeVclock(decoded(h), { canonical: false })).toBe(h);
    // single-actor samples are already canonical
    expect(encodeVclock(decoded(SAMPLE_GET))).toBe(SAMPLE_GET);
  });

  it("canonical encoding of the sibling sample sorts the actors", () => {
    const canonical = encodeVclock(decoded(SAMPLE_SIBLINGS));
    expect(canonical).not.toBe(SAMPLE_SIBLINGS);
    expect([...decoded(canonical).keys()]).toEqual(["A", "B", "C"]);
    expect(clocksEqual(decoded(canonical), decoded(SAMPLE_SIBLINGS))).toBe(true);
  });

  it("prints the JSON form with decimal-string timestamps", () => {
    expect(clockToJsonText(decoded(SAMPLE_GET))).toBe('{"cormacrelf":{"counter":1,"timestamp":"1389861759031483477"}}');
    expect(clockToJson(decoded(SAMPLE_SIBLINGS))).toEqual({
      C: { counter: 1, timestamp: "1390002563231255151" },
      A: { counter: 1, timestamp: "1390002508437355039" },
      B: { counter: 1, timestamp: "1390002556455363523" },
    });
  });
});

describe("X-Mec-Vclock: encoding", () => {
  it("uses the smallest counter encoding and always uint64 timestamps", () => {
    const bytes = (counter: number) =>
      Array.from(encodeVclockBytes(new Map([["a", { counter, timestamp: 5n }]])), (b) => b.toString(16).padStart(2, "0")).join("");
    const tail = "a954696d657374616d70cf0000000000000005"; // "Timestamp" uint64 5
    expect(bytes(1)).toBe(`81a161 82a7436f756e746572 01 ${tail}`.replace(/ /g, ""));
    expect(bytes(200)).toBe(`81a161 82a7436f756e746572 ccc8 ${tail}`.replace(/ /g, ""));
    expect(bytes(70000)).toBe(`81a161 82a7436f756e746572 ce00011170 ${tail}`.replace(/ /g, ""));
    expect(encodeVclock(new Map())).toBe("gA==");
  });

  it("refuses to encode clocks outside the limits", () => {
    expect(() => encodeVclock(new Map([["", { counter: 1, timestamp: 0n }]]))).toThrow(RangeError);
    expect(() => encodeVclock(new Map([["a", { counter: 0, timestamp: 0n }]]))).toThrow(RangeError);
    expect(() => encodeVclock(new Map([["a", { counter: 1, timestamp: 2n ** 64n }]]))).toThrow(RangeError);
    expect(() => encodeVclock(new Map([["\ud800", { counter: 1, timestamp: 0n }]]))).toThrow(RangeError);
  });
});

describe("X-Mec-Vclock: properties", () => {
  it("round trip, canonical and order-preserving", () => {
    fc.assert(
      fc.property(wideClockArb, (clock) => {
        const kept = decoded(encodeVclock(clock, { canonical: false }));
        expect([...kept]).toEqual([...clock]); // same entries, same order
        const canonical = decoded(encodeVclock(clock));
        expect(clocksEqual(canonical, clock)).toBe(true);
        const keys = [...canonical.keys()];
        expect(keys).toEqual([...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
        // decode -> encode (order-preserving) is byte-identical
        const h = encodeVclock(clock, { canonical: false });
        expect(encodeVclock(decoded(h), { canonical: false })).toBe(h);
      }),
    );
  });

  it("canonical bytes: two orders of the same clock give the same header", () => {
    fc.assert(
      fc.property(wideClockArb, fc.integer(), (clock, seed) => {
        expect(encodeVclock(shuffledClock(clock, seed))).toBe(encodeVclock(clock));
      }),
    );
  });

  const neverThrows = (header: string): void => {
    const r = decodeVclock(header);
    if (r.ok) {
      // a clock that decodes re-encodes and decodes to itself
      expect([...decoded(encodeVclock(r.clock, { canonical: false }))]).toEqual([...r.clock]);
    } else {
      expect(CODES).toContain(r.error.code);
      expect(r.error.message.length).toBeGreaterThan(0);
      expect(r.error.message).not.toContain("\n");
    }
  };

  it("decode never throws on arbitrary strings", () => {
    fc.assert(fc.property(fc.string({ maxLength: 200, unit: "binary" }), neverThrows), { numRuns: 500 });
    fc.assert(fc.property(fc.base64String({ maxLength: 200 }), neverThrows), { numRuns: 500 });
  });

  it("decode never throws on random bytes, base64-encoded", () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 120 }), (b) => neverThrows(b64(b))), { numRuns: 1000 });
  });

  it("decode never throws on truncated or mutated valid headers", () => {
    fc.assert(
      fc.property(wideClockArb, fc.nat(), fc.nat(255), fc.nat(), (clock, cut, byte, at) => {
        const bytes = encodeVclockBytes(clock);
        neverThrows(b64(bytes.slice(0, cut % (bytes.length + 1))));
        const h = encodeVclock(clock);
        neverThrows(h.slice(0, cut % (h.length + 1)));
        const mutated = bytes.slice();
        if (mutated.length > 0) mutated[at % mutated.length] = byte;
        neverThrows(b64(mutated));
      }),
      { numRuns: 500 },
    );
  });

  it("decode never throws on msgpack of arbitrary values", () => {
    fc.assert(
      fc.property(
        fc.anything({ maxDepth: 3, withBigInt: false, withMap: false, withSet: false, withDate: false, withTypedArray: false, withNullPrototype: false }),
        (x) => {
          let h: string;
          try {
            h = mp(x);
          } catch {
            return; // not msgpack-encodable (e.g. undefined members); nothing to decode
          }
          neverThrows(h);
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe("X-Mec-Vclock: typed errors", () => {
  const entry = { Counter: 1, Timestamp: 5 };
  const cases: Array<[string, string, VclockErrorCode | "ok"]> = [
    ["empty string", "", "empty"],
    ["only spaces", "   ", "empty"],
    ["too long", "A".repeat(VCLOCK_HEADER_MAX_BYTES + 4), "too-large"],
    ["length not multiple of 4", "xyz", "bad-base64"],
    ["url-safe alphabet", "gapjb3JtYWNyZWxmgqdDb3VudGVyAalUaW1lc3RhbXDPE0nH5_H4nFU=", "bad-base64"],
    ["missing padding", "gA", "bad-base64"],
    ["padding in the middle", "gA==gA==", "bad-base64"],
    ["non-zero pad bits", "gB==", "bad-base64"],
    ["inner whitespace", "gA =", "bad-base64"],
    ["truncated", b64(hex("81a161")), "not-msgpack"],
    ["never-used byte 0xc1", b64(hex("c1")), "not-msgpack"],
    ["trailing bytes", b64(hex("8000")), "not-msgpack"],
    ["actor str32 claiming 4 GiB", b64(hex("81dbffffffff")), "too-large"],
    ["actor str8 claiming 100 bytes, 1 present", b64(hex("81d96461")), "not-msgpack"],
    ["key str32 claiming 4 GiB", b64(hex("81a16182dbffffffff")), "not-msgpack"],
    ["map32 claiming 4G actors", b64(hex("dfffffffff")), "too-large"],
    ["array at top", mp([1, 2]), "wrong-shape"],
    ["integer at top", mp(7), "wrong-shape"],
    ["entry not a map", mp({ a: 1 }), "wrong-shape"],
    ["extra key", mp({ a: { Counter: 1, Timestamp: 5, X: 1 } }), "wrong-shape"],
    ["missing key", mp({ a: { Counter: 1 } }), "wrong-shape"],
    ["unknown key", mp({ a: { Counter: 1, Stamp: 5 } }), "wrong-shape"],
    ["actor not a string", b64(hex("810182a7436f756e74657201a954696d657374616d7005")), "wrong-shape"],
    ["actor invalid UTF-8", b64(hex("81a1ff82a7436f756e74657201a954696d657374616d7005")), "wrong-shape"],
    ["empty actor", mp({ "": entry }), "empty-actor"],
    ["actor of 256 bytes", mp({ ["x".repeat(256)]: entry }), "too-large"],
    ["actor of 255 bytes", mp({ ["x".repeat(255)]: entry }), "ok"],
    ["counter 0", mp({ a: { Counter: 0, Timestamp: 5 } }), "bad-counter"],
    ["counter negative", mp({ a: { Counter: -1, Timestamp: 5 } }), "bad-counter"],
    ["counter 2^32", mp({ a: { Counter: 2 ** 32, Timestamp: 5 } }), "bad-counter"],
    ["counter float", mp({ a: { Counter: 1.5, Timestamp: 5 } }), "bad-counter"],
    ["counter string", mp({ a: { Counter: "1", Timestamp: 5 } }), "bad-counter"],
    ["counter 2^32-1 as uint64", b64(hex("81a16182a7436f756e746572cf00000000ffffffffa954696d657374616d7005")), "ok"],
    ["timestamp negative", mp({ a: { Counter: 1, Timestamp: -5 } }), "bad-timestamp"],
    ["timestamp float", mp({ a: { Counter: 1, Timestamp: 0.5 } }), "bad-timestamp"],
    ["timestamp nil", mp({ a: { Counter: 1, Timestamp: null } }), "bad-timestamp"],
    ["timestamp max uint64", mp({ a: { Counter: 1, Timestamp: 2n ** 64n - 1n } }), "ok"],
    ["keys in the other order", mp({ a: { Timestamp: 5, Counter: 1 } }), "ok"],
    ["entry with one key", b64(hex("82a16181a7436f756e74657201a16181a7436f756e74657201")), "wrong-shape"],
    [
      "duplicate actor (well-formed entries)",
      b64(hex("82" + "a16182a7436f756e74657201a954696d657374616d7005".repeat(2))),
      "duplicate-actor",
    ],
    ["empty map is the empty clock", "gA==", "ok"],
    ["surrounding spaces are ignored", ` ${SAMPLE_GET}\t`, "ok"],
  ];
  it.each(cases)("%s", (_name, header, code) => {
    expect(errorCode(header)).toBe(code);
  });

  it(`refuses more than ${VCLOCK_ACTORS_MAX} actors and accepts exactly that many`, () => {
    const big = (n: number): VClock => new Map(Array.from({ length: n }, (_, i) => [`n${i}`, { counter: 1, timestamp: 1n }]));
    const ok = encodeVclock(big(VCLOCK_ACTORS_MAX));
    expect(ok.length).toBeLessThanOrEqual(VCLOCK_HEADER_MAX_BYTES * 8); // informational bound
    // 1024 actors do not fit in 8192 characters: the header limit is what bites first
    expect(errorCode(ok)).toBe(ok.length > VCLOCK_HEADER_MAX_BYTES ? "too-large" : "ok");
    const manyBytes = new Uint8Array([0xde, 0x04, 0x01]); // map16 of 1025 entries
    expect(errorCode(b64(manyBytes))).toBe("too-large");
    expect(() => encodeVclock(big(VCLOCK_ACTORS_MAX + 1))).toThrow(RangeError);
  });

  it("messages say what is wrong", () => {
    const r = decodeVclock(mp({ a: { Counter: 0, Timestamp: 5 } }));
    expect(r).toEqual({ ok: false, error: { code: "bad-counter", message: 'Counter of actor "a" is 0, expected 1..4294967295' } });
  });
});

describe("base64", () => {
  it("round trips any bytes and agrees with Node's encoder", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (b) => {
        const s = encodeBase64(b);
        expect(s).toBe(Buffer.from(b).toString("base64"));
        const d = decodeBase64(s);
        expect(d.ok && Array.from(d.bytes)).toEqual(Array.from(b));
      }),
    );
  });
});

describe("JSON form", () => {
  it("round trips", () => {
    fc.assert(
      fc.property(wideClockArb, (clock) => {
        const r = clockFromJson(JSON.parse(JSON.stringify(clockToJson(clock))));
        expect(r.ok && clocksEqual(r.clock, clock)).toBe(true);
        const t = clockFromJson(JSON.parse(clockToJsonText(clock)));
        expect(t.ok && clocksEqual(t.clock, clock)).toBe(true);
      }),
    );
  });

  it.each([
    [[], "wrong-shape"],
    [null, "wrong-shape"],
    [{ a: 1 }, "wrong-shape"],
    [{ a: { counter: 1 } }, "wrong-shape"],
    [{ a: { counter: 1, timestamp: "1", x: 1 } }, "wrong-shape"],
    [{ "": { counter: 1, timestamp: "1" } }, "empty-actor"],
    [{ a: { counter: 0, timestamp: "1" } }, "bad-counter"],
    [{ a: { counter: 1.5, timestamp: "1" } }, "bad-counter"],
    [{ a: { counter: 1, timestamp: "-1" } }, "bad-timestamp"],
    [{ a: { counter: 1, timestamp: "18446744073709551616" } }, "bad-timestamp"],
    [{ a: { counter: 1, timestamp: 1.5 } }, "bad-timestamp"],
    [{ a: { counter: 1, timestamp: "18446744073709551615" } }, "ok"],
    [{ a: { counter: 1, timestamp: 12 } }, "ok"],
  ] as Array<[unknown, string]>)("%j -> %s", (value, code) => {
    const r = clockFromJson(value);
    expect(r.ok ? "ok" : r.error.code).toBe(code);
  });
});
