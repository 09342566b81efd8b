// Checksummed records and storage faults at the node level (the deterministic test harness):
// the record codec itself, a corrupt object never served or spread and repaired without a new
// dot, the mint fence after a restore, and writes routed around a replica whose writes fail.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { crc32 } from "../../src/core/hash.ts";
import { encodeRecord, openRecord } from "../../src/core/replica/record.ts";
import { objectKey } from "../../src/core/replica/keys.ts";
import { partitionOf } from "../../src/core/ring/index.ts";
import type { ClientResult, StorageResult } from "../../src/core/types.ts";
import { decodeSiblingSet } from "../../src/core/versioning/index.ts";
import { Harness, bytes, values } from "./harness.ts";

describe("record codec", () => {
  it("crc32 matches the standard check value", () => {
    expect(crc32(bytes("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it("crc32 (eight bytes a step) equals the bit-at-a-time definition at every length and offset", () => {
    const reference = (b: Uint8Array): number => {
      let c = 0xffffffff;
      for (const x of b) {
        c ^= x;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      }
      return (c ^ 0xffffffff) >>> 0;
    };
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 70 }), fc.nat(7), (b, skip) => {
        const view = b.subarray(Math.min(skip, b.length));
        expect(crc32(view)).toBe(reference(view));
      }),
      { numRuns: 300 },
    );
  });

  it("round-trips, and any single flipped bit anywhere is detected", () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 300 }), fc.nat(), fc.nat(7), (payload, at, bit) => {
        const rec = encodeRecord(payload);
        const opened = openRecord(rec);
        expect(opened.ok && Array.from(opened.payload)).toEqual(Array.from(payload));
        const bad = rec.slice();
        bad[at % bad.length] = bad[at % bad.length]! ^ (1 << bit);
        expect(openRecord(bad).ok).toBe(false);
      }),
    );
  });

  it("rejects short records and unknown tags", () => {
    expect(openRecord(new Uint8Array([1, 0, 0])).ok).toBe(false);
    const rec = encodeRecord(bytes("x"));
    rec[0] = 0x92; // a bare msgpack sibling set (the pre-checksum format)
    expect(openRecord(rec).ok).toBe(false);
  });
});

function put(h: Harness, via: string, key: string, value: string, w?: number): ClientResult {
  return h.request(via, { type: "put", key, value: bytes(value), contentType: "text/plain", context: null, ...(w === undefined ? {} : { w }) });
}

/** The minting actor of a successful write's dot ("" otherwise). */
function actorOf(r: ClientResult): string {
  return r.ok && r.type !== "get" ? r.dot.actor : "";
}

/** A node's stored values of a key, or "corrupt" (never throws). */
function storedValues(h: Harness, node: string, key: string): string {
  const rec = h.node(node).storage.get(objectKey(partitionOf(key, h.config(node).partitionCount), key));
  if (rec === undefined) return "absent";
  const opened = openRecord(rec);
  return opened.ok ? values(decodeSiblingSet(opened.payload)).join(",") : "corrupt";
}

function flipLastByte(h: Harness, node: string, key: string): void {
  const sk = objectKey(partitionOf(key, h.config(node).partitionCount), key);
  const stored = h.node(node).storage.get(sk)!;
  const bad = stored.slice();
  bad[bad.length - 1] = bad[bad.length - 1]! ^ 0x01; // the last byte of the value
  h.node(node).storage.set(sk, bad);
}

describe("a corrupt object", () => {
  it("is never served nor spread, is repaired by read repair without a new dot, and fences its minting actor", () => {
    const h = new Harness(3, { antiEntropyIntervalMs: 0 });
    h.startAll();
    expect(put(h, "n1", "k", "good", 3).ok).toBe(true);
    const minted = h.allEvents("dot-minted").length;
    flipLastByte(h, "n1", "k");
    for (const r of [1, 2, 3]) {
      const got = h.request("n1", { type: "get", key: "k", r });
      expect(got.ok && values(got.set)).toEqual(["good"]);
    }
    h.runFor(200);
    for (const n of ["n1", "n2", "n3"]) expect(values(h.objects(n).get("k") ?? null), n).toEqual(["good"]);
    expect(h.eventsOf("n1", "corrupt-object").length).toBe(1);
    expect(h.allEvents("dot-minted").length).toBe(minted); // repaired, not re-minted
    // n1 no longer mints k (its restored copy may lack a dot it issued): another primary does.
    const next = put(h, "n1", "k", "next", 3);
    expect(next.ok).toBe(true);
    expect(actorOf(next)).not.toBe("");
    expect(actorOf(next).startsWith("n1.")).toBe(false);
    // ...also after a restart (the fence is durable): the fenced actor never mints k again (a
    // restarted node is a new incarnation, which may: its dots are new).
    const fenced = (h.eventsOf("n1", "dot-minted")[0] as { actor: string }).actor;
    h.stop("n1");
    h.boot("n1");
    h.runFor(100);
    const again = put(h, "n1", "k", "again", 3);
    expect(actorOf(again)).not.toBe("");
    expect(actorOf(again)).not.toBe(fenced);
  });

  it("found at boot is repaired by anti-entropy, which never sends it", () => {
    const h = new Harness(3, { antiEntropyIntervalMs: 50 });
    h.startAll();
    expect(put(h, "n1", "k", "good", 3).ok).toBe(true);
    h.stop("n2");
    flipLastByte(h, "n2", "k");
    h.boot("n2");
    expect(storedValues(h, "n2", "k")).toBe("corrupt");
    h.runUntil(() => storedValues(h, "n2", "k") === "good", 20_000);
    for (const n of ["n1", "n2", "n3"]) expect(storedValues(h, n, "k"), n).toBe("good");
    expect(h.eventsOf("n2", "corrupt-object").length).toBeGreaterThanOrEqual(1);
  });
});

describe("failing storage writes", () => {
  it("the coordinator's failed mint goes to another primary; storage-full only when none can take it; recovery by probe", () => {
    const h = new Harness(3, { antiEntropyIntervalMs: 0 });
    h.startAll();
    let full = true;
    // n1's writes fail for space (reads work), as LevelDB's do on a full disk.
    h.writeFault = (id): StorageResult | null => (full && id === "n1" ? { ok: false, message: "No space left on device", reason: "full" } : null);
    const r = put(h, "n1", "k", "v", 2);
    expect(r.ok).toBe(true);
    expect(actorOf(r).startsWith("n1.")).toBe(false);
    expect(h.eventsOf("n1", "storage-failing").length).toBe(1);
    // Alone, n1 answers storage-full.
    h.stop("n2");
    h.stop("n3");
    h.runFor(3000); // suspicion
    const alone = put(h, "n1", "k2", "v", 1);
    expect(alone.ok === false && alone.error).toBe("storage-full");
    full = false;
    h.runFor(1500); // the probe write succeeds
    expect(h.eventsOf("n1", "storage-recovered").length).toBe(1);
    expect(put(h, "n1", "k3", "v", 1).ok).toBe(true);
  });
});
