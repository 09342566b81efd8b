// The replica's memo of verified records: a hit needs byte-identical bytes (its own copy, so
// bytes changed in place under it miss), it stays within its bounds, and at the node level a
// record rotted after it was read is still caught, and one replaced under the node is read anew.
import { describe, expect, it } from "vitest";
import { DecodedRecords } from "../../../src/core/replica/decoded-records.ts";
import { encodeRecord, RECORD_HEADER_BYTES } from "../../../src/core/replica/record.ts";
import { objectKey } from "../../../src/core/replica/keys.ts";
import { partitionOf } from "../../../src/core/ring/index.ts";
import { emptySet, encodeSiblingSet, update } from "../../../src/core/versioning/index.ts";
import type { SiblingSet } from "../../../src/core/versioning/types.ts";
import { Harness, bytes, values } from "../harness.ts";

const setOf = (value: string): SiblingSet =>
  update(emptySet(), new Map(), "n1.a", { value: bytes(value), contentType: "text/plain", timestamp: 1n }).set;
const recordOf = (set: SiblingSet): Uint8Array => encodeRecord(encodeSiblingSet(set));

describe("DecodedRecords", () => {
  it("hits only on byte-identical bytes under the same storage key", () => {
    const memo = new DecodedRecords();
    const set = setOf("a");
    const rec = recordOf(set);
    memo.remember("o:1:k", rec, RECORD_HEADER_BYTES, set);
    expect(memo.get("o:1:k", rec.slice())?.set).toBe(set);
    expect(Array.from(memo.get("o:1:k", rec)!.payload)).toEqual(Array.from(rec.subarray(RECORD_HEADER_BYTES)));
    expect(memo.get("o:1:other", rec)).toBeUndefined();
    const other = recordOf(setOf("b"));
    expect(memo.get("o:1:k", other)).toBeUndefined();
    const flipped = rec.slice();
    flipped[flipped.length - 1]! ^= 1;
    expect(memo.get("o:1:k", flipped)).toBeUndefined();
  });

  it("holds: the same verdict as get on identical, flipped, unaligned and longer bytes, and no change to the recency order", () => {
    const memo = new DecodedRecords(2);
    const set = setOf("a".repeat(300)); // long enough for the word-wise compare
    const rec = recordOf(set);
    memo.remember("o:1:k", rec, RECORD_HEADER_BYTES, set);
    memo.remember("o:1:j", recordOf(setOf("b")), RECORD_HEADER_BYTES, setOf("b"));
    const shifted = new Uint8Array(rec.length + 1);
    shifted.set(rec, 1);
    expect(memo.holds("o:1:k", shifted.subarray(1))).toBe(true);
    for (let i = 0; i < rec.length; i++) {
      const flipped = rec.slice();
      flipped[i]! ^= 0x10;
      expect(memo.holds("o:1:k", flipped)).toBe(false);
      expect(memo.get("o:1:k", flipped)).toBeUndefined();
    }
    expect(memo.holds("o:1:k", Uint8Array.from([...rec, 0]))).toBe(false);
    expect(memo.holds("o:1:k", rec)).toBe(true); // a check, not a use: "o:1:k" stays the oldest
    memo.remember("o:1:i", recordOf(setOf("c")), RECORD_HEADER_BYTES, setOf("c"));
    expect(memo.holds("o:1:k", rec)).toBe(false);
    expect(memo.holds("o:1:j", recordOf(setOf("b")))).toBe(true);
  });

  it("keeps its own copy: bytes changed in place after remember do not hit", () => {
    const memo = new DecodedRecords();
    const set = setOf("a");
    const rec = recordOf(set);
    memo.remember("o:1:k", rec, RECORD_HEADER_BYTES, set);
    rec[rec.length - 1]! ^= 1; // bit rot in the very array storage holds
    expect(memo.get("o:1:k", rec)).toBeUndefined();
  });

  it("stays within its entry and byte bounds, dropping the least recently used", () => {
    const memo = new DecodedRecords(3, 1_000_000);
    const set = setOf("a");
    const rec = recordOf(set);
    for (const k of ["a", "b", "c"]) memo.remember(k, rec, RECORD_HEADER_BYTES, set);
    expect(memo.get("a", rec)).toBeDefined(); // a is now the most recently used
    memo.remember("d", rec, RECORD_HEADER_BYTES, set);
    expect(memo.size).toBe(3);
    expect(memo.get("b", rec)).toBeUndefined();
    expect(memo.get("a", rec)).toBeDefined();
    const small = new DecodedRecords(100, rec.length * 16);
    for (let i = 0; i < 40; i++) small.remember(`k${i}`, rec, RECORD_HEADER_BYTES, set);
    expect(small.bytes).toBe(rec.length * 16);
    expect(small.size).toBe(16);
    small.forget("k39");
    expect(small.bytes).toBe(rec.length * 15);
  });
});

describe("a replica reading through the memo", () => {
  const storageKey = (h: Harness, key: string): string => objectKey(partitionOf(key, h.config("n1").partitionCount), key);
  const put = (h: Harness, key: string, value: string) =>
    h.request("n1", { type: "put", key, value: bytes(value), contentType: "text/plain", context: null, w: 3 });

  it("still catches a record that rotted in place after it was read", () => {
    const h = new Harness(3, { antiEntropyIntervalMs: 0 });
    h.startAll();
    expect(put(h, "k", "good").ok).toBe(true);
    for (const n of ["n1", "n2", "n3"]) expect(h.request(n, { type: "get", key: "k", r: 3 }).ok).toBe(true);
    const stored = h.node("n1").storage.get(storageKey(h, "k"))!;
    stored[stored.length - 1]! ^= 1; // the same array storage hands back, changed under the node
    const got = h.request("n1", { type: "get", key: "k", r: 2 });
    expect(got.ok && values(got.set)).toEqual(["good"]); // served from the healthy replicas
    expect(h.eventsOf("n1", "corrupt-object").length).toBe(1);
  });

  it("reads a record replaced under the node anew", () => {
    const h = new Harness(3, { antiEntropyIntervalMs: 0 });
    h.startAll();
    expect(put(h, "k", "first").ok).toBe(true);
    expect(put(h, "j", "second").ok).toBe(true);
    expect(h.request("n1", { type: "get", key: "k", r: 3 }).ok).toBe(true);
    // Put j's (valid) record where k's was: what the nodes read now is j's set.
    for (const n of ["n1", "n2", "n3"]) h.node(n).storage.set(storageKey(h, "k"), h.node(n).storage.get(storageKey(h, "j"))!.slice());
    const got = h.request("n1", { type: "get", key: "k", r: 3 });
    expect(got.ok && values(got.set)).toEqual(["second"]);
  });
});
