// The simulator's storage twin against the shared StoragePort contract.
import { SimStorage } from "../../sim/storage.ts";
import { Scheduler } from "../../sim/scheduler.ts";
import { Rng } from "../../sim/rng.ts";
import { Tracer } from "../../sim/trace.ts";
import { runStorageContract } from "./storage-contract.ts";

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
  };
});
