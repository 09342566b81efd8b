// The shared StoragePort contract: every storage adapter (LevelDB in production, the simulated
// twin in sim/) must pass it, so the node sees the same storage in both worlds.
// runStorageContract(name, makeStorage) registers a vitest describe block.
//
// A harness may be asynchronous in simulated time: `pump()` is called after each submit and
// must run the adapter until its pending operations completed (the simulator runs its
// scheduler; a real adapter does nothing and we await the callback).
import { afterEach, describe, expect, it } from "vitest";
import { encodeRecord, openRecord } from "../../src/core/replica/record.ts";
import type { StorageOp, StorageResult } from "../../src/core/types.ts";
import type { StoragePort } from "../../src/ports/index.ts";

export interface StorageHarness {
  readonly storage: StoragePort;
  /** Runs simulated time until submitted ops completed (no-op for real adapters). */
  pump?(): void;
  close(): Promise<void>;
  /**
   * Storage faults the adapter can be put through (the failure-mode cases run only with them):
   * fill the disk so writes soon fail for space / free it again; make writes fail with an I/O
   * error / stop that.
   */
  readonly faults?: {
    fillDisk(): Promise<void>;
    freeDisk(): Promise<void>;
    failWrites?(on: boolean): void;
  };
  /**
   * Flips one byte of the stored copy of `key` (whose value is `value`) where the adapter keeps
   * it at rest (the simulated disk; LevelDB's files, with the database closed and reopened).
   */
  corrupt?(key: string, value: Uint8Array): Promise<void>;
  /**
   * Power loss: the machine goes down with completed but unsynced writes, which lose a
   * non-empty suffix (at least the last one); the storage is usable again afterwards.
   * Offered only by harnesses whose writes are not synced.
   */
  loseUnsynced?(): Promise<void>;
  /** Told right after a sync-marked write completed (a power loss must not reach behind it). */
  noteSynced?(): void;
  /** Why a failure-mode case cannot run against this adapter (the case is skipped with the reason). */
  readonly unsupported?: Partial<Record<"fillDisk" | "failWrites" | "corrupt" | "loseUnsynced", string>>;
}

const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
const dec = (b: Uint8Array | undefined): string | undefined => (b === undefined ? undefined : new TextDecoder().decode(b));

export function runStorageContract(name: string, makeStorage: () => Promise<StorageHarness>): void {
  describe(`StoragePort contract: ${name}`, () => {
    const harnesses: StorageHarness[] = [];
    /** Every op submitted through run(): how often its done was called. */
    const submitted: { what: string; calls: () => number }[] = [];
    afterEach(async () => {
      // A done called a second time comes after the first: give late calls a chance to land
      // (pump, and a few turns of the event loop), then every op must have had exactly one.
      for (const h of harnesses) h.pump?.();
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      const twice = submitted.splice(0).filter((s) => s.calls() !== 1).map((s) => `${s.what}: done called ${s.calls()} times`);
      for (const h of harnesses.splice(0)) await h.close();
      expect(twice).toEqual([]);
    });

    async function make(): Promise<StorageHarness> {
      const h = await makeStorage();
      harnesses.push(h);
      return h;
    }

    /** Submits op and resolves with its result; the afterEach hook fails the test if done was called more than once. */
    function run(h: StorageHarness, op: StorageOp): Promise<StorageResult> {
      return new Promise((resolve) => {
        let calls = 0;
        submitted.push({ what: `${op.type} #${submitted.length}`, calls: () => calls });
        h.storage.submit(op, (result) => {
          calls++;
          if (calls === 1) resolve(result);
        });
        h.pump?.();
      });
    }

    async function ok(h: StorageHarness, op: StorageOp): Promise<StorageResult & { ok: true }> {
      const result = await run(h, op);
      if (!result.ok) throw new Error(`${op.type} failed: ${result.message}`);
      return result;
    }

    async function scanKeys(h: StorageHarness, prefix: string): Promise<string[]> {
      return ((await ok(h, { type: "scan", prefix })).entries ?? []).map(([k]) => k);
    }

    it("get of a missing key is ok with no value", async () => {
      const h = await make();
      const r = await ok(h, { type: "get", key: "nope" });
      expect(r.value).toBeUndefined();
    });

    it("put then get round-trips binary bytes, including empty values", async () => {
      const h = await make();
      const all = new Uint8Array(256).map((_, i) => i);
      await ok(h, { type: "put", key: "bin", value: all });
      await ok(h, { type: "put", key: "empty", value: new Uint8Array(0) });
      const got = await ok(h, { type: "get", key: "bin" });
      expect(got.value).toBeInstanceOf(Uint8Array);
      expect(Array.from(got.value!)).toEqual(Array.from(all));
      const empty = await ok(h, { type: "get", key: "empty" });
      expect(empty.value).toBeDefined();
      expect(empty.value!.length).toBe(0);
    });

    it("stores a copy: mutating the buffer after submit does not change the stored value", async () => {
      const h = await make();
      const value = enc("original");
      const p = run(h, { type: "put", key: "k", value });
      value.fill(0x21);
      await p;
      expect(dec((await ok(h, { type: "get", key: "k" })).value)).toBe("original");
    });

    it("a put or batch marked sync completes like any other write, whatever the store's sync setting", async () => {
      const h = await make();
      await ok(h, { type: "put", key: "m:meta", value: enc("inc"), sync: true });
      await ok(h, { type: "batch", puts: [["a", enc("1")]], dels: [], sync: true });
      expect(dec((await ok(h, { type: "get", key: "m:meta" })).value)).toBe("inc");
      expect(dec((await ok(h, { type: "get", key: "a" })).value)).toBe("1");
    });

    it("overwrites", async () => {
      const h = await make();
      await ok(h, { type: "put", key: "k", value: enc("v1") });
      await ok(h, { type: "put", key: "k", value: enc("v2") });
      expect(dec((await ok(h, { type: "get", key: "k" })).value)).toBe("v2");
    });

    it("deletes, and deleting a missing key is ok", async () => {
      const h = await make();
      await ok(h, { type: "put", key: "k", value: enc("v") });
      await ok(h, { type: "del", key: "k" });
      expect((await ok(h, { type: "get", key: "k" })).value).toBeUndefined();
      await ok(h, { type: "del", key: "never-there" });
    });

    it("applies a batch of puts and dels together (dels after puts)", async () => {
      const h = await make();
      await ok(h, { type: "put", key: "old", value: enc("x") });
      await ok(h, {
        type: "batch",
        puts: [
          ["a", enc("1")],
          ["b", enc("2")],
          ["gone", enc("3")],
        ],
        dels: ["old", "gone"],
      });
      expect(dec((await ok(h, { type: "get", key: "a" })).value)).toBe("1");
      expect(dec((await ok(h, { type: "get", key: "b" })).value)).toBe("2");
      expect((await ok(h, { type: "get", key: "old" })).value).toBeUndefined();
      expect((await ok(h, { type: "get", key: "gone" })).value).toBeUndefined();
      expect(await scanKeys(h, "")).toEqual(["a", "b"]);
    });

    it("scans a prefix in key order, with exact prefix bounds", async () => {
      const h = await make();
      const keys = [
        "o:0001:b",
        "o:0001:a",
        "o:0001:",
        "o:0001:a\u00ff",
        "o:0001:\u00e9t\u00e9",
        "o:0001:\u{1f600}",
        "o:0001:\uffff",
        "o:0001:\ue000",
        "o:0001:~",
        "o:0001",
        "o:0001;",
        "o:0002:a",
        "o:0000:z",
        "h:x",
        "m:meta",
      ];
      for (const k of keys) await ok(h, { type: "put", key: k, value: enc(k) });
      const expected = keys.filter((k) => k.startsWith("o:0001:")).sort();
      const result = await ok(h, { type: "scan", prefix: "o:0001:" });
      expect(result.entries!.map(([k]) => k)).toEqual(expected);
      for (const [k, v] of result.entries!) expect(dec(v)).toBe(k);
      expect(await scanKeys(h, "")).toEqual([...keys].sort());
      expect(await scanKeys(h, "o:0001:\u00e9")).toEqual(["o:0001:\u00e9t\u00e9"]);
      expect(await scanKeys(h, "o:0001:\uffff")).toEqual(["o:0001:\uffff"]);
      expect(await scanKeys(h, "o:0001:\u{1f600}")).toEqual(["o:0001:\u{1f600}"]);
      expect(await scanKeys(h, "zzz")).toEqual([]);
    });

    it("keys are exact strings: unicode keys round-trip and differ from look-alikes", async () => {
      const h = await make();
      const keys = ["caf\u00e9", "cafe\u0301", "\u{1f600}", "a b", "a%20b", "x/y", "\u00ff\u00fe"];
      for (const k of keys) await ok(h, { type: "put", key: k, value: enc(`v:${k}`) });
      for (const k of keys) expect(dec((await ok(h, { type: "get", key: k })).value)).toBe(`v:${k}`);
      expect(await scanKeys(h, "")).toEqual([...keys].sort());
    });

    it("a read submitted after a write to the same key sees it, without waiting for the callback", async () => {
      const h = await make();
      const results: (string | undefined)[] = [];
      const order: string[] = [];
      await new Promise<void>((resolve) => {
        let pending = 4;
        const settle = (): void => {
          if (--pending === 0) resolve();
        };
        h.storage.submit({ type: "put", key: "k", value: enc("1") }, () => (order.push("put1"), settle()));
        h.storage.submit({ type: "get", key: "k" }, (r) => (results.push(r.ok ? dec(r.value) : "error"), settle()));
        h.storage.submit({ type: "put", key: "k", value: enc("2") }, () => (order.push("put2"), settle()));
        h.storage.submit({ type: "scan", prefix: "k" }, (r) => (results.push(r.ok ? dec(r.entries?.[0]?.[1]) : "error"), settle()));
        h.pump?.();
      });
      expect(results).toEqual(["1", "2"]);
      expect(order).toEqual(["put1", "put2"]);
    });

    it("calls done exactly once for every op, asynchronously", async () => {
      const h = await make();
      const ops: StorageOp[] = [
        { type: "put", key: "a", value: enc("1") },
        { type: "get", key: "a" },
        { type: "get", key: "missing" },
        { type: "del", key: "a" },
        { type: "batch", puts: [["b", enc("2")]], dels: [] },
        { type: "scan", prefix: "" },
      ];
      const calls = ops.map(() => 0);
      let synchronous = true;
      let early = false;
      ops.forEach((op, i) =>
        h.storage.submit(op, () => {
          calls[i]!++;
          if (synchronous) early = true;
        }),
      );
      synchronous = false;
      h.pump?.();
      // Bounded poll until every op completed, then a few more turns for a second call to land.
      const until = Date.now() + 10_000;
      while (calls.some((c) => c === 0) && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 5));
        h.pump?.();
      }
      for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
      h.pump?.();
      expect(early).toBe(false);
      expect(calls).toEqual(ops.map(() => 1));
    });


    /** Skips the running case, with the harness's reason, when it lacks the fault. */
    function need(h: StorageHarness, ctx: { skip: (note?: string) => never }, fault: "fillDisk" | "failWrites" | "corrupt" | "loseUnsynced", has: boolean): void {
      if (!has) ctx.skip(h.unsupported?.[fault] ?? `${name} offers no ${fault} fault`);
    }

    it("disk full: a write fails with reason full and applies nothing; reads still work; writes work again once space is freed", async (ctx) => {
      const h = await make();
      need(h, ctx, "fillDisk", h.faults !== undefined);
      if (h.faults === undefined) return;
      await ok(h, { type: "put", key: "before", value: enc("kept") });
      await h.faults.fillDisk();
      // Real disks fail once buffers must reach them: write until one fails (bounded).
      // Incompressible (an LCG's high bytes), so LevelDB's tables take the room the values do.
      let x = 12345;
      const big = new Uint8Array(4096).map(() => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
      let failed: StorageResult | null = null;
      for (let i = 0; i < 20_000 && failed === null; i++) {
        const r = await run(h, { type: "put", key: `fill${i}`, value: big });
        if (!r.ok) failed = r;
      }
      expect(failed, "a write failed").not.toBeNull();
      expect(failed!.ok === false && failed!.reason).toBe("full");
      const again = await run(h, { type: "put", key: "during", value: enc("x") });
      expect(again.ok).toBe(false);
      expect(dec((await ok(h, { type: "get", key: "before" })).value)).toBe("kept");
      expect((await ok(h, { type: "get", key: "during" })).value).toBeUndefined();
      await h.faults.freeDisk();
      // Without a reopen by the caller: the adapter recovers by itself.
      await ok(h, { type: "put", key: "after", value: enc("back") });
      expect(dec((await ok(h, { type: "get", key: "after" })).value)).toBe("back");
      expect(dec((await ok(h, { type: "get", key: "before" })).value)).toBe("kept");
    }, 120_000);

    it("write errors: a failed write says why, applies nothing, and later writes work", async (ctx) => {
      const h = await make();
      need(h, ctx, "failWrites", h.faults?.failWrites !== undefined);
      if (h.faults?.failWrites === undefined) return;
      h.faults.failWrites(true);
      const r = await run(h, { type: "batch", puts: [["a", enc("1")], ["b", enc("2")]], dels: [] });
      expect(r.ok).toBe(false);
      expect(r.ok === false && r.reason).toBe("io");
      h.faults.failWrites(false);
      expect((await ok(h, { type: "get", key: "a" })).value).toBeUndefined();
      await ok(h, { type: "put", key: "a", value: enc("3") });
      expect(dec((await ok(h, { type: "get", key: "a" })).value)).toBe("3");
    });

    it("a corrupted record is detected on read: a read error, the record gone, or its checksum fails; never served as the record", async (ctx) => {
      const h = await make();
      need(h, ctx, "corrupt", h.corrupt !== undefined);
      // Incompressible, so LevelDB stores the block raw and the flip reaches the bytes read.
      let x = 99;
      const payload = new Uint8Array(3000).map(() => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 24);
      const record = encodeRecord(payload);
      await ok(h, { type: "put", key: "o:0001:k", value: record });
      await h.corrupt!("o:0001:k", record);
      const r = await run(h, { type: "get", key: "o:0001:k" });
      const served = r.ok && r.value !== undefined ? openRecord(r.value) : null;
      expect(served === null || !served.ok, "the flipped record was served as intact").toBe(true);
      if (!r.ok) expect(["corrupt", "io"]).toContain(r.reason);
      // The store stays usable: a fresh copy (read repair's job) is written and read back.
      await ok(h, { type: "put", key: "o:0001:k", value: record });
      const back = await ok(h, { type: "get", key: "o:0001:k" });
      expect(back.value !== undefined && openRecord(back.value).ok).toBe(true);
    }, 60_000);

    it("power loss without sync: a non-empty suffix of the unsynced writes is lost, never an earlier one or a sync-marked write", async (ctx) => {
      const h = await make();
      need(h, ctx, "loseUnsynced", h.loseUnsynced !== undefined);
      await ok(h, { type: "put", key: "before", value: enc("b") });
      await ok(h, { type: "put", key: "m:marker", value: enc("synced"), sync: true });
      h.noteSynced?.();
      const names = Array.from({ length: 20 }, (_, i) => `w${String(i).padStart(2, "0")}`);
      for (const k of names) await ok(h, { type: "put", key: k, value: enc(`value of ${k}`) });
      await h.loseUnsynced!();
      const left = await scanKeys(h, "w");
      expect(left, "the survivors are a prefix of the writes").toEqual(names.slice(0, left.length));
      expect(left.length).toBeLessThan(names.length);
      for (const k of left) expect(dec((await ok(h, { type: "get", key: k })).value)).toBe(`value of ${k}`);
      expect(dec((await ok(h, { type: "get", key: "m:marker" })).value)).toBe("synced");
      expect(dec((await ok(h, { type: "get", key: "before" })).value)).toBe("b");
      await ok(h, { type: "put", key: "after", value: enc("a") });
      expect(dec((await ok(h, { type: "get", key: "after" })).value)).toBe("a");
    }, 60_000);
  });
}
