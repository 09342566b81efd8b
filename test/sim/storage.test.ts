// The simulator's storage twin against the shared StoragePort contract.
import { SimStorage } from "../../sim/storage.ts";
import { Scheduler } from "../../sim/scheduler.ts";
import { Rng } from "../../sim/rng.ts";
import { Tracer } from "../../sim/trace.ts";
import { describe, expect, it } from "vitest";
import { runStorageContract } from "../adapters/storage-contract.ts";

runStorageContract("SimStorage", async () => {
  const sched = new Scheduler();
  const storage = new SimStorage("n1", sched, new Rng(42), new Tracer(), { readMinMs: 0.1, readMaxMs: 1, writeMinMs: 0.5, writeMaxMs: 3 });
  return {
    storage,
    // Runs simulated time far enough for every queued op to complete.
    pump: () => sched.runUntil(sched.now + 60_000),
    close: async () => {},
    faults: {
      fillDisk: async () => void (storage.failWrites = "full"),
      freeDisk: async () => void (storage.failWrites = null),
      failWrites: (on) => void (storage.failWrites = on ? "io" : null),
    },
    corrupt: async (key) => {
      const keys = storage.entries().map(([k]) => k).filter((k) => k.startsWith("o:") || k.startsWith("h:"));
      if (storage.corrupt(keys.indexOf(key), 5) !== key) throw new Error(`could not corrupt ${key}`);
    },
    unsupported: { loseUnsynced: "sync = true: every completed write is durable (the sync = false harness below loses unsynced writes)" },
  };
});

runStorageContract("SimStorage (sync = false)", async () => {
  const sched = new Scheduler();
  const storage = new SimStorage("n1", sched, new Rng(43), new Tracer(), { readMinMs: 0.1, readMaxMs: 1, writeMinMs: 0.5, writeMaxMs: 3 }, { sync: false, writebackMs: 2000 });
  return {
    storage,
    pump: () => sched.runUntil(sched.now + 1000),
    close: async () => {},
    // A machine crash allowed to lose data cuts a random non-empty suffix of the unsynced writes.
    loseUnsynced: async () => void storage.crashMachine(true),
  };
});

describe("SimStorage with sync = false: power loss", () => {
  const enc = (s: string): Uint8Array => new TextEncoder().encode(s);
  function setup(seed: number) {
    const sched = new Scheduler();
    const st = new SimStorage("n1", sched, new Rng(seed), new Tracer(), { readMinMs: 0.1, readMaxMs: 0.2, writeMinMs: 0.5, writeMaxMs: 1 }, { sync: false, writebackMs: 2000 });
    const put = (key: string, sync = false) => {
      st.submit(sync ? { type: "put", key, value: enc(key), sync: true } : { type: "put", key, value: enc(key) }, () => {});
      sched.runUntil(sched.now + 10);
    };
    return { sched, st, put, keys: () => st.entries().map(([k]) => k) };
  }

  it("a crash allowed to lose data loses a non-empty suffix of the unsynced writes, never a write before a synced one", () => {
    for (let seed = 1; seed <= 30; seed++) {
      const { st, put, keys } = setup(seed);
      put("a");
      put("meta", true); // syncs itself and everything before it
      for (const k of ["w1", "w2", "w3", "w4"]) put(k);
      expect(st.unsyncedCount).toBe(4);
      const lost = st.crashMachine(true); // nothing queued: every loss is a completed write
      expect(lost).toBeGreaterThanOrEqual(1);
      const left = keys();
      expect(left).toEqual(expect.arrayContaining(["a", "meta"]));
      const kept = ["w1", "w2", "w3", "w4"].filter((k) => left.includes(k));
      expect(kept).toEqual(["w1", "w2", "w3", "w4"].slice(0, 4 - lost)); // a prefix survives
    }
  });

  it("a crash not allowed to lose data, and writes older than the writeback delay, keep everything", () => {
    const { sched, st, put, keys } = setup(5);
    put("old");
    sched.runUntil(sched.now + 2500); // written back
    put("new");
    expect(st.unsyncedCount).toBe(1);
    expect(st.crashMachine(false)).toBe(0);
    expect(keys()).toEqual(["new", "old"]);
  });
});
